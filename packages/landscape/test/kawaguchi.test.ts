import { type MlpLikeSpec as ModelSpec, forward64, lossAndGrad64, paramShapes } from '@narrownet/models';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import {
  CUTOFF_CRITERIA,
  kawaguchiBound,
  kawaguchiLossDense,
  kawaguchiLossMatrixFree,
  kawaguchiShallowSum,
  whiteNoisePrediction,
} from '../src/index.js';
import { fanInParams, gaussian, svdValues } from './helpers.js';

type P = Record<string, Float64Array>;

/** Jacobian of vec(Ŷ) (column-major rows j·n+i) w.r.t. all parameters by central differences. */
function fdJacobian(spec: ModelSpec, params: P, X: Float64Array, n: number): { A: Matrix; k: number } {
  const k = 'layers' in spec ? spec.layers[spec.layers.length - 1]! : 1;
  const cols: Float64Array[] = [];
  const h = 1e-6;
  for (const name of Object.keys(paramShapes(spec))) {
    for (let p = 0; p < params[name]!.length; p++) {
      const plus = { ...params, [name]: Float64Array.from(params[name]!) };
      const minus = { ...params, [name]: Float64Array.from(params[name]!) };
      plus[name]![p]! += h;
      minus[name]![p]! -= h;
      const fp = forward64(spec, plus, X, n);
      const fm = forward64(spec, minus, X, n);
      const col = new Float64Array(n * k);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < k; j++) col[j * n + i] = (fp[i * k + j]! - fm[i * k + j]!) / (2 * h);
      cols.push(col);
    }
  }
  const A = new Matrix(n * k, cols.length);
  cols.forEach((c, q) => {
    for (let r = 0; r < n * k; r++) A.set(r, q, c[r]!);
  });
  return { A, k };
}

/**
 * ½‖vec(Y) − A β*‖² with β* = V_r Σ_r⁻¹ U_rᵀ vec(Y), the truncated-SVD least-squares solution from
 * ml-matrix. Singular values below 1e-6·σ_max are dropped: central differences carry errors of
 * order 1e-9, so structurally zero singular values of a finite-difference Jacobian show up near
 * 1e-9 and must not be inverted (a plain solve would fit noise and under-estimate the residual).
 */
function lsResidual(A: Matrix, Y: Float64Array, n: number, k: number): number {
  const y = new Matrix(n * k, 1);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) y.set(j * n + i, 0, Y[i * k + j]!);
  const svd = new SingularValueDecomposition(A, { autoTranspose: true });
  const s = svd.diagonal;
  const U = svd.leftSingularVectors;
  const V = svd.rightSingularVectors;
  const smax = Math.max(...s);
  const beta = new Matrix(A.columns, 1);
  for (let q = 0; q < s.length; q++) {
    if (s[q]! <= 1e-6 * smax) continue;
    let c = 0;
    for (let i = 0; i < A.rows; i++) c += U.get(i, q) * y.get(i, 0);
    for (let p = 0; p < A.columns; p++) beta.set(p, 0, beta.get(p, 0) + (V.get(p, q) * c) / s[q]!);
  }
  const r = Matrix.sub(y, A.mmul(beta));
  return 0.5 * r.norm('frobenius') ** 2;
}

const nets: { name: string; spec: ModelSpec; n: number }[] = [
  {
    name: 'relu 2 hidden, bias, 2 outputs',
    spec: { kind: 'mlp', layers: [3, 4, 3, 2], activation: 'relu', bias: true },
    n: 20,
  },
  {
    name: 'leaky relu 2 hidden',
    spec: { kind: 'mlp', layers: [2, 3, 3, 1], activation: { name: 'leakyRelu', slope: 0.2 } },
    n: 25,
  },
  {
    name: 'abs, scaled, bias',
    spec: { kind: 'mlp', layers: [2, 3, 2, 1], activation: 'abs', bias: true, scaled: true },
    n: 18,
  },
  { name: 'shallow relu', spec: { kind: 'shallow', inputDim: 3, width: 4, activation: 'relu' }, n: 22 },
];

