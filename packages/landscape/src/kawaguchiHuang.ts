import { type ModelSpec, hiddenOutputs64, outputDim } from '@narrownet/models';
import { gramRows, symEigenvalues } from './linalg.js';
import { spectrum } from './zhang.js';
import { type ParamsLike, checkX, positiveOption, toParams64 } from './util.js';

function lastHidden(spec: ModelSpec, params: ParamsLike, X: ArrayLike<number>, n: number, where: string) {
  if (spec.kind === 'mlp' && spec.layers.length < 3) {
    throw new RangeError(
      `${where}: the MLP needs at least one hidden layer (spec.layers has ${spec.layers.length} entries)`,
    );
  }
  const X64 = checkX(spec, X, n, where);
  const p = toParams64(spec, params, where);
  const hs = hiddenOutputs64(spec, p, X64, n);
  const h = hs[hs.length - 1]!;
  const mH = h.length / n;
  // z_i = [x_i⁽ᴴ⁾ᵀ, 1]ᵀ, rows of Z [n, m_H + 1].
  const Z = new Float64Array(n * (mH + 1));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < mH; j++) Z[i * (mH + 1) + j] = h[i * mH + j]!;
    Z[i * (mH + 1) + mH] = 1;
  }
  return { Z, mH, p };
}

/** Result of {@link featureRankM}. */
export interface FeatureRankResult {
  /** Numerical rank of M(w̃, b̃) = [x_i⁽ᴴ⁾ᵀ, 1]_i ∈ R^{n×(m_H+1)}. */
  rank: number;
  /** Whether rank = n (the condition of Kawaguchi–Huang's Lemma 2 / proof of Theorem 1). */
  fullRowRank: boolean;
  /** Singular values, descending. */
  singularValues: number[];
  /**
   * The tolerance used unless given: max(n, m_H + 1)·ε·σ_max (`svd`), σ_max·√(max(n, m_H + 1)·ε)
   * (`gram`: the eigenvalues of M Mᵀ carry absolute errors ≈ ε·σ_max², so smaller σ are noise).
   */
  tolerance: number;
  /** How the singular values were computed. */
  method: 'svd' | 'gram';
}

/**
 * Kawaguchi & Huang (2019), proof of Theorem 1: the matrix M(w̃, b̃) ∈ R^{n×(m_H+1)} with
 * M_ij = σ(w̃_jᵀx̃_i + b̃_j)/√m_H and a last column of ones — the rows are z_i = [x_i⁽ᴴ⁾ᵀ, 1]
 * (the last hidden layer's outputs of the 1/√m_l-scaled net, eq. 2). For a net built without
 * `scaled`, the model's own last hidden outputs are used; rescaling the first m_H columns by a
 * common factor does not change the rank. Numerical rank: singular values above
 * `tolerance` (default max(n, m_H + 1)·ε·σ_max, NumPy's matrix_rank convention). When rank = n,
 * GD on the last layer alone reaches the global minimum of a convex loss (Theorem 1's proof).
 * `method`: `svd` (default) takes the dense SVD of M; `gram` the eigenvalues of the n × n Gram
 * matrix M Mᵀ (σ_i = √λ_i), far cheaper when m_H + 1 ≫ n (Fig. 2's m_H = 4n) but blind to singular
 * values below σ_max·√ε (its default tolerance says so).
 */
export function featureRankM(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  n: number,
  options: { tolerance?: number; method?: 'svd' | 'gram' } = {},
): FeatureRankResult {
  const where = 'featureRankM';
  const method = options.method ?? 'svd';
  if (method !== 'svd' && method !== 'gram')
    throw new RangeError(`${where}: options.method must be 'svd' or 'gram', got ${JSON.stringify(method)}`);
  const { Z, mH } = lastHidden(spec, params, X, n, where);
  const tol = options.tolerance;
  if (tol !== undefined && !(tol >= 0 && Number.isFinite(tol))) {
    throw new RangeError(`${where}: options.tolerance must be a finite number ≥ 0, got ${tol}`);
  }
  if (method === 'svd') {
    const s = spectrum(Z, n, mH + 1, tol);
    return {
      rank: s.rank,
      fullRowRank: s.rank === n,
      singularValues: s.singularValues,
      tolerance: s.tolerance,
      method,
    };
  }
  const G = gramRows(Z, n, mH + 1);
  const lambdas = symEigenvalues(
    G,
    n,
    Array.from({ length: n }, (_, i) => i),
  );
  const singularValues = lambdas.map((l) => Math.sqrt(Math.max(l, 0))).sort((a, b) => b - a);
  const smax = singularValues[0] ?? 0;
  const tolerance = tol ?? smax * Math.sqrt(Math.max(n, mH + 1) * Number.EPSILON);
  const rank = singularValues.filter((x) => x > tolerance).length;
  return { rank, fullRowRank: rank === n, singularValues, tolerance, method };
}

