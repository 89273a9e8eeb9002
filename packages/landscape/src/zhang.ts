import { type Activation, type ModelSpec, activation } from '@narrownet/models';
import { SingularValueDecomposition, Matrix } from 'ml-matrix';
import { gramRows, matmulNT, symEigenvalues } from './linalg.js';
import { type ParamsLike, checkX, toParams64 } from './util.js';

type OneHidden = Extract<ModelSpec, { kind: 'shallow' | 'paired' }>;

function oneHidden(spec: ModelSpec, where: string): OneHidden {
  if (spec === null || typeof spec !== 'object' || (spec.kind !== 'shallow' && spec.kind !== 'paired')) {
    throw new RangeError(
      `${where}: spec.kind must be 'shallow' or 'paired' (Zhang et al. one-hidden-layer nets), ` +
        `got ${JSON.stringify((spec as { kind?: unknown } | null)?.kind)}`,
    );
  }
  return spec;
}

interface Prepared {
  n: number;
  d: number;
  m: number;
  X: Float64Array;
  W: Float64Array;
  /** Effective outer weight of every hidden unit (paired: v_j for j < m/2, −v_{j−m/2} after). */
  vEff: Float64Array;
  /** Pre-activations Z = X Wᵀ, [n, m]. */
  Z: Float64Array;
  /** The net's activation. */
  act: Activation;
}

function prepare(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  n: number,
  where: string,
): Prepared {
  const s = oneHidden(spec, where);
  const X64 = checkX(s, X, n, where);
  const p = toParams64(s, params, where);
  const m = s.width;
  const d = s.inputDim;
  const v = p.v!;
  const vEff = new Float64Array(m);
  if (s.kind === 'shallow') vEff.set(v);
  else
    for (let j = 0; j < m / 2; j++) {
      vEff[j] = v[j]!;
      vEff[j + m / 2] = -v[j]!;
    }
  const W = p.W!;
  return { n, d, m, X: X64, W, vEff, Z: matmulNT(X64, W, n, d, m), act: activation(s.activation) };
}

/**
 * Zhang et al. eq. (3): the Jacobian of the outputs with respect to the hidden weights,
 * J ∈ R^{n×md} with row i = [v_1 σ'(w_1ᵀx_i) x_iᵀ, …, v_m σ'(w_mᵀx_i) x_iᵀ] (column index j·d + t
 * is ∂f(x_i)/∂W[j, t]). For the paired net (eq. 6) the effective outer weight of unit j + m/2 is
 * −v_j. Forms the dense matrix (n·m·d float64 entries): meant for small problems and tests;
 * use {@link jacobianLambdaMin} for its smallest singular value.
 */
export function hiddenJacobian(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  n: number,
): { rows: number; cols: number; data: Float64Array } {
  const { d, m, X: Xs, vEff, Z, act } = prepare(spec, params, X, n, 'hiddenJacobian');
  const cols = m * d;
  const J = new Float64Array(n * cols);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const c = vEff[j]! * act.df(Z[i * m + j]!);
      const o = i * cols + j * d;
      for (let t = 0; t < d; t++) J[o + t] = c * Xs[i * d + t]!;
    }
  }
  return { rows: n, cols, data: J };
}

/**
 * The Gram matrix J Jᵀ = (X Xᵀ) ∘ (S diag(v_eff²) Sᵀ), S = σ'(X Wᵀ) ∈ R^{n×m}, in O(n²(m + d))
 * without forming J (row-major n×n).
 */
export function jacobianGram(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  n: number,
): Float64Array {
  const { d, m, X: Xs, vEff, Z, act } = prepare(spec, params, X, n, 'jacobianGram');
  const B = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) B[i * m + j] = vEff[j]! * act.df(Z[i * m + j]!);
  const G = gramRows(B, n, m);
  const K = gramRows(Xs, n, d);
  for (let i = 0; i < G.length; i++) G[i] = G[i]! * K[i]!;
  return G;
}

/**
 * Smallest singular value of Zhang et al.'s Jacobian J(w; v) (eq. 3; Fig. 4c/d plot it) through
 * the Gram factorisation {@link jacobianGram}: O(n²(m + d)) to build J Jᵀ, then a Householder
 * tridiagonalisation and Sturm bisection of the n×n matrix; J itself is never formed.
 *
 * - n ≤ m·d: returns √λ_min(J Jᵀ) = σ_n(J) (0 when J is rank deficient).
 * - n > m·d: J Jᵀ is singular by construction (λ_min(J Jᵀ) = 0); the value returned is the
 *   smallest of the m·d singular values of J, √λ_{n−md+1}(J Jᵀ) (ascending index), i.e. the
 *   smallest singular value of Jᵀ J. Zhang et al.'s regime needs n ≤ md (m ≥ n/d).
 *
 * Accuracy: absolute error about ε·σ_max(J)² in λ, so relative accuracy of σ_min degrades like
 * ε·κ(J)²; values below about √ε·σ_max(J) are at noise level. Tiny negative eigenvalues
 * from rounding are clamped to 0.
 */
