import { type ModelSpec, forward64 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  activationBounds,
  gaussHermite,
  hermiteCoefficients,
  lazyTrainingDistance,
  lossAndGradCheck,
  songQuantities,
  songWidthCondition,
} from './songHelpers.js';
import { gaussian, svdValues, toMatrix } from './helpers.js';

/** Composite Simpson on [−L, L] of g(x)·N(0,1) density: an independent route to E[g(Z)]. */
function gaussExpect(g: (x: number) => number, L = 14, steps = 40000): number {
  const h = (2 * L) / steps;
  let s = 0;
  for (let k = 0; k <= steps; k++) {
    const x = -L + k * h;
    const w = k === 0 || k === steps ? 1 : k % 2 === 1 ? 4 : 2;
    s += w * g(x) * Math.exp(-0.5 * x * x);
  }
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

describe('gaussHermite', () => {
  it('integrates monomials exactly: E[Z^{2k}] = (2k − 1)!! up to degree 2N − 1', () => {
    const N = 12;
    const { nodes, weights } = gaussHermite(N);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    for (let p = 0; p <= 2 * N - 1; p++) {
      let s = 0;
      let scale = 0; // Σ w|x|^p: the size of the terms, for a rounding-aware tolerance
      for (let k = 0; k < N; k++) {
        s += weights[k]! * nodes[k]! ** p;
        scale += weights[k]! * Math.abs(nodes[k]!) ** p;
      }
      let exact = p % 2 === 1 ? 0 : 1;
      for (let j = p - 1; j > 0; j -= 2) exact *= j;
      expect(Math.abs(s - exact)).toBeLessThan(1e-13 * Math.max(1, scale));
    }
    // Degree 2N is not integrated exactly (the rule has N points).
    let s = 0;
    for (let k = 0; k < N; k++) s += weights[k]! * nodes[k]! ** (2 * N);
    let exact = 1;
    for (let j = 2 * N - 1; j > 0; j -= 2) exact *= j;
    expect(Math.abs(s - exact) / exact).toBeGreaterThan(1e-6);
    expect(() => gaussHermite(0)).toThrow(/order/);
  });
});

describe('hermiteCoefficients (Song et al. Def. 4)', () => {
  it('identity: only c1 = 1; x²: c0 = 1, c2 = √2', () => {
    const id = hermiteCoefficients('identity', { count: 6 }).coefficients;
    expect(id[1]).toBeCloseTo(1, 13);
    for (const i of [0, 2, 3, 4, 5]) expect(Math.abs(id[i]!)).toBeLessThan(1e-13);
    const sq = hermiteCoefficients((x) => x * x, { count: 6 });
    expect(sq.coefficients[0]).toBeCloseTo(1, 13);
    expect(sq.coefficients[2]).toBeCloseTo(Math.SQRT2, 13);
    for (const i of [1, 3, 4, 5]) expect(Math.abs(sq.coefficients[i]!)).toBeLessThan(1e-12);
    expect(sq.norm).toBeCloseTo(Math.sqrt(3), 12);
  });

  it('tanh: odd (even coefficients vanish); c_i = E[tanh⁽ⁱ⁾(Z)]/√(i!) by Simpson; Parseval', () => {
    const r = hermiteCoefficients('tanh', { count: 12, order: 200 });
    for (let i = 0; i < 12; i += 2) expect(Math.abs(r.coefficients[i]!)).toBeLessThan(1e-13);
    const sech2 = (x: number) => 1 - Math.tanh(x) ** 2;
    // Stein: E[φ(Z) He_1(Z)] = E[φ'(Z)]; E[φ(Z) He_3(Z)] = E[φ'''(Z)], φ''' = −2 sech²(1 − 3 tanh²)
    const c1 = gaussExpect(sech2);
    const c3 = gaussExpect((x) => -2 * sech2(x) * (1 - 3 * Math.tanh(x) ** 2)) / Math.sqrt(6);
    expect(r.coefficients[1]).toBeCloseTo(c1, 10);
    expect(r.coefficients[3]).toBeCloseTo(c3, 10);
    expect(r.norm).toBeCloseTo(Math.sqrt(gaussExpect((x) => Math.tanh(x) ** 2)), 10);
    // Truncated sums approach the norm from below.
    expect(r.truncatedNorm).toBeLessThanOrEqual(r.norm + 1e-14);
    expect(r.norm - r.truncatedNorm).toBeLessThan(1e-3);
  });

  it('relu: closed forms c0 = 1/√(2π), c1 = 1/2, c2 = 1/(2√π) (kink: algebraic convergence)', () => {
    const r = hermiteCoefficients('relu', { count: 3, order: 300 });
    expect(Math.abs(r.coefficients[0]! - 1 / Math.sqrt(2 * Math.PI))).toBeLessThan(1e-3);
    expect(Math.abs(r.coefficients[1]! - 0.5)).toBeLessThan(1e-3);
    expect(Math.abs(r.coefficients[2]! - 1 / (2 * Math.sqrt(Math.PI)))).toBeLessThan(1e-3);
    expect(r.norm).toBeCloseTo(Math.SQRT1_2, 3);
  });
});

describe('activationBounds', () => {
  it('tanh: sup|φ′| = 1, sup|φ″| = 4/(3√3); relu has no φ″', () => {
    const t = activationBounds('tanh');
    expect(t.dMax).toBeCloseTo(1, 12);
    expect(t.ddMax!).toBeCloseTo(4 / (3 * Math.sqrt(3)), 10);
    expect(activationBounds('gelu').ddMax!).toBeCloseTo(2 / Math.sqrt(2 * Math.PI), 10);
    expect(activationBounds('relu').ddMax).toBeNull();
  });
});

describe('songQuantities (Lemma 3)', () => {
  it('μ_Φ ≤ σ_min and σ_max ≤ ν_Φ of the finite-difference Jacobian ∇Φ(Θ₀); β_Φ bounds its variation', () => {
    const d0 = 3;
    const d1 = 8;
    const n = 6;
    const spec: ModelSpec = { kind: 'shallow', inputDim: d0, width: d1, activation: 'tanh' };
    const X = gaussian(1, n * d0);
    const W = gaussian(2, d1 * d0);
    const v = gaussian(3, d1, 0.5);
    const q = songQuantities(spec, { W, v }, X, n, { chiMax: 5 });
    // Independent: features by direct evaluation and ml-matrix SVD.
    const F = new Float64Array(n * d1);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d1; j++)
        F[i * d1 + j] = Math.tanh(
          X[i * 3]! * W[j * 3]! + X[i * 3 + 1]! * W[j * 3 + 1]! + X[i * 3 + 2]! * W[j * 3 + 2]!,
        );
    const sf = svdValues(F, n, d1);
    expect(q.muPhi).toBeCloseTo(sf[n - 1]!, 12);
    expect(q.sigmaMaxV).toBeCloseTo(Math.hypot(...v), 12);
    const jac = (Wp: Float64Array, vp: Float64Array) => {
      const P = d1 * d0 + d1;
      const A = new Float64Array(n * P);
      const h = 1e-6;
      for (let p = 0; p < P; p++) {
        const a = { W: Float64Array.from(Wp), v: Float64Array.from(vp) };
        const b = { W: Float64Array.from(Wp), v: Float64Array.from(vp) };
        if (p < d1 * d0) {
          a.W[p]! += h;
          b.W[p]! -= h;
        } else {
          a.v[p - d1 * d0]! += h;
          b.v[p - d1 * d0]! -= h;
        }
        const fa = forward64(spec, a, X, n);
        const fb = forward64(spec, b, X, n);
        for (let i = 0; i < n; i++) A[i * P + p] = (fa[i]! - fb[i]!) / (2 * h);
      }
      return { A, P };
    };
    const { A, P } = jac(W, v);
    const sj = svdValues(A, n, P);
    expect(sj[0]!).toBeLessThanOrEqual(q.nuPhi);
    expect(sj[n - 1]!).toBeGreaterThanOrEqual(q.muPhi);
    // Smoothness: ‖∇Φ(Θ) − ∇Φ(Θ̂)‖₂ ≤ β_Φ‖Θ − Θ̂‖ for nearby Θ̂ (σ_max(V̂) ≤ χ_max = 5).
    const dW = gaussian(4, d1 * d0, 0.05);
    const dv = gaussian(5, d1, 0.05);
    const W2 = W.map((x, i) => x + dW[i]!);
    const v2 = v.map((x, i) => x + dv[i]!);
    const B = jac(W2, v2).A;
    const diff = toMatrix(
      A.map((x, i) => x - B[i]!),
      n,
      P,
    );
    const sd = svdValues(diff.to1DArray(), n, P)[0]!;
    const dist = Math.hypot(...dW, ...dv);
    expect(sd).toBeLessThanOrEqual(q.betaPhi! * dist);
    expect(q.rhoPhi).toBeCloseTo(q.muPhi / (2 * q.betaPhi!), 14);
  });

  it('d1 < n gives μ_Φ = 0 with a note; relu gives β_Φ = null', () => {
    const spec: ModelSpec = { kind: 'shallow', inputDim: 2, width: 3, activation: 'relu' };
    const q = songQuantities(spec, { W: gaussian(1, 6), v: gaussian(2, 3) }, gaussian(3, 10), 5);
    expect(q.muPhi).toBe(0);
    expect(q.betaPhi).toBeNull();
    expect(q.notes.join(' ')).toMatch(/d1 = 3 < n = 5/);
    expect(() =>
      songQuantities({ kind: 'mlp', layers: [2, 3, 3, 1], activation: 'tanh' }, {}, [1, 2], 1),
    ).toThrow(/one hidden layer/);
  });
});