describe('kawaguchiLossDense', () => {
  it.each(nets)(
    'equals the least-squares residual on a finite-difference Jacobian ($name)',
    ({ spec, n }) => {
      const params = fanInParams(spec, 7);
      const d = 'layers' in spec ? spec.layers[0]! : spec.inputDim;
      const X = gaussian(1, n * d);
      const k = 'layers' in spec ? spec.layers[spec.layers.length - 1]! : 1;
      const Y = gaussian(2, n * k);
      const { A } = fdJacobian(spec, params, X, n);
      const expected = lsResidual(A, Y, n, k);
      const got = kawaguchiLossDense(spec, params, X, Y, n);
      expect(got.halfConvention).toBe(true);
      expect(got.cutoff.criterion).toBe('numericalRecipes');
      expect(expected).toBeGreaterThan(0.1);
      expect(Math.abs(got.J - expected) / expected).toBeLessThan(1e-7);
      // Numerical rank equals the rank of the FD Jacobian (singular values well separated from 0).
      const sv = svdValues(A.to1DArray(), A.rows, A.columns);
      expect(got.rank).toBe(sv.filter((s) => s > 1e-6 * sv[0]!).length);
      const appC = kawaguchiLossDense(spec, params, X, Y, n, { half: false, cutoff: 'golubVanLoan' });
      expect(appC.halfConvention).toBe(false);
      expect(appC.J).toBeCloseTo(2 * got.J, 10);
    },
  );

  it('all three App. C cutoffs agree on a generic net; a wide net (params ≥ samples) gives J = 0', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [3, 8, 1], activation: 'leakyRelu', bias: true };
    const params = fanInParams(spec, 3);
    const X = gaussian(4, 10 * 3);
    const Y = gaussian(5, 10);
    const values = CUTOFF_CRITERIA.map((c) => kawaguchiLossDense(spec, params, X, Y, 10, { cutoff: c }));
    for (const v of values) {
      expect(v.rank).toBe(10);
      expect(v.J).toBeLessThan(1e-20);
    }
    expect(values[0]!.cutoff.value).not.toBe(values[2]!.cutoff.value);
  });

  it('detects rank deficiency: duplicated hidden units add no directions', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [2, 4, 1], activation: 'relu' };
    const params = fanInParams(spec, 11);
    // Units 2 and 3 copy unit 0 and 1 (same incoming weights): their D blocks are multiples.
    const W1 = params.W1!;
    W1.set(W1.slice(0, 4), 4);
    const X = gaussian(12, 30 * 2);
    const Y = gaussian(13, 30);
    const r = kawaguchiLossDense(spec, params, X, Y, 30);
    const { A } = fdJacobian(spec, params, X, 30);
    expect(r.rank).toBeLessThan(12);
    expect(Math.abs(r.J - lsResidual(A, Y, 30, 1)) / r.J).toBeLessThan(1e-7);
  });

  it('rejects smooth activations, paired nets and bad options', () => {
    const X = [1, 2];
    expect(() =>
      kawaguchiLossDense({ kind: 'mlp', layers: [2, 2, 1], activation: 'tanh' }, {}, X, [1], 1),
    ).toThrow(/piecewise linear/);
    expect(() =>
      kawaguchiLossDense({ kind: 'paired', inputDim: 2, width: 2, activation: 'relu' }, {}, X, [1], 1),
    ).toThrow(/spec.kind/);
    const spec: ModelSpec = { kind: 'mlp', layers: [2, 2, 1], activation: 'relu' };
    const p = fanInParams(spec, 1);
    expect(() => kawaguchiLossDense(spec, p, X, [1, 2], 1)).toThrow(/Y has 2/);
    expect(() => kawaguchiLossDense(spec, p, X, [1], 1, { cutoff: 'x' as never })).toThrow(/options.cutoff/);
    expect(() => kawaguchiLossMatrixFree(spec, p, X, [1], 1, { tolerance: -1 })).toThrow(/options.tolerance/);
  });
});

