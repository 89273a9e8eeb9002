import { type ModelSpec, hiddenOutputs64 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { featureRankM, kawaguchiHuangSizeBounds, lastLayerLipschitz, weightNorm } from '../src/index.js';
import { gaussian, svdValues } from './helpers.js';

const spec: ModelSpec = {
  kind: 'mlp',
  layers: [4, 6, 12, 2],
  activation: 'softplus',
  bias: true,
  scaled: true,
};
const params = {
  W1: gaussian(1, 24),
  b1: gaussian(2, 6),
  W2: gaussian(3, 72),
  b2: gaussian(4, 12),
  W3: gaussian(5, 24),
  b3: gaussian(6, 2),
};

describe('featureRankM', () => {
  it('is n when m_H + 1 ≥ n for generic weights, and drops with duplicated units', () => {
    const n = 10;
    const X = gaussian(7, n * 4);
    const r = featureRankM(spec, params, X, n);
    expect(r.rank).toBe(10);
    expect(r.fullRowRank).toBe(true);
    // Independent: the singular values of [x⁽ᴴ⁾, 1] from ml-matrix.
    const h = hiddenOutputs64(spec, params, X, n)[1]!;
    const Z = new Float64Array(n * 13);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 12; j++) Z[i * 13 + j] = h[i * 12 + j]!;
      Z[i * 13 + 12] = 1;
    }
    const sv = svdValues(Z, n, 13);
    expect(r.singularValues[9]! / sv[9]!).toBeCloseTo(1, 10);
    // Make the last hidden layer have only 3 distinct units: rank ≤ 3 + 1.
    const W2 = Float64Array.from(params.W2);
    const b2 = Float64Array.from(params.b2);
    for (let j = 3; j < 12; j++) {
      W2.set(params.W2.slice((j % 3) * 6, (j % 3) * 6 + 6), j * 6);
      b2[j] = b2[j % 3]!;
    }
    expect(featureRankM(spec, { ...params, W2, b2 }, X, n).rank).toBe(4);
    expect(() => featureRankM({ kind: 'mlp', layers: [4, 2], activation: 'relu' }, {}, X, n)).toThrow(
      /hidden layer/,
    );
  });
});

describe('featureRankM, method gram', () => {
  it('gives the singular values of the SVD (σ = √λ(M Mᵀ)) and the same ranks, full and deficient', () => {
    const n = 10;
    const X = gaussian(7, n * 4);
    const svd = featureRankM(spec, params, X, n);
    const gram = featureRankM(spec, params, X, n, { method: 'gram' });
    expect(gram.method).toBe('gram');
    expect(gram.rank).toBe(svd.rank);
    for (let i = 0; i < n; i++) expect(gram.singularValues[i]! / svd.singularValues[i]!).toBeCloseTo(1, 6);
    // 3 distinct units in the last hidden layer: rank 4 by both methods
    const W2 = new Float64Array(12 * 6);
    const b2 = new Float64Array(12);
    const src = gaussian(3, 3 * 6);
    for (let j = 0; j < 12; j++) for (let t = 0; t < 6; t++) W2[j * 6 + t] = src[(j % 3) * 6 + t]!;
    const p2 = { ...params, W2, b2 };
    expect(featureRankM(spec, p2, X, n, { method: 'gram' }).rank).toBe(4);
    expect(featureRankM(spec, p2, X, n).rank).toBe(4);
    expect(() => featureRankM(spec, params, X, n, { method: 'qr' as never })).toThrow(/options.method/);
  });
});