/** Result of {@link lastLayerLipschitz}. */
export interface LastLayerLipschitzResult {
  /** ζ: Lipschitz constant of ∇ℓ_i (2 for ℓ(q, y) = ‖q − y‖², 1 for ½‖q − y‖²). */
  zeta: number;
  /** Lemma 3's bound on the Lipschitz constant of ∇J̄: (ζ/n)·Σ_i ‖z_i‖². */
  lipschitzBound: number;
  /** c_z := (1/n)·Σ_i ‖z_i‖², so that Lemma 3's constant is c_z·ζ. */
  cz: number;
  /** (1/n)·Σ_i ‖z_i‖ (the quantity the proof's text bounds by c_z; ≤ √cz by Cauchy–Schwarz). */
  meanNorm: number;
  /** The step size 1/(c_z·ζ) of the last-layer GD in Theorem 1's proof (eq. 20). */
  stepSize: number;
}

/**
 * Kawaguchi & Huang (2019) Lemma 3: with z_i = [x_i⁽ᴴ⁾ᵀ, 1]ᵀ and J̄(w) = (1/n)·Σ_i ℓ(W̄ z_i, y_i)
 * as a function of the last layer W̄ = [W⁽ᴴ⁺¹⁾, b⁽ᴴ⁺¹⁾] only, ∇J̄ is Lipschitz with constant at
 * most (ζ/n)·Σ‖z_i‖², and GD with η = 1/(c_z ζ) decreases J̄ monotonically (eq. 20).
 * The proof states the condition as (1/n)Σ‖z_i‖ ≤ c_z but then uses c_z·ζ as Lemma 3's constant,
 * which needs (1/n)Σ‖z_i‖² ≤ c_z; this calculator takes c_z = (1/n)Σ‖z_i‖² (the value that makes
 * the step provably safe) and also reports (1/n)Σ‖z_i‖. `zeta` defaults to 2 (the paper's value
 * for the squared loss ‖q − y‖² of a mean objective J = (1/n)Σℓ).
 */
export function lastLayerLipschitz(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  n: number,
  options: { zeta?: number } = {},
): LastLayerLipschitzResult {
  const where = 'lastLayerLipschitz';
  const zeta = positiveOption(options.zeta, 2, 'options.zeta', where);
  const { Z, mH } = lastHidden(spec, params, X, n, where);
  let sum2 = 0;
  let sum1 = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j <= mH; j++) s += Z[i * (mH + 1) + j]! ** 2;
    sum2 += s;
    sum1 += Math.sqrt(s);
  }
  const cz = sum2 / n;
  return { zeta, lipschitzBound: zeta * cz, cz, meanNorm: sum1 / n, stepSize: 1 / (cz * zeta) };
}

/**
 * Kawaguchi & Huang (2019) Proposition 1 / Fig. 2d: the weight norm C·‖W̄ᵀ‖₂,∞ of the last layer
 * W̄ = [W⁽ᴴ⁺¹⁾, b⁽ᴴ⁺¹⁾] ∈ R^{m_y×(m_H+1)}, where ‖W̄ᵀ‖₂,∞ is the largest Euclidean norm of a column
 * of W̄ᵀ, i.e. of a row of W̄ (one output's weights on z_i; this is the quantity the Rademacher
 * bound of eq. 36 uses). C is the normalisation constant (default 1). Without biases the ones
 * column of W̄ is zero. Shallow nets: W̄ = vᵀ.
 */