describe('kawaguchiLossMatrixFree', () => {
  /** A fan-in initialised net, Gaussian inputs and targets, and the dense J to compare with. */
  function problem(spec: ModelSpec, n: number) {
    const params = fanInParams(spec, 21);
    const d = 'layers' in spec ? spec.layers[0]! : spec.inputDim;
    const k = 'layers' in spec ? spec.layers[spec.layers.length - 1]! : 1;
    const X = gaussian(22, n * d);
    const Y = gaussian(23, n * k);
    return { params, X, Y, dense: kawaguchiLossDense(spec, params, X, Y, n) };
  }

  it.each(nets)('agrees with the dense value to 1e-6 relative ($name)', ({ spec, n }) => {
    const { params, X, Y, dense } = problem(spec, n);
    for (const reorthogonalize of [true, false]) {
      const free = kawaguchiLossMatrixFree(spec, params, X, Y, n, { reorthogonalize });
      expect(free.converged).toBe(true);
      expect(free.J).toBe(free.upperBound);
      expect(Math.abs(free.J! - dense.J) / dense.J).toBeLessThan(1e-6);
    }
  });

  it('stopped by its iteration cap, it gives J = null and an upper bound, not the bound as J', () => {
    const { spec, n } = nets[nets.length - 1]!;
    const { params, X, Y, dense } = problem(spec, n);
    const capped = kawaguchiLossMatrixFree(spec, params, X, Y, n, { maxIterations: 2 });
    expect(capped.converged).toBe(false);
    expect(capped.J).toBeNull();
    expect(capped.upperBound).toBeGreaterThan(dense.J * (1 + 1e-6));
  });
});

