import { type MlpLikeSpec as ModelSpec, forward64 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  featureMatrixSpectrum,
  hiddenJacobian,
  jacobianLambdaMin,
  zhangWidthCondition,
} from '../src/index.js';
import { gaussian, svdValues } from './helpers.js';

type Case = { spec: ModelSpec; n: number; seed: number };

const cases: Case[] = [
  { spec: { kind: 'shallow', inputDim: 4, width: 5, activation: 'tanh' }, n: 12, seed: 1 },
  { spec: { kind: 'shallow', inputDim: 3, width: 12, activation: 'relu' }, n: 10, seed: 2 },
  { spec: { kind: 'paired', inputDim: 4, width: 6, activation: 'tanh' }, n: 15, seed: 3 },
  { spec: { kind: 'paired', inputDim: 5, width: 10, activation: 'relu' }, n: 9, seed: 4 },
  { spec: { kind: 'shallow', inputDim: 6, width: 3, activation: 'softplus' }, n: 7, seed: 5 },
];

function setup({ spec, n, seed }: Case) {
  if (spec.kind === 'mlp' || spec.kind === 'pairedMlp') throw new Error('unused');
  const d = spec.inputDim;
  const m = spec.width;
  const X = gaussian(seed, n * d);
  const W = gaussian(seed + 100, m * d, 1 / Math.sqrt(d));
  const v = gaussian(seed + 200, spec.kind === 'paired' ? m / 2 : m);
  return { d, m, X, params: { W, v } };
}

describe('hiddenJacobian', () => {
  it.each(cases)(
    'equals central finite differences of forward64 w.r.t. W ($spec.kind $spec.activation)',
    (c) => {
      const { d, m, X, params } = setup(c);
      const J = hiddenJacobian(c.spec, params, X, c.n);
      expect(J.rows).toBe(c.n);
      expect(J.cols).toBe(m * d);
      const h = 1e-6;
      let maxErr = 0;
      let maxAbs = 0;
      for (let p = 0; p < m * d; p++) {
        const Wp = Float64Array.from(params.W);
        const Wm = Float64Array.from(params.W);
        Wp[p]! += h;
        Wm[p]! -= h;
        const fp = forward64(c.spec, { W: Wp, v: params.v }, X, c.n);
        const fm = forward64(c.spec, { W: Wm, v: params.v }, X, c.n);
        for (let i = 0; i < c.n; i++) {
          const fd = (fp[i]! - fm[i]!) / (2 * h);
          maxErr = Math.max(maxErr, Math.abs(fd - J.data[i * m * d + p]!));
          maxAbs = Math.max(maxAbs, Math.abs(fd));
        }
      }
      // Central differences: O(h²) truncation + O(ε/h) rounding ≈ 1e-10; relu kinks are never hit
      // by Gaussian data with probability one (|wᵀx| ≫ h).
      expect(maxAbs).toBeGreaterThan(0.1);
      expect(maxErr).toBeLessThan(1e-7);
    },
  );

  it('rejects bad input naming the parameter', () => {
    const spec: ModelSpec = { kind: 'shallow', inputDim: 2, width: 2, activation: 'tanh' };
    expect(() => hiddenJacobian(spec, { W: [1, 2, 3], v: [1, 1] }, [1, 2], 1)).toThrow(/"W"/);
    expect(() => hiddenJacobian(spec, { W: [1, 2, 3, 4], v: [1, 1] }, [1, 2, 3], 1)).toThrow(/X has 3/);
    expect(() => hiddenJacobian(spec, { W: [1, 2, 3, 4], v: [1, 1] }, [1, 2], 0)).toThrow(/n must/);
    const mlp: ModelSpec = { kind: 'mlp', layers: [2, 2, 1], activation: 'relu' };
    expect(() => jacobianLambdaMin(mlp, {}, [1, 2], 1)).toThrow(/spec.kind/);
  });
});

