import { readFileSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import { initResNet } from '@narrownet/init';
import {
  type ResNetSpec,
  buildConvLossGradModel,
  convLossAndGrad64,
  createRng,
  resnet18,
  resnetBufferShapes,
  resnetParamShapes,
} from '@narrownet/models';
import { epochSchedule } from '@narrownet/optim';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOnnxResNetTrainer, nchwcBlockSize, resnetOptimizer } from '../src/index.js';
import { relError } from './rel-error.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;
let engine: Engine;
let block: number | undefined;
beforeAll(async () => {
  engine = await startOnnx({ device: 'cpu', threads: 1 });
  block = await nchwcBlockSize(engine);
});

/** The block MLAS must use on this CPU (Linux x64), or undefined where this test cannot tell. */
function expectedBlock(): number | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  if (/\bavx512f\b/.test(flags)) return 16;
  if (/\bavx2\b/.test(flags)) return 8;
  return undefined;
}

// ResNet-18 (CIFAR layout) with every stage 16 or 32 channels wide, so that all convolutions but
// the stem's (3 input channels) run on the NCHWc kernels, stride-2 and 1×1 shortcuts included.
const spec: ResNetSpec = resnet18({ classes: 4, widths: [16, 16, 32, 32], input: [3, 8, 8] });
const n = 3;
const d = 3 * 8 * 8;
const init = initResNet(spec, {}, createRng(5));
const rng = createRng(9);
const X = rng.fillNormal(new Float32Array(n * d), 0, 1);
const Y = new Float32Array(n * 4);
for (let i = 0; i < n; i++) Y[i * 4 + i] = 1;

describe('nchwcBlockSize', () => {
  it('finds the block of MLAS on this CPU, once per engine', async () => {
    const want = expectedBlock();
    if (want !== undefined) expect(block).toBe(want);
    expect(nchwcBlockSize(engine)).toBe(nchwcBlockSize(engine));
  });

  it('is undefined on a GPU provider without creating a session', async () => {
    const gpu = {
      ort: engine.ort,
      device: 'cuda',
      createSession: () => {
        throw new Error('must not be called');
      },
    };
    expect(await nchwcBlockSize(gpu)).toBeUndefined();
    expect(() => nchwcBlockSize(null as never)).toThrow(/nchwcBlockSize: engine/);
  });
});

describe('the conv lowering on the NCHWc kernels', () => {
  for (const train of [true, false]) {
    it(`loss, logits and every gradient (${train ? 'train' : 'eval'} mode) equal the float64 reference`, async (ctx) => {
      if (!block) return ctx.skip('this onnxruntime build has no NCHWc kernels for this CPU');
      const model = buildConvLossGradModel(spec, 'softmaxCrossEntropy', { train, nchwcBlock: block });
      expect(Buffer.from(model).includes('com.microsoft.nchwc')).toBe(true);
      const feeds: Record<string, ReturnType<Engine['tensor']>> = {
        X: engine.tensor(X, [n, d]),
        Y: engine.tensor(Y, [n, 4]),
      };
      for (const [k, s] of Object.entries(resnetParamShapes(spec)))
        feeds[k] = engine.tensor(init.params[k]!.data, s);
      for (const [k, s] of Object.entries(resnetBufferShapes(spec)))
        feeds[k] = engine.tensor(init.buffers[k]!.data, s);
      const session = await engine.createSession(model);
      const out = await session.run(feeds);
      await session.release();
      const params = Object.fromEntries(
        Object.entries(init.params).map(([k, t]) => [k, Float64Array.from(t.data)]),
      );
      const buffers = Object.fromEntries(
        Object.entries(init.buffers).map(([k, t]) => [k, Float64Array.from(t.data)]),
      );
      const want = convLossAndGrad64(spec, params, buffers, X, Y, n, 'softmaxCrossEntropy', { train });
      expect(Math.abs((out.loss!.data as Float32Array)[0]! - want.loss)).toBeLessThan(1e-4);
      expect(relError(out.pred!.data as Float32Array, want.logits)).toBeLessThan(1e-4);
      for (const k of Object.keys(want.grads))
        expect(relError(out[`grad.${k}`]!.data as Float32Array, want.grads[k]!), k).toBeLessThan(1e-4);
    });
  }

  // Each step starts both trainers from the same state (float32 summation order differs between the
  // kernels, and train-mode batch norm over 3 samples would amplify it over a trajectory).
  it('each step of a trainer with the NCHWc kernels equals the step without them', async (ctx) => {
    if (!block) return ctx.skip('this onnxruntime build has no NCHWc kernels for this CPU');
    const config = {
      spec,
      loss: 'softmaxCrossEntropy' as const,
      optimizer: resnetOptimizer(spec, { lr: 0.05, schedule: epochSchedule({ kind: 'cosine', tMax: 2 }, 1) }),
      params: init.params,
      data: { X, Y, n },
      batchSize: 3,
      seed: 1,
    };
    const fast = await createOnnxResNetTrainer(engine, config);
    const plain = await createOnnxResNetTrainer(engine, config, { nchwc: false });
    for (let s = 0; s < 4; s++) {
      await plain.setState(await fast.state());
      const [a, b] = [await fast.run(1), await plain.run(1)];
      expect(Number.isFinite(a)).toBe(true);
      expect(Math.abs(a - b) / Math.abs(b), `loss of step ${s}`).toBeLessThan(1e-5);
      const [sa, sb] = [await fast.state(), await plain.state()];
      for (const k of Object.keys(sb.params))
        expect(relError(sa.params[k]!.data, sb.params[k]!.data), `${k} after step ${s}`).toBeLessThan(1e-4);
    }
    const [pa, pb] = [await fast.predict(X, n), await plain.predict(X, n)];
    expect(relError(pa, pb), 'predict (eval mode)').toBeLessThan(1e-4);
    const frozen = [
      await createOnnxResNetTrainer(engine, config, { frozenTrunk: true }),
      await createOnnxResNetTrainer(engine, config, { frozenTrunk: true, nchwc: false }),
    ];
    const [fa, fb] = [await frozen[0]!.predict(X, n), await frozen[1]!.predict(X, n)];
    expect(relError(fa, fb), 'frozen trunk: predict through the cached features').toBeLessThan(1e-4);
    await Promise.all(frozen.map((t) => t.dispose()));
    await expect(createOnnxResNetTrainer(engine, config, { nchwc: 1 as never })).rejects.toThrow(
      /options.nchwc must be true or false/,
    );
    await Promise.all([fast.dispose(), plain.dispose()]);
  });
});