describe('Theorem 1: L(θ) = J(θ) at a differentiable local minimum', () => {
  it('holds for a leaky-relu net trained by full-batch GD to a tiny gradient', () => {
    const spec: ModelSpec = {
      kind: 'mlp',
      layers: [2, 3, 1],
      activation: { name: 'leakyRelu', slope: 0.1 },
      bias: true,
    };
    const n = 40;
    // Teacher-student setup: labels from a teacher net plus noise (so L > 0 at the minimum), inputs
    // kept at distance ≥ 0.3 from the teacher's hyperplanes, and GD started at the teacher. The
    // local minimum GD reaches is then a differentiable one (no sample on a kink; checked below):
    // from random starts, tiny leaky-relu nets often converge to kinks, where the theorem is silent.
    const teacher = fanInParams(spec, 35);
    const cand = gaussian(66, 4000 * 2);
    const X = new Float64Array(n * 2);
    let got = 0;
    for (let c = 0; c < 4000 && got < n; c++) {
      let ok = true;
      for (let k = 0; k < 3; k++) {
        const z =
          teacher.W1![k * 2]! * cand[2 * c]! + teacher.W1![k * 2 + 1]! * cand[2 * c + 1]! + teacher.b1![k]!;
        if (Math.abs(z) < 0.3) ok = false;
      }
      if (ok) {
        X[2 * got] = cand[2 * c]!;
        X[2 * got + 1] = cand[2 * c + 1]!;
        got++;
      }
    }
    expect(got).toBe(n);
    const noise = gaussian(1035, n, 0.1);
    const Y = forward64(spec, teacher, X, n).map((v, i) => v + noise[i]!);
    const params: P = {};
    for (const k of Object.keys(teacher)) params[k] = Float64Array.from(teacher[k]!);
    const names = Object.keys(params);
    // Full-batch gradient descent (float64, lossAndGrad64) with Barzilai–Borwein step sizes and a
    // backtracking safeguard (halve the step while the loss increases beyond float64 rounding).
    let { loss, grads } = lossAndGrad64(spec, params, X, Y, n);
    let prevG: Float64Array | null = null;
    let prevX: Float64Array | null = null;
    const flat = (r: Record<string, Float64Array>) =>
      Float64Array.from(names.flatMap((k) => Array.from(r[k]!)));
    let gnorm = Number.POSITIVE_INFINITY;
    for (let it = 0; it < 5000; it++) {
      const g = flat(grads);
      const x = flat(params);
      gnorm = Math.hypot(...g);
      if (gnorm < 1e-11) break;
      let step = 0.05;
      if (prevG && prevX) {
        let ss = 0;
        let sy = 0;
        for (let i = 0; i < g.length; i++) {
          const s = x[i]! - prevX[i]!;
          ss += s * s;
          sy += s * (g[i]! - prevG[i]!);
        }
        if (sy > 0) step = Math.min(ss / sy, 10);
      }
      prevG = g;
      prevX = x;
      for (;;) {
        const trial: P = {};
        for (const k of names) trial[k] = params[k]!.map((v, i) => v - step * grads[k]![i]!);
        const r = lossAndGrad64(spec, trial, X, Y, n);
        if (r.loss <= loss * (1 + 1e-13) || step < 1e-14) {
          Object.assign(params, trial);
          loss = r.loss;
          grads = r.grads;
          break;
        }
        step /= 2;
      }
    }
    expect(gnorm).toBeLessThan(1e-11);
    // Differentiable point: every pre-activation is away from the kink at 0.
    let margin = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++)
      for (let k = 0; k < 3; k++) {
        const z = params.W1![k * 2]! * X[2 * i]! + params.W1![k * 2 + 1]! * X[2 * i + 1]! + params.b1![k]!;
        margin = Math.min(margin, Math.abs(z));
      }
    expect(margin).toBeGreaterThan(1e-3);
    const J = kawaguchiLossDense(spec, params, X, Y, n);
    // Why the tolerance: Ŷ lies in the range of the Jacobian A (positive homogeneity), so with
    // r = Ŷ − y and P the projection on range(A): L − J = ½‖P r‖² ≥ 0 exactly, and Aᵀ P r = Aᵀ r = ∇L
    // gives ‖P r‖ ≤ ‖∇L‖/σ_min⁺(A). Hence 0 ≤ L − J ≤ ½‖∇L‖²/σ_min⁺(A)² — second order in the
    // gradient norm; we add 1e-12·L for float64 rounding of the two sums of squares.
    const slack = (0.5 * gnorm ** 2) / J.sigmaMinKept ** 2 + 1e-12 * loss;
    expect(J.J).toBeGreaterThan(0.05);
    expect(loss - J.J).toBeGreaterThan(-1e-12 * loss);
    expect(loss - J.J).toBeLessThan(slack);
    // The same net before training (random init) is far from critical and L > J there.
    const init = fanInParams(spec, 77);
    const L0 = lossAndGrad64(spec, init, X, Y, n).loss;
    expect(L0 - kawaguchiLossDense(spec, init, X, Y, n).J).toBeGreaterThan(1e-3);
    // The Theorem 2 bound with S = [H] spans the same columns as Theorem 1, so it equals J(θ) and
    // bounds L; S = [] can only be larger.
    const b = kawaguchiBound(spec, params, X, Y, n);
    expect(Math.abs(b.bound - J.J) / J.J).toBeLessThan(1e-9);
    expect(loss).toBeLessThanOrEqual(b.bound + slack);
    expect(kawaguchiBound(spec, params, X, Y, n, { S: [] }).bound).toBeGreaterThanOrEqual(J.J * (1 - 1e-9));
  });
});