describe('songWidthCondition', () => {
  it('is C·n^{3/2}/d0', () => {
    expect(songWidthCondition({ n: 10000, d0: 100 }).required).toBeCloseTo(10000, 9);
    expect(songWidthCondition({ n: 10000, d0: 100, d1: 9000 }).satisfied).toBe(false);
    expect(songWidthCondition({ n: 10000, d0: 100, d1: 20000, C: 2 }).satisfied).toBe(true);
    expect(() => songWidthCondition({ n: 0, d0: 1 })).toThrow(/n must/);
  });
});

describe('lazyTrainingDistance (App. F)', () => {
  it('starts at 0; after one step equals the Taylor remainder computed by finite differences', () => {
    const spec: ModelSpec = { kind: 'shallow', inputDim: 3, width: 5, activation: 'tanh' };
    const n = 7;
    const X = gaussian(11, n * 3);
    const Y = gaussian(12, n);
    const W = gaussian(13, 15);
    const v = gaussian(14, 5);
    const lr = 0.01;
    const r = lazyTrainingDistance(spec, { W, v }, X, Y, n, { lr, steps: 1 });
    expect(r.distances[0]).toBe(0);
    // Θ₁ = Θ₀ − lr·∇h(Θ₀) for both models (same gradient at Θ₀). Distance = ‖F(Θ₁) − F(Θ₀) − ∇F·δ‖,
    // ∇F·δ by a central difference of forward64 along δ.
    const { grads } = lossAndGradCheck(spec, { W, v }, X, Y, n);
    const dW = grads.W!.map((g) => -lr * 2 * g);
    const dv = grads.v!.map((g) => -lr * 2 * g);
    const at = (t: number) =>
      forward64(spec, { W: W.map((x, i) => x + t * dW[i]!), v: v.map((x, i) => x + t * dv[i]!) }, X, n);
    const F0 = at(0);
    const F1 = at(1);
    const eps = 1e-5;
    const Fp = at(eps);
    const Fm = at(-eps);
    let s = 0;
    for (let i = 0; i < n; i++) s += (F1[i]! - F0[i]! - (Fp[i]! - Fm[i]!) / (2 * eps)) ** 2;
    expect(r.distances[1]! / Math.sqrt(s)).toBeCloseTo(1, 5);
    expect(r.distances[1]!).toBeGreaterThan(0);
    // outputMovement = ‖F(Θ₁) − F(Θ₀)‖ by the same forward64 evaluations
    let mv = 0;
    for (let i = 0; i < n; i++) mv += (F1[i]! - F0[i]!) ** 2;
    expect(r.outputMovement / Math.sqrt(mv)).toBeCloseTo(1, 8);
    // Over 40 steps GD lowers the network loss h = ‖F − Y‖² below its initial value.
    const long = lazyTrainingDistance(spec, { W, v }, X, Y, n, { lr, steps: 40 });
    expect(long.finalLoss).toBeLessThan(2 * lossAndGradCheck(spec, { W, v }, X, Y, n).loss);
    expect(long.distances.length).toBe(41);
    expect(() => lazyTrainingDistance(spec, { W, v }, X, Y, n, { lr: -1, steps: 3 })).toThrow(/options.lr/);
    // MLP with biases: same first-step identity (parameter order W1, b1, W2, b2).
    const mlp: ModelSpec = { kind: 'mlp', layers: [3, 4, 2], activation: 'gelu', bias: true };
    const mp = { W1: gaussian(21, 12), b1: gaussian(22, 4), W2: gaussian(23, 8), b2: gaussian(24, 2) };
    const Y2 = gaussian(25, n * 2);
    const rm = lazyTrainingDistance(mlp, mp, X, Y2, n, { lr, steps: 1 });
    const g2 = lossAndGradCheck(mlp, mp, X, Y2, n).grads;
    const step = (t: number) =>
      forward64(
        mlp,
        Object.fromEntries(
          Object.entries(mp).map(([k, a]) => [k, a.map((x, i) => x - t * lr * 2 * g2[k]![i]!)]),
        ),
        X,
        n,
      );
    const G0 = step(0);
    const G1 = step(1);
    const Gp = step(eps);
    const Gm = step(-eps);
    let s2 = 0;
    for (let i = 0; i < n * 2; i++) s2 += (G1[i]! - G0[i]! - (Gp[i]! - Gm[i]!) / (2 * eps)) ** 2;
    expect(rm.distances[1]! / Math.sqrt(s2)).toBeCloseTo(1, 5);
  });
});