export function jacobianLambdaMin(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  n: number,
): number {
  const s = oneHidden(spec, 'jacobianLambdaMin');
  const G = jacobianGram(s, params, X, n);
  const md = s.width * s.inputDim;
  const k = n <= md ? 0 : n - md;
  const [lam] = symEigenvalues(G, n, [k]);
  return Math.sqrt(Math.max(lam!, 0));
}

/** Singular values (descending) and numerical rank of a matrix. */
export interface SpectrumResult {
  /** Singular values, descending. */
  singularValues: number[];
  /** Number of singular values above `tolerance`. */
  rank: number;
  /** The rank tolerance used: max(rows, cols)·ε·σ_max unless given. */
  tolerance: number;
}

/** Dense float64 SVD singular values and numerical rank (internal helper). */
export function spectrum(A: Float64Array, rows: number, cols: number, tolerance?: number): SpectrumResult {
  const M = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) M.set(i, j, A[i * cols + j]!);
  // ml-matrix's SVD expects rows ≥ cols; the singular values of Aᵀ are the same.
  const svd = new SingularValueDecomposition(rows >= cols ? M : M.transpose(), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  });
  const sv = Array.from(svd.diagonal)
    .map((x) => Math.abs(x))
    .sort((a, b) => b - a);
  const tol = tolerance ?? Math.max(rows, cols) * Number.EPSILON * (sv[0] ?? 0);
  return { singularValues: sv, rank: sv.filter((s) => s > tol).length, tolerance: tol };
}

/**
 * Zhang et al. eq. (4): the feature matrix Φ(w) = [σ(w_jᵀx_i)] ∈ R^{n×m} (row-major), its
 * singular values (descending) and numerical rank (tolerance max(n, m)·ε·σ_max by default, as
 * in NumPy's matrix_rank). For the paired net Φ holds all m hidden units (both halves).
 * Theorem 1's remark: with m < n, range Φ(w) ≠ R^n, so the hidden weights must move.
 */
export function featureMatrixSpectrum(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  n: number,
  options: { tolerance?: number } = {},
): SpectrumResult & { Phi: Float64Array } {
  const { m, Z, act } = prepare(spec, params, X, n, 'featureMatrixSpectrum');
  const Phi = Z.map(act.f);
  const tol = options.tolerance;
  if (tol !== undefined && !(tol >= 0 && Number.isFinite(tol))) {
    throw new RangeError(`featureMatrixSpectrum: options.tolerance must be a finite number ≥ 0, got ${tol}`);
  }
  return { Phi, ...spectrum(Phi, n, m, tol) };
}

/** Result of {@link zhangWidthCondition}. */
export interface ZhangWidthResult {
  /** Smallest even width with m ≥ 2n/d: 2·⌈n/d⌉ (⌈2n/d⌉ rounded up to even; the paired net needs even m). */
  required: number;
  /** Whether the given m meets `required`. */
  satisfied: boolean;
  /** One plain-language sentence. */
  verdict: string;
}

/**
 * Zhang et al.'s width condition m ≥ 2n/d (Theorem 1: a zero-loss global minimum with a nice
 * neighbourhood exists w.p. 1 for smooth activations). The required width is ⌈2n/d⌉ rounded up
 * to the next even number (the paired net of eq. 6 uses even m).
 */
export function zhangWidthCondition(args: { n: number; d: number; m: number }): ZhangWidthResult {
  if (args === null || typeof args !== 'object')
    throw new TypeError('zhangWidthCondition: expected { n, d, m }');
  for (const key of ['n', 'd', 'm'] as const) {
    const x = args[key];
    if (typeof x !== 'number' || !Number.isInteger(x) || x <= 0) {
      throw new RangeError(
        `zhangWidthCondition: ${key} must be a positive integer, got ${JSON.stringify(x)}`,
      );
    }
  }
  const { n, d, m } = args;
  let required = Math.ceil((2 * n) / d);
  if (required % 2 === 1) required += 1;
  const satisfied = m >= required;
  const verdict = satisfied
    ? `Width m = ${m} meets Zhang et al.'s condition m ≥ 2n/d = ${((2 * n) / d).toFixed(2)} ` +
      `(n = ${n}, d = ${d}; smallest even width ${required}): a zero-loss global minimum exists ` +
      'with probability one for smooth activations.'
    : `Width m = ${m} is below Zhang et al.'s condition m ≥ 2n/d = ${((2 * n) / d).toFixed(2)} ` +
      `(n = ${n}, d = ${d}): use at least ${required} neurons for their expressivity guarantee.`;
  return { required, satisfied, verdict };
}