describe('kawaguchiShallowSum (Prop. 1 / eq. 4.2 sum form)', () => {
  it.each(nets)('sum form equals the residual form and every term is ≥ 0 ($name)', ({ spec, n }) => {
    const params = fanInParams(spec, 41);
    const d = 'layers' in spec ? spec.layers[0]! : spec.inputDim;
    const k = 'layers' in spec ? spec.layers[spec.layers.length - 1]! : 1;
    const X = gaussian(42, n * d);
    const Y = gaussian(43, n * k);
    const dense = kawaguchiLossDense(spec, params, X, Y, n);
    const sum = kawaguchiShallowSum(spec, params, X, Y, n);
    expect(sum.rank).toBe(dense.rank);
    expect(Math.abs(sum.J - dense.J) / dense.J).toBeLessThan(1e-9);
    for (const t of sum.terms) expect(t.value).toBeGreaterThanOrEqual(0);
    const hidden = 'layers' in spec ? spec.layers.slice(1, -1).reduce((a, b) => a + b, 0) : spec.width;
    expect(sum.terms.length).toBe(hidden + 1);
  });
});

describe('kawaguchiBound (Thm. 2 / Cor. 1)', () => {
  const spec: ModelSpec = { kind: 'mlp', layers: [3, 4, 4, 1], activation: 'relu', bias: true };

  /** Post-activations Φ⁽¹⁾, Φ⁽²⁾ of the [3, 4, 4, 1] relu net, computed by hand (n×4 each). */
  function hidden(params: P, X: Float64Array, n: number): Matrix[] {
    let prev = new Matrix(n, 3);
    for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) prev.set(i, j, X[i * 3 + j]!);
    const out: Matrix[] = [];
    for (const l of [1, 2]) {
      const W = params[`W${l}`]!;
      const b = params[`b${l}`]!;
      const din = prev.columns;
      const next = new Matrix(n, 4);
      for (let i = 0; i < n; i++)
        for (let k = 0; k < 4; k++) {
          let z = b[k]!;
          for (let j = 0; j < din; j++) z += W[k * din + j]! * prev.get(i, j);
          next.set(i, k, Math.max(z, 0));
        }
      out.push(next);
      prev = next;
    }
    return out;
  }

  it('both terms equal an independent computation (finite-difference D blocks, ml-matrix SVD) for S = [0, 2]', () => {
    const n = 80;
    const params = fanInParams(spec, 51);
    const X = gaussian(52, n * 3);
    const Y = gaussian(53, n);
    const b = kawaguchiBound(spec, params, X, Y, n, { S: [0, 2] });
    // Φ⁽ˢ⁾ = [X, Φ⁽²⁾]; D⁽ˡ⁾ for l ≤ H = 2: ∂Ŷ/∂(W1, b1, W2, b2) by central differences
    const Xm = new Matrix(n, 3);
    for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) Xm.set(i, j, X[i * 3 + j]!);
    const basis = new Matrix(n, 7);
    basis.setSubMatrix(Xm, 0, 0);
    basis.setSubMatrix(hidden(params, X, n)[1]!, 0, 3);
    const { A } = fdJacobian(spec, params, X, n);
    expect(Object.keys(paramShapes(spec))).toEqual(['W1', 'b1', 'W2', 'b2', 'W3', 'b3']);
    // fdJacobian's columns follow paramShapes order: W1 (12), b1 (4), W2 (16), b2 (4), W3, b3
    const D = A.subMatrix(0, n - 1, 0, 12 + 4 + 16 + 4 - 1);
    const joint = new Matrix(n, 7 + D.columns);
    joint.setSubMatrix(basis, 0, 0);
    joint.setSubMatrix(D, 0, 7);
    const wantBasis = lsResidual(basis, Y, n, 1);
    const wantBound = lsResidual(joint, Y, n, 1);
    expect(Math.abs(b.basisRegression - wantBasis) / wantBasis).toBeLessThan(1e-8);
    expect(Math.abs(b.bound - wantBound) / wantBound).toBeLessThan(1e-6);
    expect(b.improvement).toBe(b.basisRegression - b.bound);
    // span(Φ) ⊆ span([Φ, D]): a property of the two computed residuals (no clamp makes it true)
    expect(b.bound).toBeLessThanOrEqual(b.basisRegression * (1 + 1e-12));
    const lin = kawaguchiBound(spec, params, X, Y, n, { S: [0] });
    expect(Math.abs(lin.basisRegression - lsResidual(Xm, Y, n, 1)) / lin.basisRegression).toBeLessThan(1e-10);
    expect(b.basisRegression).toBeLessThanOrEqual(lin.basisRegression * (1 + 1e-12));
    expect(() => kawaguchiBound(spec, params, X, Y, n, { S: [3] })).toThrow(/options.S\[0\]/);
  });

  it("reports the terms as computed: a rank cutoff that drops Φ's tiny columns shows as improvement < 0", () => {
    // X at scale 1e-17 with Y = X·β·1e17 in its span: basis regression on X alone keeps X's columns
    // (its own σ_max is tiny too) and fits Y exactly, but next to O(1) bias columns X is below
    // the cutoff ε·σ_max of the joint matrix, so the joint residual is Y's distance from the
    // constant direction. The old clamp min(bound, basisRegression) reported 0 improvement.
    const n = 30;
    const params = fanInParams(spec, 51);
    const X = gaussian(52, n * 3).map((x) => x * 1e-17);
    const beta = [0.7, -1.2, 0.4];
    const Y = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) Y[i] += beta[j]! * X[i * 3 + j]! * 1e17;
    const b = kawaguchiBound(spec, params, X, Y, n, { S: [0] });
    const mean = Y.reduce((s, v) => s + v, 0) / n;
    const centred = 0.5 * Y.reduce((s, v) => s + (v - mean) ** 2, 0);
    expect(b.basisRegression).toBeLessThan(1e-20 * centred);
    expect(Math.abs(b.bound - centred) / centred).toBeLessThan(1e-6);
    expect(b.improvement).toBeLessThan(0);
  });
});

