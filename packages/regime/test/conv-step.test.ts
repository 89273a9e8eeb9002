import { readFileSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import { initResNet } from '@narrownet/init';
import {
  type ResNetSpec,
  buildConvLossGradModel,
  createRng,
  resnet18,
  resnetStageParams,
} from '@narrownet/models';
import type { OptimizerSpec } from '@narrownet/optim';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildConvStepModel, resnetOptimizer } from '../src/index.js';
import { relError } from './rel-error.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;
type Tensor = ReturnType<Engine['tensor']>;

function f64(b64: string): Float64Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
const rec = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, f64(v)]));

/** Two torch.optim.SGD steps of a ResNet-18 (widths 4-8-8-8), by scripts/make_conv_step_fixture.py. */
const raw = JSON.parse(readFileSync(new URL('./fixtures/conv_step_torch.json', import.meta.url), 'utf8'));
const FIX = {
  spec: raw.spec as ResNetSpec,
  X: f64(raw.X),
  Y: f64(raw.Y),
  batches: raw.batches as number[][],
  lr: raw.lr as number,
  momentum: raw.momentum as number,
  weightDecay: raw.weightDecay as number,
  params0: rec(raw.params0),
  buffers0: rec(raw.buffers0),
  losses: raw.losses as number[],
  params: rec(raw.params),
  buffers: rec(raw.buffers),
};

describe('buildConvStepModel: fused SGD step of a conv net against torch.optim.SGD', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  it('two steps (momentum 0.9, weight decay 5e-4, train-mode batch norm) match PyTorch to 1e-4', async () => {
    const { spec } = FIX;
    const optimizer: OptimizerSpec = {
      groups: [
        {
          params: Object.keys(FIX.params0),
          lr: FIX.lr,
          update: { kind: 'sgd', momentum: FIX.momentum, weightDecay: FIX.weightDecay },
        },
      ],
    };
    const step = buildConvStepModel(spec, optimizer);
    expect(Object.keys(step.paramShapes)).toEqual(Object.keys(FIX.params0));
    expect(step.anchorNames).toEqual([]);
    const session = await engine.createSession(step.model);
    const d = spec.input[0] * spec.input[1] * spec.input[2];
    const k = spec.classes;
    let state: Record<string, Tensor> = {};
    for (const [name, s] of Object.entries(step.paramShapes))
      state[`p.${name}`] = engine.tensor(Float32Array.from(FIX.params0[name]!), s);
    for (const [name, s] of Object.entries(step.bufferShapes))
      state[`b.${name}`] = engine.tensor(Float32Array.from(FIX.buffers0[name]!), s);
    for (const [name, s] of Object.entries(step.slotShapes))
      state[`s.${name}`] = engine.tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), s);
    let stepT: Tensor = new engine.ort.Tensor('int64', new BigInt64Array([0n]), []);
    for (const [t, idx] of FIX.batches.entries()) {
      const Xb = new Float32Array(idx.length * d);
      const Yb = new Float32Array(idx.length * k);
      idx.forEach((row, i) => {
        Xb.set(FIX.X.subarray(row * d, (row + 1) * d), i * d);
        Yb.set(FIX.Y.subarray(row * k, (row + 1) * k), i * k);
      });
      const out = await session.run({
        ...state,
        X: engine.tensor(Xb, [idx.length, d]),
        Y: engine.tensor(Yb, [idx.length, k]),
        step: stepT,
      });
      expect(
        Math.abs((out.loss!.data as Float32Array)[0]! - FIX.losses[t]!),
        `loss of step ${t}`,
      ).toBeLessThan(1e-4);
      const next: Record<string, Tensor> = {};
      for (const [key, v] of Object.entries(out)) {
        const m = /^([PBS])\.(.*)$/.exec(key);
        if (m) next[`${m[1]!.toLowerCase()}.${m[2]}`] = v as Tensor;
      }
      state = next;
      stepT = out.step_out as Tensor;
    }
    expect(Number((stepT.data as BigInt64Array)[0])).toBe(2);
    for (const [name, want] of Object.entries(FIX.params))
      expect(relError(state[`p.${name}`]!.data as Float32Array, want), name).toBeLessThan(1e-4);
    for (const [name, want] of Object.entries(FIX.buffers))
      expect(relError(state[`b.${name}`]!.data as Float32Array, want), name).toBeLessThan(1e-4);
    // The step moved every parameter (the comparison above is not trivially the initial point).
    for (const [name, want] of Object.entries(FIX.params))
      expect(relError(FIX.params0[name]!, want), name).toBeGreaterThan(1e-6);
    await session.release();
  });

  it('reads a non-finite parameter as a NaN loss (diverged, not finite)', async () => {
    const { spec } = FIX;
    const optimizer: OptimizerSpec = {
      groups: [{ params: Object.keys(FIX.params0), lr: 0.1, update: { kind: 'sgd' } }],
    };
    const step = buildConvStepModel(spec, optimizer);
    const session = await engine.createSession(step.model);
    const d = spec.input[0] * spec.input[1] * spec.input[2];
    const feeds: Record<string, Tensor> = {
      X: engine.tensor(Float32Array.from(FIX.X.subarray(0, 4 * d)), [4, d]),
      Y: engine.tensor(Float32Array.from(FIX.Y.subarray(0, 4 * spec.classes)), [4, spec.classes]),
      step: new engine.ort.Tensor('int64', new BigInt64Array([0n]), []),
    };
    for (const [name, s] of Object.entries(step.paramShapes)) {
      const v = Float32Array.from(FIX.params0[name]!);
      // −∞ in the last basic block's conv2 weight: one entry, the kind a ReLU could hide.
      if (name === 'layer4.1.conv2.weight') v[0] = Number.NEGATIVE_INFINITY;
      feeds[`p.${name}`] = engine.tensor(v, s);
    }
    for (const [name, s] of Object.entries(step.bufferShapes))
      feeds[`b.${name}`] = engine.tensor(Float32Array.from(FIX.buffers0[name]!), s);
    const out = await session.run(feeds);
    expect(Number.isNaN((out.loss!.data as Float32Array)[0]!)).toBe(true);
    await session.release();
  });

  it('rejects an optimizer that leaves a parameter out', () => {
    expect(() =>
      buildConvStepModel(FIX.spec, {
        groups: [{ params: ['linear.weight'], lr: 0.1, update: { kind: 'sgd' } }],
      }),
    ).toThrow(/parameter "conv1.weight" is in no optimizer group/);
  });
});

