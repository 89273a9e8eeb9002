import { type ModelSpec, outputDim } from '@narrownet/models';
import { CUTOFF_CRITERIA, type CutoffCriterion, leastSquaresResidual } from './dense.js';
import {
  type Cache,
  type Net,
  forwardCache,
  jvp,
  requirePiecewiseLinear,
  toNet,
  vecColumnMajor,
  vjp,
} from './mlp.js';
import { type ParamsLike, checkMatrix, intOption, positiveOption } from './util.js';

/** Options shared by the Kawaguchi J(θ) computations. */
export interface KawaguchiOptions {
  /**
   * `true` (default): J(θ) = ½‖(I − P)vec(Y)‖², matching L(θ) = ½‖Ŷ − Y‖²_F of eq. (2.1) and
   * Theorem 1 eq. (4.2). `false`: App. C's ‖(I − P)vec(Y)‖² without the ½.
   */
  half?: boolean;
}

/** Options of {@link kawaguchiLossDense}. */
export interface KawaguchiDenseOptions extends KawaguchiOptions {
  /** App. C's singular-value cutoff criterion; default 'numericalRecipes' (the one App. C used). */
  cutoff?: CutoffCriterion;
  /** Refuse problems whose stacked matrix has more than this many entries (default 4e7 ≈ 320 MB). */
  maxEntries?: number;
}

/** Result of {@link kawaguchiLossDense}. */
export interface KawaguchiDenseResult {
  /** J(θ) in the convention named by `halfConvention`. */
  J: number;
  /** Numerical rank of [D, D⁽ᴴ⁺¹⁾] under the cutoff. */
  rank: number;
  /** The criterion and its value. */
  cutoff: { criterion: CutoffCriterion; value: number };
  /** True when J carries the ½ of eq. (2.1)/(4.2); false for App. C's convention. */
  halfConvention: boolean;
  /** Rows (m·d_y) and columns (parameters) of the stacked matrix. */
  rows: number;
  cols: number;
  /** Largest and smallest kept singular values of the stacked matrix. */
  sigmaMax: number;
  sigmaMinKept: number;
}

function checkY(net: Net, Y: ArrayLike<number>, n: number, where: string): Float64Array {
  return checkMatrix(Y, n, net.sizes[net.L]!, 'Y', where);
}

/** Reads options.half (default true), naming `where` on a bad value. */
export function halfOption(opts: KawaguchiOptions | undefined, where: string): boolean {
  const h = opts?.half;
  if (h !== undefined && typeof h !== 'boolean')
    throw new TypeError(`${where}: options.half must be a boolean`);
  return h ?? true;
}

/** A column block of the stacked matrix: layer l (1..H+1) and unit k (D⁽ᴴ⁺¹⁾ is one block, k = 0). */
export interface ColumnBlock {
  layer: number;
  unit: number;
  columns: Float64Array[];
}

/**
 * Builds Theorem 1's blocks: D_k⁽ˡ⁾ = Σ (W⁽ˡ⁺¹⁾_{k,k_{l+1}}⋯W⁽ᴴ⁺¹⁾_{k_H,·})ᵀ ⊗ Λ^{l,k}⋯Λ^{H,k_H} Φ⁽ˡ⁻¹⁾,
 * evaluated by the backward recurrence δ⁽ˡ⁾ = Λ⁽ˡ⁾ ∘ (δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾) (the nested sums over
 * k_{l+1}…k_H are exactly this product), so column (k, p) is ∂vec(Ŷ)/∂W_l[k, p]; with biases the
 * column ∂vec(Ŷ)/∂b_l[k] joins block (l, k). D⁽ᴴ⁺¹⁾ = I_{d_y} ⊗ Φ⁽ᴴ⁾ (plus I_{d_y} ⊗ 1 with bias).
 * Rows are indexed j·m + i (vec of the m×d_y output, column-major).
 */