describe('jacobianLambdaMin (Gram route)', () => {
  it.each(cases)('equals σ_min of the explicit J by float64 SVD ($spec.kind $spec.activation n=$n)', (c) => {
    const { X, params } = setup(c);
    const J = hiddenJacobian(c.spec, params, X, c.n);
    const sv = svdValues(J.data, J.rows, J.cols);
    const expected = sv[Math.min(J.rows, J.cols) - 1]!;
    const got = jacobianLambdaMin(c.spec, params, X, c.n);
    expect(expected).toBeGreaterThan(1e-3);
    expect(Math.abs(got - expected) / expected).toBeLessThan(1e-10);
  });

  it('accepts a ParamTree ({ shape, data: Float32Array }) as well as plain arrays', () => {
    const c = cases[0]!;
    const { X, params } = setup(c);
    const W32 = Float32Array.from(params.W);
    const v32 = Float32Array.from(params.v);
    const tree = { W: { shape: [5, 4], data: W32 }, v: { shape: [5], data: v32 } };
    expect(jacobianLambdaMin(c.spec, tree, X, c.n)).toBe(
      jacobianLambdaMin(c.spec, { W: W32, v: v32 }, X, c.n),
    );
  });

  it('n > md: returns the smallest of the md singular values of J', () => {
    const c: Case = { spec: { kind: 'shallow', inputDim: 2, width: 3, activation: 'tanh' }, n: 11, seed: 9 };
    const { X, params } = setup(c);
    const J = hiddenJacobian(c.spec, params, X, c.n);
    const sv = svdValues(J.data, J.rows, J.cols);
    expect(sv.length).toBe(6);
    const got = jacobianLambdaMin(c.spec, params, X, c.n);
    expect(Math.abs(got - sv[5]!) / sv[5]!).toBeLessThan(1e-9);
  });

  it('is 0 (to rounding) for the mirrored paired init with v = 0 and positive on a generic point', () => {
    const spec: ModelSpec = { kind: 'paired', inputDim: 3, width: 4, activation: 'tanh' };
    const X = gaussian(1, 5 * 3);
    const W = gaussian(2, 12);
    expect(jacobianLambdaMin(spec, { W, v: [0, 0] }, X, 5)).toBe(0);
    expect(jacobianLambdaMin(spec, { W, v: [1, -0.5] }, X, 5)).toBeGreaterThan(1e-3);
  });
});

describe('featureMatrixSpectrum', () => {
  it('Φ entries are σ(w_jᵀx_i), Σσ² = ‖Φ‖_F², and mirrored halves halve the rank', () => {
    const spec: ModelSpec = { kind: 'paired', inputDim: 3, width: 6, activation: 'tanh' };
    const n = 8;
    const X = gaussian(11, n * 3);
    const half = gaussian(12, 9);
    const W = new Float64Array(18);
    W.set(half, 0);
    W.set(half, 9);
    const r = featureMatrixSpectrum(spec, { W, v: [1, 1, 1] }, X, n);
    expect(r.Phi[1 * 6 + 2]).toBeCloseTo(Math.tanh(X[3]! * W[6]! + X[4]! * W[7]! + X[5]! * W[8]!), 14);
    const fro = r.Phi.reduce((s, x) => s + x * x, 0);
    const sum = r.singularValues.reduce((s, x) => s + x * x, 0);
    expect(Math.abs(sum - fro) / fro).toBeLessThan(1e-12);
    expect(r.rank).toBe(3);
    const W2 = gaussian(13, 18);
    expect(featureMatrixSpectrum(spec, { W: W2, v: [1, 1, 1] }, X, n).rank).toBe(6);
  });
});

describe('zhangWidthCondition', () => {
  it('requires ⌈2n/d⌉ rounded up to even', () => {
    expect(zhangWidthCondition({ n: 50000, d: 3072, m: 40 })).toMatchObject({
      required: 34,
      satisfied: true,
    });
    expect(zhangWidthCondition({ n: 10, d: 4, m: 5 })).toMatchObject({ required: 6, satisfied: false });
    expect(zhangWidthCondition({ n: 10, d: 5, m: 4 })).toMatchObject({ required: 4, satisfied: true });
    expect(zhangWidthCondition({ n: 1000, d: 200, m: 8 }).verdict).toMatch(/m = 8 is below/);
    expect(zhangWidthCondition({ n: 1000, d: 200, m: 12 }).verdict).toMatch(/m = 12 meets/);
    expect(zhangWidthCondition({ n: 1000, d: 200, m: 8 }).required).toBe(10);
    expect(() => zhangWidthCondition({ n: 10, d: 0, m: 4 })).toThrow(/d must/);
  });
});
