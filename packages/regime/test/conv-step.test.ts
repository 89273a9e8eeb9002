import { readFileSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import type { ResNetSpec } from '@narrownet/models';
import type { OptimizerSpec } from '@narrownet/optim';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildConvStepModel } from '../src/index.js';

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

function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1e-3;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  return got.length === want.length ? err / scale : Number.POSITIVE_INFINITY;
}

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