describe('lastLayerLipschitz', () => {
  it('bounds the true Lipschitz constant (ζ/n)·σ_max(Z)² of ∇J̄, and its step decreases J̄', () => {
    const n = 15;
    const X = gaussian(8, n * 4);
    const r = lastLayerLipschitz(spec, params, X, n);
    const h = hiddenOutputs64(spec, params, X, n)[1]!;
    const Z = new Float64Array(n * 13);
    let sum2 = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 12; j++) Z[i * 13 + j] = h[i * 12 + j]!;
      Z[i * 13 + 12] = 1;
      for (let j = 0; j < 13; j++) sum2 += Z[i * 13 + j]! ** 2;
    }
    expect(r.lipschitzBound).toBeCloseTo((2 * sum2) / n, 12);
    // J̄(W̄) = (1/n)Σ‖W̄ z_i − y_i‖² has Hessian (2/n) ZᵀZ ⊗ I: its exact Lipschitz constant is
    // (2/n)σ_max(Z)² ≤ (2/n)‖Z‖_F², the bound of Lemma 3.
    const exact = (2 / n) * svdValues(Z, n, 13)[0]! ** 2;
    expect(exact).toBeLessThanOrEqual(r.lipschitzBound * (1 + 1e-12));
    expect(exact).toBeGreaterThan(0.2 * r.lipschitzBound);
    // GD on the last layer with η = 1/(c_z ζ) decreases J̄ monotonically (eq. 20).
    const Y = gaussian(9, n * 2);
    const Wb = new Float64Array(2 * 13);
    const Jbar = (w: Float64Array) => {
      let s = 0;
      for (let i = 0; i < n; i++)
        for (let o = 0; o < 2; o++) {
          let q = 0;
          for (let j = 0; j < 13; j++) q += w[o * 13 + j]! * Z[i * 13 + j]!;
          s += (q - Y[i * 2 + o]!) ** 2;
        }
      return s / n;
    };
    let prev = Jbar(Wb);
    for (let it = 0; it < 50; it++) {
      const g = new Float64Array(26);
      for (let i = 0; i < n; i++)
        for (let o = 0; o < 2; o++) {
          let q = 0;
          for (let j = 0; j < 13; j++) q += Wb[o * 13 + j]! * Z[i * 13 + j]!;
          const e = (2 / n) * (q - Y[i * 2 + o]!);
          for (let j = 0; j < 13; j++) g[o * 13 + j]! += e * Z[i * 13 + j]!;
        }
      for (let j = 0; j < 26; j++) Wb[j]! -= r.stepSize * g[j]!;
      const cur = Jbar(Wb);
      expect(cur).toBeLessThanOrEqual(prev + 1e-14);
      prev = cur;
    }
    expect(r.meanNorm).toBeLessThanOrEqual(Math.sqrt(r.cz) + 1e-12);
    expect(lastLayerLipschitz(spec, params, X, n, { zeta: 1 }).stepSize).toBeCloseTo(2 * r.stepSize, 12);
  });
});

describe('weightNorm', () => {
  it('is C times the largest row norm of [W⁽ᴴ⁺¹⁾, b⁽ᴴ⁺¹⁾]', () => {
    const rows = [0, 1].map((o) => {
      let s = params.b3[o]! ** 2;
      for (let j = 0; j < 12; j++) s += params.W3[o * 12 + j]! ** 2;
      return Math.sqrt(s);
    });
    expect(weightNorm(spec, params)).toBeCloseTo(Math.max(...rows), 12);
    expect(weightNorm(spec, params, { C: 3 })).toBeCloseTo(3 * Math.max(...rows), 12);
    const sh: ModelSpec = { kind: 'shallow', inputDim: 2, width: 2, activation: 'tanh' };
    expect(weightNorm(sh, { W: [1, 2, 3, 4], v: [3, 4] })).toBe(5);
    expect(() => weightNorm(spec, params, { C: -1 })).toThrow(/options.C/);
  });
});

describe('kawaguchiHuangSizeBounds', () => {
  it('evaluates Theorem 1, Remark 1 and Corollary 1 as written', () => {
    const r = kawaguchiHuangSizeBounds({
      n: 1000,
      mx: 784,
      my: 10,
      H: 2,
      delta: 0.1,
      layers: [784, 50, 4000, 10],
    });
    const lg = Math.log((2 * 1e6) / 0.1);
    expect(r.sufficient).toBeCloseTo((1000 + 784 * 4 + 32 * lg) * lg + 10000, 6);
    expect(r.necessary).toBe(10000);
    expect(r.d).toBe(784 * 50 + 50 + 50 * 4000 + 4000 + 4000 * 10 + 10);
    expect(r.verdict).toMatch(/meets/);
    expect(kawaguchiHuangSizeBounds({ n: 100, mx: 5, my: 2, H: 1, delta: 0.1 }).sufficient).toBe(700);
    expect(
      kawaguchiHuangSizeBounds({ n: 100, mx: 5, my: 2, H: 1, delta: 0.1, layers: [5, 10, 2] }).verdict,
    ).toMatch(/too few/);
    expect(() => kawaguchiHuangSizeBounds({ n: 100, mx: 5, my: 2, H: 1, delta: 2 })).toThrow(/delta/);
  });
});