describe('buildConvStepModel: Alg. 2 on the final block of a narrow ResNet-18', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  it('mirrored init outputs exactly 0 in float32 and PGD keeps the final block in its ball', async () => {
    const spec: ResNetSpec = {
      ...resnet18({ classes: 3, input: [3, 8, 8], widths: [4, 4, 4, 8] }),
      head: 'paired',
    };
    const { params, buffers } = initResNet(spec, { mirrorFinalStage: true }, createRng(21));
    const n = 6;
    const d = 3 * 8 * 8;
    const rng = createRng(22);
    const X = Float32Array.from({ length: n * d }, () => rng.normal());
    const Y = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) Y[i * 3 + (i % 3)] = 1;

    // The initial logits are exactly 0 in onnxruntime's float32 too (channel c + m/2 is computed
    // with the same weights and inputs as channel c).
    const fwd = await engine.createSession(
      buildConvLossGradModel(spec, 'softmaxCrossEntropy', { train: true }),
    );
    const feeds: Record<string, Tensor> = { X: engine.tensor(X, [n, d]), Y: engine.tensor(Y, [n, 3]) };
    for (const [k, t] of Object.entries(params)) feeds[k] = engine.tensor(t.data, t.shape);
    for (const [k, t] of Object.entries(buffers)) feeds[k] = engine.tensor(t.data, t.shape);
    const pred = (await fwd.run(feeds)).pred!.data as Float32Array;
    expect(Array.from(pred).every((v) => v === 0)).toBe(true);
    await fwd.release();

    const eps = 0.05;
    const final = resnetStageParams(spec);
    const rest = Object.keys(params).filter((k) => !final.includes(k));
    const step = buildConvStepModel(spec, resnetOptimizer(spec, { radius: eps }));
    expect(step.anchorNames).toEqual(final);
    const session = await engine.createSession(step.model);
    let state: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(params)) {
      state[`p.${k}`] = engine.tensor(t.data.slice(), t.shape);
      if (final.includes(k)) state[`a.${k}`] = engine.tensor(t.data.slice(), t.shape);
    }
    for (const [k, t] of Object.entries(buffers)) state[`b.${k}`] = engine.tensor(t.data.slice(), t.shape);
    for (const [k, s] of Object.entries(step.slotShapes))
      state[`s.${k}`] = engine.tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), s);
    let stepT: Tensor = new engine.ort.Tensor('int64', new BigInt64Array([0n]), []);
    const dist = (names: string[]) => {
      let s = 0;
      for (const k of names) {
        const now = state[`p.${k}`]!.data as Float32Array;
        const at0 = params[k]!.data;
        for (let i = 0; i < now.length; i++) s += (now[i]! - at0[i]!) ** 2;
      }
      return Math.sqrt(s);
    };
    const losses: number[] = [];
    for (let t = 0; t < 5; t++) {
      const out = await session.run({ ...state, X: feeds.X!, Y: feeds.Y!, step: stepT });
      losses.push((out.loss!.data as Float32Array)[0]!);
      const next: Record<string, Tensor> = {};
      for (const [key, v] of Object.entries(out)) {
        const m = /^([PBS])\.(.*)$/.exec(key);
        if (m) next[`${m[1]!.toLowerCase()}.${m[2]}`] = v as Tensor;
      }
      for (const k of final) next[`a.${k}`] = state[`a.${k}`]!;
      state = next;
      stepT = out.step_out as Tensor;
      expect(dist(final), `step ${t}`).toBeLessThanOrEqual(eps * (1 + 1e-5));
    }
    // The ball is active (the final block sits on its boundary) while the trunk moved further.
    expect(dist(final)).toBeGreaterThan(eps * 0.999);
    expect(dist(rest)).toBeGreaterThan(eps);
    expect(losses[0]).toBeCloseTo(Math.log(3), 5);
    expect(losses.every(Number.isFinite)).toBe(true);
    await session.release();
  });
});