describe('whiteNoisePrediction (Prop. 2)', () => {
  it('matches J(θ) of a random relu net on white-noise data within chi-square fluctuations', () => {
    // Paper's symbols: m samples, d_x inputs, d hidden units. For θ independent of Y, the columns
    // of [D⁽¹⁾, Φ⁽¹⁾] span a generic d_x·d-dimensional subspace (Φ⁽¹⁾'s columns lie in the span of
    // the D blocks for relu), so 2J = ‖(I − P)Y‖² ~ χ²(m − d_x d): mean m − d_x d, sd √(2(m − d_x d)).
    const m = 400;
    const dx = 3;
    const d = 20;
    const spec: ModelSpec = { kind: 'shallow', inputDim: dx, width: d, activation: 'relu' };
    const X = gaussian(61, m * dx);
    const Y = gaussian(62, m);
    const yNorm2 = Y.reduce((s, v) => s + v * v, 0);
    const params = fanInParams(spec, 63);
    const J = kawaguchiLossDense(spec, params, X, Y, m);
    // Two nearly parallel random hyperplanes can give activation patterns that differ on one or two
    // samples, which removes a couple of directions; the rank is checked against ml-matrix below.
    expect(J.rank).toBeLessThanOrEqual(dx * d);
    expect(J.rank).toBeGreaterThan(dx * d - 5);
    const pred = whiteNoisePrediction({ m, dx, d, yNorm2, t: 3 });
    const sd = Math.sqrt(2 * (m - dx * d)) / 2;
    expect(Math.abs(J.J - pred.prediction)).toBeLessThan(5 * sd + (dx * d - J.rank));
    expect(pred.prediction).toBeCloseTo(((m - 60) / (2 * m)) * yNorm2, 12);
    expect(pred.bound).toBeCloseTo((1 + 6 * Math.sqrt(3 / m)) * pred.prediction, 12);
    expect(whiteNoisePrediction({ m: 10, dx: 3, d: 4, yNorm2: 5 })).toMatchObject({
      prediction: 0,
      bound: null,
    });
    expect(() => whiteNoisePrediction({ m: 10, dx: 0, d: 4, yNorm2: 5 })).toThrow(/dx must/);
  });
});