export function weightNorm(spec: ModelSpec, params: ParamsLike, options: { C?: number } = {}): number {
  const where = 'weightNorm';
  const C = positiveOption(options.C, 1, 'options.C', where);
  if (spec?.kind === 'paired' || spec?.kind === 'pairedMlp')
    throw new RangeError(`${where}: spec.kind '${spec.kind}' has tied outer weights; use 'shallow' or 'mlp'`);
  const p = toParams64(spec, params, where);
  let W: Float64Array;
  let b: Float64Array | null = null;
  let my: number;
  if (spec.kind === 'mlp') {
    const L = spec.layers.length - 1;
    W = p[`W${L}`]!;
    if (spec.bias) b = p[`b${L}`]!;
    my = outputDim(spec);
  } else {
    W = p.v!;
    my = 1;
  }
  const cols = W.length / my;
  let best = 0;
  for (let j = 0; j < my; j++) {
    let s = b ? b[j]! ** 2 : 0;
    for (let k = 0; k < cols; k++) s += W[j * cols + k]! ** 2;
    best = Math.max(best, Math.sqrt(s));
  }
  return C * best;
}

/** Result of {@link kawaguchiHuangSizeBounds}. */
export interface SizeBoundsResult {
  /**
   * Theorem 1 (H ≥ 2): d ≥ c((n + m_x H² + H⁵ log(Hn²/δ)) log(Hn²/δ) + n m_y) suffices;
   * Remark 1 (H = 1): d ≥ c·n(m_x + m_y).
   */
  sufficient: number;
  /** Corollary 1: d < n·m_y parameters can never be enough (any H ≥ 1). */
  necessary: number;
  /** Parameter count d = Σ_l (m_l m_{l+1} + m_{l+1}) of the given layer sizes, when given. */
  d: number | null;
  /** Plain-language verdict. */
  verdict: string;
}

/**
 * Kawaguchi & Huang (2019) parameter-count bounds for probable trainability, with the paper's
 * symbols: n samples, m_x inputs, m_y outputs, H hidden layers, failure probability δ, universal
 * constant c (unknown in the paper; default 1, so `sufficient` is an order of magnitude, not a
 * certified number). log is natural. Optionally pass `layers` [m_x, m_1, …, m_H, m_y] to compare
 * the net's d = Σ(m_l m_{l+1} + m_{l+1}) (eq. 1-2, biases included) with the bounds.
 */
export function kawaguchiHuangSizeBounds(args: {
  n: number;
  mx: number;
  my: number;
  H: number;
  delta: number;
  c?: number;
  layers?: readonly number[];
}): SizeBoundsResult {
  const where = 'kawaguchiHuangSizeBounds';
  if (args === null || typeof args !== 'object')
    throw new TypeError(`${where}: expected { n, mx, my, H, delta }`);
  for (const key of ['n', 'mx', 'my', 'H'] as const) {
    const v = args[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new RangeError(`${where}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  if (!(args.delta > 0 && args.delta < 1))
    throw new RangeError(`${where}: delta must be in (0, 1), got ${args.delta}`);
  const c = positiveOption(args.c, 1, 'c', where);
  const { n, mx, my, H, delta } = args;
  const lg = Math.log((H * n * n) / delta);
  const sufficient = H >= 2 ? c * ((n + mx * H * H + H ** 5 * lg) * lg + n * my) : c * n * (mx + my);
  const necessary = n * my;
  let d: number | null = null;
  if (args.layers !== undefined) {
    const ls = args.layers;
    if (!Array.isArray(ls) || ls.length !== H + 2 || ls[0] !== mx || ls[H + 1] !== my) {
      throw new RangeError(`${where}: layers must be [mx, m_1, …, m_H, my] with H + 2 = ${H + 2} entries`);
    }
    d = 0;
    for (let l = 0; l <= H; l++) d += ls[l]! * ls[l + 1]! + ls[l + 1]!;
  }
  const verdict =
    d === null
      ? `Trainability needs at least n·m_y = ${necessary} parameters (Corollary 1); about ` +
        `${sufficient.toExponential(3)} suffice up to the constant c ` +
        `(Theorem ${H >= 2 ? '1' : '1, Remark 1'}).`
      : d < necessary
        ? `d = ${d} < n·m_y = ${necessary}: too few parameters for the trainability guarantee (Corollary 1).`
        : d >= sufficient
          ? `d = ${d} ≥ ${sufficient.toExponential(3)}: meets Theorem 1's sufficient size (with c = ${c}).`
          : `d = ${d} lies between the necessary n·m_y = ${necessary} and Theorem 1's sufficient ` +
            `${sufficient.toExponential(3)} (c = ${c}): not decided by the bounds.`;
  return { sufficient, necessary, d, verdict };
}