export function kawaguchiBlocks(net: Net, c: Cache): ColumnBlock[] {
  const n = c.n;
  const L = net.L;
  const dy = net.sizes[L]!;
  const N = n * dy;
  // delta[l-1][(i·dy + j)·m_l + k] = ∂Ŷ_{ij}/∂z⁽ˡ⁾_{ik}
  const delta: Float64Array[] = new Array(L - 1);
  for (let l = L - 1; l >= 1; l--) {
    const ml = net.sizes[l]!;
    const mo = net.sizes[l + 1]!;
    const W = net.W[l]!; // W_{l+1}: [mo, ml]
    const lam = c.lam[l - 1]!;
    const d = new Float64Array(n * dy * ml);
    const up = l === L - 1 ? null : delta[l]!;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < dy; j++) {
        const o = (i * dy + j) * ml;
        for (let k = 0; k < ml; k++) {
          let s = 0;
          if (up === null) s = W[j * ml + k]!;
          else {
            const ou = (i * dy + j) * mo;
            for (let kk = 0; kk < mo; kk++) s += up[ou + kk]! * W[kk * ml + k]!;
          }
          d[o + k] = lam[i * ml + k]! * s;
        }
      }
    delta[l - 1] = d;
  }
  const blocks: ColumnBlock[] = [];
  for (let l = 1; l < L; l++) {
    const ml = net.sizes[l]!;
    const mi = net.sizes[l - 1]!;
    const phi = c.phi[l - 1]!;
    const d = delta[l - 1]!;
    for (let k = 0; k < ml; k++) {
      const columns: Float64Array[] = [];
      for (let p = 0; p <= mi; p++) {
        if (p === mi && !net.bias) break;
        const col = new Float64Array(N);
        for (let i = 0; i < n; i++) {
          const x = p === mi ? 1 : phi[i * mi + p]!;
          for (let j = 0; j < dy; j++) col[j * n + i] = d[(i * dy + j) * ml + k]! * x;
        }
        columns.push(col);
      }
      blocks.push({ layer: l, unit: k + 1, columns });
    }
  }
  const mH = net.sizes[L - 1]!;
  const phiH = c.phi[L - 1]!;
  const last: Float64Array[] = [];
  for (let j = 0; j < dy; j++) {
    for (let p = 0; p <= mH; p++) {
      if (p === mH && !net.bias) break;
      const col = new Float64Array(N);
      for (let i = 0; i < n; i++) col[j * n + i] = p === mH ? 1 : phiH[i * mH + p]!;
      last.push(col);
    }
  }
  blocks.push({ layer: L, unit: 0, columns: last });
  return blocks;
}

function prepare(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  where: string,
) {
  requirePiecewiseLinear(spec, where);
  const net = toNet(spec, params, where);
  const c = forwardCache(net, X, n, where);
  const Y64 = checkY(net, Y, n, where);
  const y = vecColumnMajor(Y64, n, outputDim(spec));
  return { net, c, y };
}

