import { type TfjsEngine, startTfjs } from '@narrownet/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ActivationSpec,
  type LossName,
  type MlpLikeSpec,
  type ModelSpec,
  activateTf,
  activation,
  forward64,
  forwardTf,
  fromTfParams,
  lossAndGrad64,
  lossTf,
  outputDim,
  paramShapes,
  toTfParams,
} from '../src/index.js';
import { FAMILIES, problem } from './helpers.js';

let engine: TfjsEngine;
beforeAll(async () => {
  engine = await startTfjs({ backend: 'cpu' });
});

/** float32 copy of a float64 parameter set (what tfjs sees); the float64 reference gets the same values. */
function f32(params: Record<string, Float64Array>) {
  const host: Record<string, { shape: number[]; data: Float32Array }> = {};
  const rounded: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(params)) {
    host[k] = { shape: [v.length], data: Float32Array.from(v) };
    rounded[k] = Float64Array.from(host[k]!.data);
  }
  return { host, rounded };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Runs forwardTf on float32 copies of the parameters (reshaped to their spec shapes). */
function setup(spec: MlpLikeSpec, n: number, seed: number, loss: LossName = 'halfSse') {
  const { tf } = engine;
  const p = problem(spec, n, seed, loss);
  const { rounded } = f32(p.params);
  const shapes = Object.fromEntries(
    Object.keys(p.params).map((k) => [k, shapeOf(spec, k)] as const),
  ) as Record<string, number[]>;
  const tfParams = Object.fromEntries(
    Object.entries(rounded).map(([k, v]) => [k, tf.tensor(Float32Array.from(v), shapes[k])]),
  );
  const X = Float64Array.from(Float32Array.from(p.X));
  const Y = Float64Array.from(Float32Array.from(p.Y));
  const d = X.length / n;
  const x = tf.tensor2d(Float32Array.from(X), [n, d]);
  const y = tf.tensor2d(Float32Array.from(Y), [n, outputDim(spec)]);
  return { rounded, tfParams, X, Y, x, y };
}

function shapeOf(spec: ModelSpec, name: string): number[] {
  return paramShapes(spec)[name]!;
}

describe('forwardTf (tfjs cpu backend)', () => {
  it.each(FAMILIES.map((s) => [s.kind, s] as const))(
    '%s: shape [n, outputDim], values = forward64',
    (_k, spec) => {
      const n = 6;
      const { rounded, tfParams, X, x } = setup(spec, n, 3);
      const out = forwardTf(spec, tfParams, x);
      expect(out.shape).toEqual([n, outputDim(spec)]);
      const got = out.dataSync();
      const want = forward64(spec, rounded, X, n);
      // Same float32 inputs; float32 arithmetic error is a few ulp of the O(1) partial sums.
      const tol = 1e-5 * Math.max(1, maxAbs(want));
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i]! - want[i]!), `out[${i}]`).toBeLessThan(tol);
    },
  );

  it('paired net with equal halves outputs exactly 0', () => {
    const { tf } = engine;
    for (const act of ['tanh', 'relu', 'gelu'] as const) {
      const spec: ModelSpec = { kind: 'paired', inputDim: 3, width: 4, activation: act };
      const half = [0.5, -1.25, 2, 0.1, 0.7, -0.3];
      const W = tf.tensor2d([...half, ...half], [4, 3]);
      const v = tf.tensor1d([1.5, -2]);
      const x = tf.tensor2d([0.3, -1, 2.2, 1, 1, 1, -4, 0.5, 0.25], [3, 3]);
      expect(Array.from(forwardTf(spec, { W, v }, x).dataSync())).toEqual([0, 0, 0]);
    }
  });

  it('activateTf matches activation().f for every activation', () => {
    const { tf } = engine;
    const xs = [-3.5, -1, -0.2, 0, 0.3, 1.7, 4];
    const specs: ActivationSpec[] = [
      'tanh',
      'sigmoid',
      'softplus',
      { name: 'softplus', alpha: 2.5 },
      'gelu',
      'relu',
      { name: 'leakyRelu', slope: 0.3 },
      'abs',
      'identity',
    ];
    for (const s of specs) {
      const got = activateTf(s, tf.tensor1d(xs)).dataSync();
      const a = activation(s);
      // float32 result of an O(1) value: relative 1e-6 (≈ 8 ulp), absolute floor 1e-6 for gelu's erf.
      xs.forEach((x, i) => {
        expect(Math.abs(got[i]! - a.f(x)), `${JSON.stringify(s)}(${x})`).toBeLessThan(
          1e-6 * (1 + Math.abs(a.f(x))),
        );
      });
    }
  });

  it('toTfParams / fromTfParams round-trip a parameter tree', () => {
    const params = { W: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) } };
    const back = fromTfParams(toTfParams(params));
    expect(back).toEqual(params);
  });
});

describe('tfjs autodiff (tf.grads over forwardTf + lossTf) vs lossAndGrad64', () => {
  const losses: LossName[] = ['halfSse', 'mse', 'softmaxCrossEntropy'];
  const specs: MlpLikeSpec[] = [
    ...FAMILIES,
    { kind: 'shallow', inputDim: 4, width: 7, activation: 'relu' },
    { kind: 'paired', inputDim: 3, width: 8, activation: { name: 'softplus', alpha: 2 } },
    { kind: 'mlp', layers: [4, 6, 6, 3], activation: 'sigmoid', bias: true },
    { kind: 'mlp', layers: [3, 5, 2], activation: 'abs', scaled: true },
  ];
  const cases = specs.flatMap((s) =>
    losses.map((l) => [s.kind, JSON.stringify(s.activation), l, s] as const),
  );
  it.each(cases)('%s %s %s', (_k, _a, loss, spec) => {
    const { tf } = engine;
    const n = 8;
    const { rounded, tfParams, X, Y, x, y } = setup(spec, n, 17, loss);
    const names = Object.keys(tfParams);
    const f = (...ts: import('@tensorflow/tfjs-core').Tensor[]) =>
      lossTf(loss, forwardTf(spec, Object.fromEntries(names.map((k, i) => [k, ts[i]!])), x), y);
    const value = f(...names.map((k) => tfParams[k]!)).dataSync()[0]!;
    const grads = tf.grads(f)(names.map((k) => tfParams[k]!));
    const ref = lossAndGrad64(spec, rounded, X, Y, n, loss);
    // Both sides start from identical float32 inputs; tfjs accumulates in float32 (unit roundoff
    // 6e-8) over sums of ≤ 8·6 terms through ≤ 3 layers. Measured worst case over all cases here:
    // 7.4e-8 of max(1, max|∇|). Tolerance 1e-6 of that scale: 13× margin, and still catches any
    // wrong term (a missing 1/√m, a sign or a factor 2 changes gradients by ≥ 10%).
    expect(Math.abs(value - ref.loss)).toBeLessThan(1e-6 * Math.max(1, Math.abs(ref.loss)));
    let scale = 1;
    for (const g of Object.values(ref.grads)) scale = Math.max(scale, maxAbs(g));
    names.forEach((k, j) => {
      const got = grads[j]!.dataSync();
      const want = ref.grads[k]!;
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i]! - want[i]!), `${k}[${i}]`).toBeLessThan(1e-6 * scale);
    });
    tf.dispose([...grads, ...Object.values(tfParams), x, y]);
  });
});