/** Reads options.cutoff (default 'numericalRecipes'), naming `where` on a bad value. */
export function criterionOption(value: unknown, where: string): CutoffCriterion {
  if (value === undefined) return 'numericalRecipes';
  if (!CUTOFF_CRITERIA.includes(value as CutoffCriterion)) {
    throw new RangeError(
      `${where}: options.cutoff must be one of ${CUTOFF_CRITERIA.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as CutoffCriterion;
}

/**
 * Kawaguchi, Huang & Kaelbling (2019) Theorem 1, dense float64: J(θ) = ½‖(I − P[[D, D⁽ᴴ⁺¹⁾]])vec(Y)‖²
 * with the blocks of {@link kawaguchiBlocks} (biases add their columns), computed in the residual
 * form App. C recommends (Householder QR + SVD of the triangular factor, numerical rank by the
 * selected App. C cutoff). At every differentiable local minimum of L(θ) = ½‖Ŷ − Y‖²_F (in fact
 * at every differentiable critical point, since Ŷ lies in the range of the Jacobian for
 * positively homogeneous activations), L(θ) = J(θ). Needs a piecewise-linear MLP (relu,
 * leakyRelu, abs, identity) or a shallow net; `scaled` layers fold s_l into Λ.
 */
export function kawaguchiLossDense(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  options: KawaguchiDenseOptions = {},
): KawaguchiDenseResult {
  const where = 'kawaguchiLossDense';
  const half = halfOption(options, where);
  const criterion = criterionOption(options.cutoff, where);
  const maxEntries = positiveOption(options.maxEntries, 4e7, 'options.maxEntries', where);
  const { net, c, y } = prepare(spec, params, X, Y, n, where);
  const N = y.length;
  if (N * net.P > maxEntries) {
    throw new RangeError(
      `${where}: the stacked matrix would have ${N}·${net.P} = ${N * net.P} entries, ` +
        `above options.maxEntries = ${maxEntries}; use kawaguchiLossMatrixFree`,
    );
  }
  const cols = kawaguchiBlocks(net, c).flatMap((b) => b.columns);
  const r = leastSquaresResidual(cols, N, y, criterion);
  return {
    J: (half ? 0.5 : 1) * r.residual2,
    rank: r.rank,
    cutoff: { criterion, value: r.cutoff },
    halfConvention: half,
    rows: N,
    cols: net.P,
    sigmaMax: r.sigmaMax,
    sigmaMinKept: r.sigmaMinKept,
  };
}

/** Options of {@link kawaguchiLossMatrixFree}. */
export interface KawaguchiMatrixFreeOptions extends KawaguchiOptions {
  /** LSQR stopping tolerance on ‖Jacᵀr‖/(‖Jac‖‖r‖) (atol) and ‖r‖/‖y‖ (btol); default 1e-12. */
  tolerance?: number;
  /** Iteration cap (default 20·min(rows, params), at most 100 000). */
  maxIterations?: number;
  /**
   * Re-orthogonalise each new right Lanczos vector against all previous ones (modified
   * Gram–Schmidt, O(params·iterations) memory). Restores the finite-termination property that
   * rounding destroys, so LSQR stops after about rank(Jac) iterations. Default: on when
   * params·maxIterations ≤ 5e7 (400 MB).
   */
  reorthogonalize?: boolean;
}

/** Result of {@link kawaguchiLossMatrixFree}. */
export interface KawaguchiMatrixFreeResult {
  /**
   * J(θ) in the convention named by `halfConvention`, from the explicitly recomputed residual —
   * only when LSQR met its tolerance (`converged`); null when the iteration cap stopped it, since
   * the residual of an unfinished LSQR run is a bound, not the value (see `upperBound`).
   */
  J: number | null;
  /**
   * The recomputed ‖vec(Y) − Jac·β‖² at LSQR's last iterate (same convention): an upper bound on
   * J(θ) for any β, equal to `J` when converged.
   */
  upperBound: number;
  halfConvention: boolean;
  /** LSQR iterations (each one JVP and one VJP). */
  iterations: number;
  /** Whether a tolerance test stopped LSQR (false: the iteration cap did). */
  converged: boolean;
  /** Final ‖Jacᵀ r‖ / (‖Jac‖_F estimate · ‖r‖): the normal-equation optimality measure. */
  relativeNormalResidual: number;
  rows: number;
  cols: number;
}

/**
 * The same J(θ) as {@link kawaguchiLossDense}, without forming the Jacobian: LSQR (Paige &
 * Saunders 1982) on min_β ‖vec(Y) − Jac·β‖ using float64 Jacobian-vector and vector-Jacobian
 * products of the MLP (memory O(m·Σ d_l + d_θ)). The residual y − Jac·β is recomputed with one
 * extra JVP at the end. No numerical rank is decided: directions with singular values far below
 * the tolerance converge slowly, so a capped run over-estimates J (J is the minimum of a
 * least-squares problem: any β gives an upper bound) — such a run returns `J: null` and only the
 * `upperBound`, never the bound as the value.
 */
export function kawaguchiLossMatrixFree(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  options: KawaguchiMatrixFreeOptions = {},
): KawaguchiMatrixFreeResult {
  const where = 'kawaguchiLossMatrixFree';
  const half = halfOption(options, where);
  const tol = positiveOption(options.tolerance, 1e-12, 'options.tolerance', where);
  const { net, c, y } = prepare(spec, params, X, Y, n, where);
  const N = y.length;
  const P = net.P;
  const maxIt = intOption(
    options.maxIterations,
    Math.min(20 * Math.min(N, P), 100000),
    'options.maxIterations',
    where,
  );
  const A = (v: Float64Array) => jvp(net, c, v);
  const At = (u: Float64Array) => vjp(net, c, u);
  const reorth = options.reorthogonalize ?? P * maxIt <= 5e7;
  if (typeof reorth !== 'boolean') throw new TypeError(`${where}: options.reorthogonalize must be a boolean`);
  const r = lsqr(A, At, y, P, tol, maxIt, reorth);
  const fit = A(r.x);
  let r2 = 0;
  for (let i = 0; i < N; i++) r2 += (y[i]! - fit[i]!) ** 2;
  const bound = (half ? 0.5 : 1) * r2;
  return {
    J: r.converged ? bound : null,
    upperBound: bound,
    halfConvention: half,
    iterations: r.iterations,
    converged: r.converged,
    relativeNormalResidual: r.arnorm,
    rows: N,
    cols: P,
  };
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function scale(v: Float64Array, a: number): void {
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * a;
}

/**
 * LSQR for min ‖b − A x‖ (Paige & Saunders 1982, Algorithm LSQR without damping), optionally
 * with full re-orthogonalisation of the right Lanczos vectors.
 */
export function lsqr(
  A: (v: Float64Array) => Float64Array,
  At: (u: Float64Array) => Float64Array,
  b: Float64Array,
  P: number,
  tol: number,
  maxIt: number,
  reorthogonalize = false,
): { x: Float64Array; iterations: number; converged: boolean; arnorm: number } {
  const x = new Float64Array(P);
  const u = Float64Array.from(b);
  let beta = norm(u);
  if (beta === 0) return { x, iterations: 0, converged: true, arnorm: 0 };
  scale(u, 1 / beta);
  let v = At(u);
  let alpha = norm(v);
  if (alpha === 0) return { x, iterations: 0, converged: true, arnorm: 0 };
  scale(v, 1 / alpha);
  const vs: Float64Array[] = reorthogonalize ? [v] : [];
  const w = Float64Array.from(v);
  let phibar = beta;
  let rhobar = alpha;
  let anorm2 = 0;
  const bnorm = beta;
  let arnorm = 1;
  for (let it = 1; it <= maxIt; it++) {
    // Bidiagonalisation: β u = A v − α u, α v = Aᵀ u − β v.
    const Av = A(v);
    for (let i = 0; i < u.length; i++) u[i] = Av[i]! - alpha * u[i]!;
    beta = norm(u);
    if (beta > 0) scale(u, 1 / beta);
    anorm2 += alpha * alpha + beta * beta;
    const Atu = At(u);
    for (let i = 0; i < P; i++) Atu[i] = Atu[i]! - beta * v[i]!;
    for (const q of vs) {
      let dot = 0;
      for (let i = 0; i < P; i++) dot += q[i]! * Atu[i]!;
      for (let i = 0; i < P; i++) Atu[i] = Atu[i]! - dot * q[i]!;
    }
    alpha = norm(Atu);
    if (alpha > 0) scale(Atu, 1 / alpha);
    // Plane rotation eliminating the subdiagonal β.
    const rho = Math.hypot(rhobar, beta);
    const cs = rhobar / rho;
    const sn = beta / rho;
    const theta = sn * alpha;
    rhobar = -cs * alpha;
    const phi = cs * phibar;
    phibar = sn * phibar;
    const t1 = phi / rho;
    const t2 = -theta / rho;
    for (let i = 0; i < P; i++) {
      x[i] = x[i]! + t1 * w[i]!;
      w[i] = Atu[i]! + t2 * w[i]!;
    }
    v = Atu;
    if (reorthogonalize && alpha > 0) vs.push(v);
    const rnorm = phibar;
    arnorm = (phibar * alpha * Math.abs(cs)) / (Math.sqrt(anorm2) * Math.max(rnorm, Number.MIN_VALUE));
    if (rnorm <= tol * bnorm || arnorm <= tol || alpha === 0) {
      return { x, iterations: it, converged: true, arnorm: rnorm === 0 ? 0 : arnorm };
    }
  }
  return { x, iterations: maxIt, converged: false, arnorm };
}

/** Result of {@link kawaguchiShallowSum}. */
export interface KawaguchiSumResult {
  /** ½‖Y‖² − Σ terms (Prop. 1 eq. 3.2 / Theorem 1 eq. 4.2), in the ½ convention unless half = false. */
  J: number;
  /** ½‖P[N_k⁽ˡ⁾ D_k⁽ˡ⁾] vec(Y)‖² per block, in Gram–Schmidt order (layer, unit; the last block is D⁽ᴴ⁺¹⁾). */
  terms: { layer: number; unit: number; value: number; newDirections: number }[];
  halfConvention: boolean;
  /** Total number of orthonormal directions found (the numerical rank of the stacked matrix). */
  rank: number;
}

/**
 * Proposition 1 (shallow, eq. 3.2) and its deep form Theorem 1 (eq. 4.2) in their Gram–Schmidt
 * SUM form: ½‖Y‖² − Σ_{l,k} ½‖P[N_k⁽ˡ⁾ D_k⁽ˡ⁾] vec(Y)‖², where N_k⁽ˡ⁾ projects out all earlier
 * blocks (order: layer 1 units 1..d_1, …, layer H, then D⁽ᴴ⁺¹⁾; for the shallow net of Prop. 1
 * this is D_1⁽¹⁾…D_d⁽¹⁾ then N_1⁽²⁾Φ⁽¹⁾). Each block is orthonormalised against the running basis
 * by classical Gram–Schmidt with re-orthogonalisation; a column is dropped as dependent when what
 * remains of it is below `tolerance` (default 1e-10) times its original norm. The per-term values
 * are the paper's "improvement by width and depth"; App. C warns that summing them accumulates
 * error, so use {@link kawaguchiLossDense} for the value itself (the test checks they agree).
 */
export function kawaguchiShallowSum(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  options: KawaguchiOptions & { tolerance?: number; maxEntries?: number } = {},
): KawaguchiSumResult {
  const where = 'kawaguchiShallowSum';
  const half = halfOption(options, where);
  const tol = positiveOption(options.tolerance, 1e-10, 'options.tolerance', where);
  const maxEntries = positiveOption(options.maxEntries, 4e7, 'options.maxEntries', where);
  const { net, c, y } = prepare(spec, params, X, Y, n, where);
  if (y.length * net.P > maxEntries) {
    throw new RangeError(`${where}: ${y.length}·${net.P} entries exceed options.maxEntries = ${maxEntries}`);
  }
  const blocks = kawaguchiBlocks(net, c);
  const { terms, rank } = gramSchmidtTerms(blocks, y, tol, []);
  const y2 = y.reduce((s, t) => s + t * t, 0);
  const k = half ? 0.5 : 1;
  const sum = terms.reduce((s, t) => s + t.value, 0);
  return {
    J: k * (y2 - sum),
    terms: terms.map((t) => ({ ...t, value: k * t.value })),
    halfConvention: half,
    rank,
  };
}

/**
 * Block Gram–Schmidt: returns ‖P[N_b B_b] y‖² for each block b in order (N_b projecting out the
 * span of `basis` and all earlier blocks). `basis` is extended in place.
 */
function gramSchmidtTerms(
  blocks: ColumnBlock[],
  y: Float64Array,
  tol: number,
  basis: Float64Array[],
): { terms: { layer: number; unit: number; value: number; newDirections: number }[]; rank: number } {
  const terms: { layer: number; unit: number; value: number; newDirections: number }[] = [];
  const start = basis.length;
  for (const b of blocks) {
    let value = 0;
    let added = 0;
    for (const col0 of b.columns) {
      const q = orthonormalise(col0, basis, tol);
      if (!q) continue;
      basis.push(q);
      added++;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += q[i]! * y[i]!;
      value += s * s;
    }
    terms.push({ layer: b.layer, unit: b.unit, value, newDirections: added });
  }
  return { terms, rank: basis.length - start };
}

/** Orthonormalises `col` against `basis` (CGS2); null when it is dependent to `tol`. */
function orthonormalise(col: Float64Array, basis: Float64Array[], tol: number): Float64Array | null {
  const q = Float64Array.from(col);
  const n0 = norm(q);
  if (n0 === 0) return null;
  for (let pass = 0; pass < 2; pass++) {
    for (const e of basis) {
      let s = 0;
      for (let i = 0; i < q.length; i++) s += e[i]! * q[i]!;
      if (s !== 0) for (let i = 0; i < q.length; i++) q[i] = q[i]! - s * e[i]!;
    }
  }
  const n1 = norm(q);
  if (n1 <= tol * n0) return null;
  scale(q, 1 / n1);
  return q;
}

/** Result of {@link kawaguchiBound}. */
export interface KawaguchiBoundResult {
  /**
   * The right-hand side of eq. (5.1), computed as its own least-squares residual (not clamped to
   * `basisRegression`; see `improvement`).
   */
  bound: number;
  /** ½‖P_N[Φ⁽ˢ⁾] Y‖²_F: the global minimum of basis-function regression with basis Φ⁽ˢ⁾. */
  basisRegression: number;
  /**
   * basisRegression − bound: Σ_{l≤H} Σ_k ½‖P[N_k⁽ˡ⁾ P_N[Φ̄⁽ˢ⁾] D_k⁽ˡ⁾] vec(Y)‖², ≥ 0 in exact
   * arithmetic. Both terms are reported as computed, so a negative value shows a numerical
   * inconsistency (e.g. the rank cutoff of the larger matrix dropping directions of Φ⁽ˢ⁾ whose
   * scale is far below the D blocks') instead of hiding it.
   */
  improvement: number;
  /** The layer indices S used (0 = the input X). */
  S: number[];
  halfConvention: boolean;
}

/**
 * Theorem 2 / Corollary 1 (eq. 5.1) of Kawaguchi, Huang & Kaelbling 2019: for a differentiable local
 * minimum θ ∈ Θ_{d_y,t} and a subsequence S ⊆ {t, …, H},
 * L(θ) ≤ ½‖P_N[Φ⁽ˢ⁾]Y‖²_F − Σ_{l=1}^{H} Σ_k ½‖P[N_k⁽ˡ⁾ P_N[Φ̄⁽ˢ⁾] D_k⁽ˡ⁾] vec(Y)‖², where
 * Φ⁽ˢ⁾ = [Φ⁽ˡ⁾]_{l∈S} stacks the post-activation outputs of the chosen layers side by side
 * (Φ⁽⁰⁾ = X, the input) and Φ̄⁽ˢ⁾ = [I_{d_y} ⊗ Φ⁽ˡ⁾]_{l∈S}. Every θ of a standard net lies in
 * Θ_{d_y,H}, so S = [H] (the default) or [] is always covered; smaller t needs linearly acting
 * units (Definition 1) that this function does not check. Computed in residual form: by the
 * orthogonal decomposition, bound = ½‖(I − P[[Φ̄⁽ˢ⁾, D⁽¹⁾…D⁽ᴴ⁾]])vec(Y)‖², basisRegression =
 * ½‖(I − P[Φ̄⁽ˢ⁾])vec(Y)‖², improvement = their difference. Biases, when present, stay in the
 * D blocks; Φ⁽ˢ⁾ has no column of ones.
 */
export function kawaguchiBound(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  options: KawaguchiDenseOptions & { S?: readonly number[] } = {},
): KawaguchiBoundResult {
  const where = 'kawaguchiBound';
  const half = halfOption(options, where);
  const criterion = criterionOption(options.cutoff, where);
  const { net, c, y } = prepare(spec, params, X, Y, n, where);
  const H = net.L - 1;
  const S = options.S === undefined ? [H] : [...options.S];
  for (const [i, l] of S.entries()) {
    if (!Number.isInteger(l) || l < 0 || l > H) {
      throw new RangeError(`${where}: options.S[${i}] must be a layer index in 0..H = 0..${H}, got ${l}`);
    }
    if (i > 0 && l <= S[i - 1]!) throw new RangeError(`${where}: options.S must be strictly increasing`);
  }
  const dy = net.sizes[net.L]!;
  const N = y.length;
  const phiCols = (): Float64Array[] => {
    const out: Float64Array[] = [];
    for (const l of S) {
      const ml = net.sizes[l]!;
      const phi = c.phi[l]!;
      for (let j = 0; j < dy; j++)
        for (let p = 0; p < ml; p++) {
          const col = new Float64Array(N);
          for (let i = 0; i < n; i++) col[j * n + i] = phi[i * ml + p]!;
          out.push(col);
        }
    }
    return out;
  };
  const blocks = kawaguchiBlocks(net, c).filter((b) => b.layer <= H);
  const k = half ? 0.5 : 1;
  const basisRegression = k * leastSquaresResidual(phiCols(), N, y, criterion).residual2;
  const all = [...phiCols(), ...blocks.flatMap((b) => b.columns)];
  const bound = k * leastSquaresResidual(all, N, y, criterion).residual2;
  return { bound, basisRegression, improvement: basisRegression - bound, S, halfConvention: half };
}

/** Result of {@link whiteNoisePrediction}. */
export interface WhiteNoisePrediction {
  /** (m − d_x·d)/(2m)·‖Y‖² (0 when d_x·d ≥ m), in the ½ convention of eq. (3.2). */
  prediction: number;
  /** Proposition 2 (i)'s bound (1 + 6√(t/m))·(m − d_x d)/(2m)·‖Y‖² when `t` is given, else null. */
  bound: number | null;
  /** Which regime of Proposition 2 the sizes are in, in words. */
  regime: string;
}

/**
 * Kawaguchi, Huang & Kaelbling (2019) Proposition 2 for a shallow net on white-noise data
 * ([X Y] an m×(d_x+1) standard Gaussian matrix). The paper's symbols: m = number of samples,
 * d_x = input dimension, d = hidden width. Regime d_x·d ≪ m: L(θ) ≈ (m − d_x d)/(2m)·‖Y‖²
 * (statement i bounds it by (1 + 6√(t/m)) times that with probability ≥ 1 − e^{−m/(64 ln(d_x d m/δ²))}
 * − 2e^{−t}); regime d_x·d ≫ m: L(θ) = 0 (statement ii). The prediction is the expectation of the
 * projection residual of a Gaussian Y on a generic d_x·d-dimensional subspace.
 */
export function whiteNoisePrediction(args: {
  m: number;
  dx: number;
  d: number;
  yNorm2: number;
  t?: number;
}): WhiteNoisePrediction {
  const where = 'whiteNoisePrediction';
  if (args === null || typeof args !== 'object')
    throw new TypeError(`${where}: expected { m, dx, d, yNorm2 }`);
  for (const key of ['m', 'dx', 'd'] as const) {
    const v = args[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new RangeError(`${where}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  if (typeof args.yNorm2 !== 'number' || !(args.yNorm2 >= 0) || !Number.isFinite(args.yNorm2)) {
    throw new RangeError(`${where}: yNorm2 (‖Y‖²) must be a finite number ≥ 0, got ${args.yNorm2}`);
  }
  if (args.t !== undefined && !(args.t > 0 && Number.isFinite(args.t))) {
    throw new RangeError(`${where}: t must be a positive finite number, got ${args.t}`);
  }
  const { m, dx, d, yNorm2 } = args;
  const p = dx * d;
  const prediction = p >= m ? 0 : ((m - p) / (2 * m)) * yNorm2;
  const bound = args.t === undefined || p >= m ? null : (1 + 6 * Math.sqrt(args.t / m)) * prediction;
  const regime =
    p >= m
      ? `d_x·d = ${p} ≥ m = ${m}: Proposition 2 (ii) regime (needs d·d_x ≥ 2m ln²(md/δ)): ` +
        'loss 0 at local minima.'
      : `d_x·d = ${p} < m = ${m}: Proposition 2 (i) regime (needs m ≥ 64 ln²(d_x d m/δ²) d_x d): ` +
        'loss ≈ (1 − d_x d/m)‖Y‖²/2.';
  return { prediction, bound, regime };
}
