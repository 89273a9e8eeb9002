import { type ModelSpec, outputDim } from '@narrownet/models';
import {
  CHOLESKY_BLOCK,
  type PivotedCholesky,
  dotsAdd,
  packPanel,
  pivotedCholesky,
  pivotedSolveMany,
  sigmaMinFactor,
  syrkStripCount,
} from './blocked.js';
import { type CutoffCriterion, cutoffValue } from './dense.js';
import { type GemmKernel, gemmKernel } from './gemm.js';
import type { FactorContext } from './factorTasks.js';
import { type GramContext, gramTaskList } from './gramTasks.js';
import { criterionOption, halfOption, lsqr } from './kawaguchi.js';
import { type Cache, type Net, forwardCache, jvp, toNet, vecColumnMajor, vjp } from './mlp.js';
import { type RefineContext, refineTaskCount } from './refineTasks.js';
import { type JobRun, cpuMs, defaultThreads, float64, mergeRuns, openPool, runJob } from './parallel.js';
import { type ParamsLike, checkMatrix, intOption, positiveOption } from './util.js';

/** Options of {@link kawaguchiLoss}. */
export interface KawaguchiLossOptions {
  /** `true` (default): J = ½‖(I − P)vec(Y)‖² (eq. 4.2); `false`: App. C's form without the ½. */
  half?: boolean;
  /** App. C's singular-value cutoff criterion; default 'numericalRecipes' (the one App. C used). */
  cutoff?: CutoffCriterion;
  /**
   * 'auto' (default): 'sampleGram' when rows ≤ parameters and the net turns out to have full row
   * rank, else 'parameterGram'. Forcing 'sampleGram' on a rank-deficient wide problem falls back
   * to 'parameterGram' (the result names the method that produced the value).
   */
  method?: 'auto' | 'sampleGram' | 'parameterGram';
  /**
   * Gram-level dropping threshold: a column whose Schur-complement diagonal falls to this times its
   * squared norm is not factored but handed to the exact deflation step (default 1e-10).
   */
  gramTolerance?: number;
  /** Most refinement sweeps of the semi-normal equations (default 8). */
  maxRefinements?: number;
  /** Refuse a Gram matrix with more entries than this (default 1e8 = 800 MB). */
  maxGramEntries?: number;
  /**
   * Threads for the Gram matrix, the trailing updates of its pivoted Cholesky factor and the
   * refinement's Jacobian products (the calling thread plus worker threads sharing memory; Node
   * only). Default: the available cores, at most 4. The value does not depend on it: every entry of
   * G and of the factor is summed in the same order on any thread, and the refinement's right-hand
   * sides go in the same chunks. Where worker threads cannot start, one
   * thread does the work (see `threads` and `threadFallback` in the result). Small problems
   * (n·d_θ² < 2·10⁸ multiply-adds) always use one thread: starting workers would cost more.
   */
  threads?: number;
  /**
   * What to do when the problem is beyond the Gram routes (the d_θ² parameter Gram matrix exceeds
   * `maxGramEntries` and the sample Gram matrix does not show full row rank): 'matrixFree'
   * (default) runs LSQR on Jacobian-vector products (see `method: 'matrixFree'`), 'throw' throws.
   */
  beyondGram?: 'matrixFree' | 'throw';
  /** LSQR's stopping tolerance on ‖Jacᵀr‖ / (‖Jac‖·‖r‖) on the matrixFree route (default 1e-10). */
  tolerance?: number;
  /** LSQR's iteration budget on the matrixFree route (default 1000). */
  maxIterations?: number;
}

/** Result of {@link kawaguchiLoss}. */
export interface KawaguchiLossResult {
  /**
   * J(θ) in the convention of `halfConvention`, or null when the computation did not converge
   * (then `upperBound` holds the residual of the last iterate, which bounds J from above only in
   * exact arithmetic without the cutoff; it is never presented as J).
   */
  J: number | null;
  /** Residual of the last iterate when `J` is null, else null. */
  upperBound: number | null;
  halfConvention: boolean;
  /**
   * 'sampleGram': full row rank shown on Jac·Jacᵀ (J = 0); 'parameterGram': Jacᵀ·Jac + deflation;
   * 'matrixFree': LSQR (full re-orthogonalisation while its basis fits in 4·10⁸ entries) on
   * Jacobian-vector products, for problems beyond both Gram matrices. LSQR decides no rank, so
   * App. C's cutoff is not applied there: `certified` is false, `rank`, `sigmaMax`, the cutoff value
   * and `gap` are null, and J is a value only when LSQR met its stopping rule (else null and
   * `upperBound` holds the residual of the last iterate).
   */
  method: 'sampleGram' | 'parameterGram' | 'matrixFree';
  /** Whether every iterative part met its stopping rule. */
  converged: boolean;
  /**
   * Whether the numerical rank is separated from App. C's cutoff by a clear gap (see `gap`): the
   * smallest kept singular-value estimate ≥ 10·cutoff and every dropped remainder ≤ cutoff/2.
   * False means the rank decision is close to the cutoff (as it would be for the dense SVD).
   */
  certified: boolean;
  /** Numerical rank of [D, D⁽ᴴ⁺¹⁾] under the cutoff (null on the matrixFree route). */
  rank: number | null;
  /** Rows (n·d_y) and columns (parameters) of the stacked matrix. */
  rows: number;
  cols: number;
  cutoff: { criterion: CutoffCriterion; value: number | null };
  /** σ_max estimate (power iteration on the Gram matrix: a lower bound, Rayleigh quotient settled to 1e-10). */
  sigmaMax: number | null;
  /** Evidence for the rank decision (null on the matrixFree route). */
  gap: {
    /** Estimate of the smallest singular value of the kept Gram part (inverse iteration). */
    smallestKeptSigma: number;
    /** Largest remainder among columns dropped by the exact deflation (≤ cutoff by construction). */
    largestDroppedRemainder: number;
    /** Smallest remainder among columns kept by the exact deflation (Infinity when none). */
    smallestKeptRemainder: number;
  } | null;
  /** LSQR's iterations and final ‖Jacᵀr‖ / (‖Jac‖·‖r‖) on the matrixFree route, else null. */
  lsqr: { iterations: number; relativeNormalResidual: number } | null;
  /** Columns handed from the Gram factorisation to the exact deflation, and refinement sweeps used. */
  deflated: number;
  refinements: number;
  /** Why `converged` or `certified` is false, in words (empty when both are true). */
  reason: string;
  /**
   * Milliseconds per phase: `gram` (forward pass and Gram matrix), `factor` (σ_max, pivoted
   * Cholesky, σ_min estimate), `refinement` (semi-normal equations), `deflation` (final residuals
   * and Householder QR of the remainders).
   */
  timings: { gram: number; factor: number; refinement: number; deflation: number };
  /**
   * The same phases in CPU milliseconds of the whole process (all threads, `process.cpuUsage`):
   * CPU over wall time of a phase is the parallelism it got. Null outside Node.
   */
  cpuTimings: { gram: number; factor: number; refinement: number; deflation: number } | null;
  /** The matrix kernel that ran: WebAssembly SIMD where available, else plain JavaScript. */
  kernel: GemmKernel;
  /**
   * Most threads that worked in one phase (the parameter Gram matrix, or the Cholesky factor of
   * either Gram matrix); 1 on the fallback and on the matrix-free route.
   */
  threads: number;
  /** Why fewer threads than `options.threads` could start, or ''. */
  threadFallback: string;
}

/**
 * Phase CPU times from the process CPU clock read at the phase boundaries (gram, factor,
 * refinement, deflation; a missing end = a phase that did not run, 0), or null outside Node.
 */
function cpuPhases(marks: (number | null)[]): KawaguchiLossResult['cpuTimings'] {
  const [a, b, c, d, e] = marks;
  if (a === null || b === null || c === null) return null;
  return {
    gram: b! - a!,
    factor: c! - b!,
    refinement: d == null ? 0 : d - c!,
    deflation: e == null || d == null ? 0 : e - d,
  };
}

/** Below this n·d_θ² the parameter Gram matrix is formed on one thread. */
const MIN_THREADED_WORK = 2e8;

/** Column layout of the stacked matrix grouped by unit: group (l, k) holds q_l = m_{l−1}(+1) columns. */
interface Layout {
  q: number[]; // q[l-1]
  groupStart: number[][]; // groupStart[l-1][k]
  perm: Int32Array; // internal index → parameter index (net.names order)
}

function layoutOf(net: Net): Layout {
  const q: number[] = [];
  const groupStart: number[][] = [];
  const perm = new Int32Array(net.P);
  let t = 0;
  let off = 0;
  for (let l = 1; l <= net.L; l++) {
    const mi = net.sizes[l - 1]!;
    const mo = net.sizes[l]!;
    const ql = mi + (net.bias ? 1 : 0);
    q.push(ql);
    const starts: number[] = [];
    for (let k = 0; k < mo; k++) {
      starts.push(t);
      for (let p = 0; p < mi; p++) perm[t++] = off + k * mi + p;
      if (net.bias) perm[t++] = off + mo * mi + k;
    }
    groupStart.push(starts);
    off += mo * mi + (net.bias ? mo : 0);
  }
  return { q, groupStart, perm };
}

/** δ_l[(i·d_y + j)·m_l + k] = ∂Ŷ_ij/∂z⁽ˡ⁾_ik for l = 1..L (δ_L is the identity). */
function deltas(net: Net, c: Cache, shared: boolean): Float64Array[] {
  const n = c.n;
  const L = net.L;
  const dy = net.sizes[L]!;
  const out: Float64Array[] = new Array(L);
  const dL = float64(n * dy * dy, shared);
  for (let i = 0; i < n; i++) for (let j = 0; j < dy; j++) dL[(i * dy + j) * dy + j] = 1;
  out[L - 1] = dL;
  for (let l = L - 1; l >= 1; l--) {
    const ml = net.sizes[l]!;
    const mo = net.sizes[l + 1]!;
    const W = net.W[l]!; // W_{l+1}: [mo, ml]
    const lam = c.lam[l - 1]!;
    const up = out[l]!;
    const d = float64(n * dy * ml, shared);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < dy; j++) {
        const o = (i * dy + j) * ml;
        const ou = (i * dy + j) * mo;
        for (let kk = 0; kk < mo; kk++) {
          const u = up[ou + kk]!;
          if (u === 0) continue;
          const ow = kk * ml;
          for (let k = 0; k < ml; k++) d[o + k]! += u * W[ow + k]!;
        }
        for (let k = 0; k < ml; k++) d[o + k] = d[o + k]! * lam[i * ml + k]!;
      }
    out[l - 1] = d;
  }
  return out;
}

/** Φ̃ᵀ of layer l's input over all samples: [q_l, n] row-major (bias row of ones last). */
function phiT(net: Net, c: Cache, l: number, shared: boolean): Float64Array {
  const n = c.n;
  const mi = net.sizes[l - 1]!;
  const ql = mi + (net.bias ? 1 : 0);
  const phi = c.phi[l - 1]!;
  const out = float64(ql * n, shared);
  for (let i = 0; i < n; i++) {
    const oi = i * mi;
    for (let p = 0; p < mi; p++) out[p * n + i] = phi[oi + p]!;
    if (net.bias) out[mi * n + i] = 1;
  }
  return out;
}

/**
 * G = Jacᵀ·Jac (internal column order of {@link layoutOf}) from the Kronecker structure of
 * Theorem 1's blocks: G[(l,k,p),(l',k',p')] = Σ_i φ_{l−1}[i,p]·φ_{l'−1}[i,p']·Σ_j δ_l[i,j,k]δ_{l'}[i,j,k'].
 * Work n·P²/2 multiply-adds (no factor d_y), as one task per (unit, later layer) ({@link gramTask})
 * on `threads` threads: the same G whatever the thread count.
 */
function parameterGram(
  net: Net,
  c: Cache,
  lay: Layout,
  dl: Float64Array[],
  threads: number,
): { G: Float64Array; run: JobRun } {
  const P = net.P;
  const L = net.L;
  const shared = threads > 1;
  const phis: Float64Array[] = [];
  for (let l = 1; l <= L; l++) phis.push(phiT(net, c, l, shared));
  const G = float64(P * P, shared);
  const tasks = gramTaskList(net.sizes, lay.q);
  const ctx: GramContext = {
    n: c.n,
    dy: net.sizes[L]!,
    sizes: net.sizes.slice(),
    q: lay.q.slice(),
    groupStart: lay.groupStart,
    P,
    phiT: phis,
    dl,
    G,
    tasks,
  };
  const run = runJob({ kind: 'gram', kernel: gemmKernel(), ctx }, tasks.length / 3, threads);
  for (let r = 0; r < P; r++) for (let s = r + 1; s < P; s++) G[s * P + r] = G[r * P + s]!;
  return { G, run };
}

/**
 * {@link pivotedCholesky} of the n×n matrix A (SharedArrayBuffer-backed when threads > 1) with the
 * trailing update of every pivot block on `threads` threads: the calling thread factors the panel
 * and packs it, then it and the workers of one pool run the update's strips ({@link FactorContext}).
 * The strips are those of the single-thread update, so the factor is the same bit for bit.
 */
function factorOnThreads(
  A: Float64Array,
  n: number,
  tol: number,
  threads: number,
): { f: PivotedCholesky; run: JobRun } {
  if (threads <= 1 || n <= CHOLESKY_BLOCK) {
    return { f: pivotedCholesky(A, n, tol), run: { threads: 1, fallback: '' } };
  }
  const ctx: FactorContext = {
    G: A,
    n,
    pos: float64((n - CHOLESKY_BLOCK) * CHOLESKY_BLOCK, true),
    panel: new Int32Array(new SharedArrayBuffer(8)),
  };
  const pool = openPool(
    { kind: 'factor', kernel: gemmKernel(), ctx },
    threads,
    syrkStripCount(n, CHOLESKY_BLOCK),
  );
  try {
    const f = pivotedCholesky(A, n, tol, CHOLESKY_BLOCK, (t0, t1) => {
      ctx.panel[0] = t0;
      ctx.panel[1] = t1;
      packPanel(A, n, t0, t1, ctx.pos);
      pool.run(syrkStripCount(n, t1));
    });
    return { f, run: pool.close() };
  } finally {
    pool.close();
  }
}

/** K = Jac·Jacᵀ (rows in vec order j·n + i): K = Σ_l (Φ̃_{l−1}Φ̃_{l−1}ᵀ) ∘ (Δ_l Δ_lᵀ). */
function sampleGram(net: Net, c: Cache, dl: Float64Array[], shared: boolean): Float64Array {
  const n = c.n;
  const L = net.L;
  const dy = net.sizes[L]!;
  const N = n * dy;
  const K = float64(N * N, shared);
  for (let l = 1; l <= L; l++) {
    const mi = net.sizes[l - 1]!;
    const ml = net.sizes[l]!;
    const PG = new Float64Array(n * n);
    const phi = c.phi[l - 1]!;
    dotsAdd(phi, phi, n, n, mi, PG, n);
    const DG = new Float64Array(N * N);
    dotsAdd(dl[l - 1]!, dl[l - 1]!, N, N, ml, DG, N);
    const b = net.bias ? 1 : 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < dy; j++) {
        const rowK = (j * n + i) * N;
        const rowD = (i * dy + j) * N;
        for (let i2 = 0; i2 < n; i2++) {
          const pg = PG[i * n + i2]! + b;
          if (pg === 0) continue;
          for (let j2 = 0; j2 < dy; j2++) K[rowK + j2 * n + i2]! += pg * DG[rowD + i2 * dy + j2]!;
        }
      }
  }
  return K;
}

/** Largest eigenvalue of a symmetric tridiagonal matrix (diagonal a, off-diagonal b) by Sturm bisection. */
function tridiagonalMax(a: readonly number[], b: readonly number[]): number {
  const k = a.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < k; i++) {
    const r = (i > 0 ? Math.abs(b[i - 1]!) : 0) + (i < k - 1 ? Math.abs(b[i]!) : 0);
    lo = Math.min(lo, a[i]! - r);
    hi = Math.max(hi, a[i]! + r);
  }
  // count(x) = eigenvalues < x (negative pivots of T − xI)
  const count = (x: number) => {
    let c = 0;
    let d = 1;
    for (let i = 0; i < k; i++) {
      d = a[i]! - x - (i > 0 ? (b[i - 1]! * b[i - 1]!) / d : 0);
      if (d === 0) d = -Number.MIN_VALUE;
      if (d < 0) c++;
    }
    return c;
  };
  for (let it = 0; it < 200 && hi - lo > 2 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi)); it++) {
    const mid = 0.5 * (lo + hi);
    if (count(mid) === k) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Largest eigenvalue of a symmetric PSD row-major s×s matrix: Lanczos with full
 * re-orthogonalisation from the constant vector, stopped when the largest Ritz value moves by
 * ≤ 1e-14 relative (Ritz values grow monotonically towards λ_max) or the Krylov space is invariant.
 */
function lambdaMax(A: Float64Array, s: number): number {
  const kmax = Math.min(s, 120);
  const V: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let v = new Float64Array(s).fill(1 / Math.sqrt(s));
  let prev = 0;
  for (let j = 0; j < kmax; j++) {
    V.push(v);
    const w = new Float64Array(s);
    for (let i = 0; i < s; i++) {
      const oi = i * s;
      let acc = 0;
      for (let c = 0; c < s; c++) acc += A[oi + c]! * v[c]!;
      w[i] = acc;
    }
    let a = 0;
    for (let i = 0; i < s; i++) a += w[i]! * v[i]!;
    alpha.push(a);
    for (let pass = 0; pass < 2; pass++)
      for (const u of V) {
        let c = 0;
        for (let i = 0; i < s; i++) c += w[i]! * u[i]!;
        for (let i = 0; i < s; i++) w[i] = w[i]! - c * u[i]!;
      }
    const top = tridiagonalMax(alpha, beta);
    const bj = Math.sqrt(sumSq(w));
    if ((j > 0 && top - prev <= 1e-14 * top) || bj <= 1e-14 * top) return top;
    prev = top;
    beta.push(bj);
    for (let i = 0; i < s; i++) w[i] = w[i]! / bj;
    v = w;
  }
  return prev;
}

/** ‖M‖_∞ of the stacked matrix: max over rows (i, j) of Σ_l Σ_k |δ_l[i,j,k]|·Σ_p |φ̃_{l−1}[i,p]|. */
function normInf(net: Net, c: Cache, dl: Float64Array[]): number {
  const n = c.n;
  const dy = net.sizes[net.L]!;
  let best = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < dy; j++) {
      let s = 0;
      for (let l = 1; l <= net.L; l++) {
        const mi = net.sizes[l - 1]!;
        const ml = net.sizes[l]!;
        const phi = c.phi[l - 1]!;
        let a = net.bias ? 1 : 0;
        for (let p = 0; p < mi; p++) a += Math.abs(phi[i * mi + p]!);
        const d = dl[l - 1]!;
        let b = 0;
        for (let k = 0; k < ml; k++) b += Math.abs(d[(i * dy + j) * ml + k]!);
        s += a * b;
      }
      best = Math.max(best, s);
    }
  return best;
}

function sumSq(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return s;
}

/**
 * Householder QR with column dropping at an absolute remainder threshold: a column whose part
 * orthogonal to the kept columns has norm ≤ `threshold` is dropped. Applies the kept reflectors
 * to `r` and returns ‖(I − P[kept]) r‖² together with the remainders.
 */
function deflate(cols: Float64Array[], r: Float64Array, threshold: number) {
  const N = r.length;
  const vs: { v: Float64Array; beta: number; at: number }[] = [];
  let largestDropped = 0;
  let smallestKept = Number.POSITIVE_INFINITY;
  for (const a of cols) {
    for (const h of vs) {
      let s = 0;
      for (let i = h.at; i < N; i++) s += h.v[i - h.at]! * a[i]!;
      s *= h.beta;
      for (let i = h.at; i < N; i++) a[i] = a[i]! - s * h.v[i - h.at]!;
    }
    const at = vs.length;
    let norm2 = 0;
    for (let i = at; i < N; i++) norm2 += a[i]! * a[i]!;
    const norm = Math.sqrt(norm2);
    if (norm <= threshold) {
      largestDropped = Math.max(largestDropped, norm);
      continue;
    }
    smallestKept = Math.min(smallestKept, norm);
    const x0 = a[at]!;
    const alpha = x0 >= 0 ? -norm : norm;
    const v = a.slice(at);
    v[0] = x0 - alpha;
    const vtv = sumSq(v);
    vs.push({ v, beta: vtv === 0 ? 0 : 2 / vtv, at });
  }
  const y = Float64Array.from(r);
  for (const h of vs) {
    let s = 0;
    for (let i = h.at; i < N; i++) s += h.v[i - h.at]! * y[i]!;
    s *= h.beta;
    for (let i = h.at; i < N; i++) y[i] = y[i]! - s * h.v[i - h.at]!;
  }
  let res = 0;
  for (let i = vs.length; i < N; i++) res += y[i]! * y[i]!;
  return { residual2: res, kept: vs.length, largestDropped, smallestKept };
}

function check(spec: ModelSpec, params: ParamsLike, X: ArrayLike<number>, Y: ArrayLike<number>, n: number) {
  const where = 'kawaguchiLoss';
  const net = toNet(spec, params, where);
  const c = forwardCache(net, X, n, where);
  const Y64 = checkMatrix(Y, n, net.sizes[net.L]!, 'Y', where);
  return { net, c, y: vecColumnMajor(Y64, n, outputDim(spec)) };
}

/**
 * Kawaguchi, Huang & Kaelbling (2019) J(θ) = ½‖(I − P[[D, D⁽ᴴ⁺¹⁾]])vec(Y)‖² (Theorem 1, App. C's
 * residual form and cutoffs) at the paper's sizes, without forming the stacked matrix:
 *
 * 1. its Gram matrix is formed from the Kronecker structure of the blocks — Jac·Jacᵀ (n·d_y
 *    square, `sampleGram`) when there are no more rows than parameters, else Jacᵀ·Jac (d_θ
 *    square, `parameterGram`) — in cache-blocked float64;
 * 2. `sampleGram`: a Cholesky factorisation that keeps every row shows full row rank, so P = I
 *    and J = 0; otherwise `parameterGram`: a Cholesky factorisation with column dropping keeps
 *    the columns that are independent at Gram resolution;
 * 3. the least-squares problems of vec(Y) and of every dropped column on the kept columns are
 *    solved by the semi-normal equations with iterative refinement, residuals always recomputed
 *    from Jacobian-vector products (residual form, no ‖y‖² − ‖Py‖²), until the correction is at
 *    rounding level;
 * 4. the refined remainders of the dropped columns are deflated by Householder QR with App. C's
 *    cutoff (σ_max by power iteration, ‖M‖_∞ exact) deciding which of them add a direction.
 *
 * Agrees with {@link kawaguchiLossDense} where both fit (tests). For a piecewise-linear MLP this is
 * Theorem 1's J; for other activations it is the same projection residual on the Jacobian's range
 * (Theorem 1's L = J identity then does not apply). `converged` false means J is null and only an
 * upper bound is given; `certified` says whether the rank decision is clear of the cutoff.
 */
export function kawaguchiLoss(
  spec: ModelSpec,
  params: ParamsLike,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  options: KawaguchiLossOptions = {},
): KawaguchiLossResult {
  const where = 'kawaguchiLoss';
  const half = halfOption(options, where);
  const criterion = criterionOption(options.cutoff, where);
  const method = options.method ?? 'auto';
  if (!['auto', 'sampleGram', 'parameterGram'].includes(method)) {
    throw new RangeError(
      `${where}: options.method must be 'auto', 'sampleGram' or 'parameterGram', got ${JSON.stringify(method)}`,
    );
  }
  const relTol = positiveOption(options.gramTolerance, 1e-10, 'options.gramTolerance', where);
  const maxRef = intOption(options.maxRefinements, 8, 'options.maxRefinements', where);
  const maxEntries = positiveOption(options.maxGramEntries, 1e8, 'options.maxGramEntries', where);
  const threads = intOption(options.threads, defaultThreads(), 'options.threads', where);
  const beyond = options.beyondGram ?? 'matrixFree';
  if (beyond !== 'matrixFree' && beyond !== 'throw') {
    throw new RangeError(
      `${where}: options.beyondGram must be 'matrixFree' or 'throw', got ${JSON.stringify(beyond)}`,
    );
  }
  const lsqrTol = positiveOption(options.tolerance, 1e-10, 'options.tolerance', where);
  const lsqrIt = intOption(options.maxIterations, 1000, 'options.maxIterations', where);
  const t0 = performance.now();
  const c0 = cpuMs();
  const { net, c, y } = check(spec, params, X, Y, n);
  const N = y.length;
  const P = net.P;
  const k = half ? 0.5 : 1;
  const sampleFirst = method !== 'parameterGram' && N <= P && N * N <= maxEntries;
  const base = {
    halfConvention: half,
    rows: N,
    cols: P,
    kernel: gemmKernel(),
    threads: 1,
    threadFallback: '',
    lsqr: null,
  };
  if (!sampleFirst && P * P > maxEntries && beyond === 'matrixFree') {
    return { ...base, ...matrixFree(net, c, y, k, lsqrTol, lsqrIt, criterion, t0, c0, maxEntries) };
  }
  const useThreads = n * P * P >= MIN_THREADED_WORK ? threads : 1;
  const dl = deltas(net, c, useThreads > 1);
  const mInf = normInf(net, c, dl);

  if (sampleFirst) {
    const K = sampleGram(net, c, dl, useThreads > 1);
    const tK = performance.now();
    const cK = cpuMs();
    const sigmaMax = Math.sqrt(lambdaMax(K, N));
    const cut = cutoffValue(criterion, sigmaMax, mInf, N, P);
    const { f, run } = factorOnThreads(K, N, relTol, useThreads);
    if (f.rank === N) {
      const smin = sigmaMinFactor(K, N, N) * Math.min(...f.colNorm);
      const certified = smin >= 10 * cut;
      return {
        ...base,
        threads: run.threads,
        threadFallback: run.fallback,
        J: 0,
        upperBound: null,
        method: 'sampleGram',
        converged: true,
        certified,
        rank: N,
        cutoff: { criterion, value: cut },
        sigmaMax,
        gap: { smallestKeptSigma: smin, largestDroppedRemainder: 0, smallestKeptRemainder: Infinity },
        deflated: 0,
        refinements: 0,
        reason: certified
          ? ''
          : `smallest singular value estimate ${smin} is within 10× of the cutoff ${cut}`,
        timings: { gram: tK - t0, factor: performance.now() - tK, refinement: 0, deflation: 0 },
        cpuTimings: cpuPhases([c0, cK, cpuMs(), null, null]),
      };
    }
  }
  if (P * P > maxEntries) {
    if (beyond === 'throw') {
      throw new RangeError(
        `${where}: the ${P}×${P} parameter Gram matrix exceeds options.maxGramEntries = ${maxEntries}`,
      );
    }
    return { ...base, ...matrixFree(net, c, y, k, lsqrTol, lsqrIt, criterion, t0, c0, maxEntries) };
  }
  const lay = layoutOf(net);
  const { G, run: gramRun } = parameterGram(net, c, lay, dl, useThreads);
  const tGram = performance.now();
  const cGram = cpuMs();
  const sigmaMax = Math.sqrt(lambdaMax(G, P));
  const cut = cutoffValue(criterion, sigmaMax, mInf, N, P);
  const { f, run: factorRun } = factorOnThreads(G, P, relTol, useThreads);
  const run = mergeRuns(gramRun, factorRun);
  const dropped: number[] = [];
  for (let pos = f.rank; pos < P; pos++) dropped.push(f.piv[pos]!);
  let minKeptNorm = Number.POSITIVE_INFINITY;
  for (let pos = 0; pos < f.rank; pos++) minKeptNorm = Math.min(minKeptNorm, f.colNorm[f.piv[pos]!]!);
  const smin = f.rank ? sigmaMinFactor(G, P, f.rank) * minKeptNorm : 0;

  const tFactor = performance.now();
  const cFactor = cpuMs();

  // Semi-normal equations with refinement for y (column 0) and each dropped column (internal order),
  // in chunks of right-hand sides through the batched Jacobian products and triangular solves; the
  // chunks are tasks on `useThreads` threads ({@link refineTask}).
  const m = 1 + dropped.length;
  const shared = useThreads > 1;
  const shareArr = (a: Float64Array) => {
    if (!shared) return a;
    const out = float64(a.length, true);
    out.set(a);
    return out;
  };
  const ctx: RefineContext = {
    net,
    c: { n, phi: c.phi.map(shareArr), lam: c.lam.map(shareArr), out: new Float64Array(0) },
    dl,
    y: shareArr(y),
    perm: lay.perm,
    groupStart: lay.groupStart,
    q: lay.q,
    dropped: Int32Array.from(dropped),
    B: float64(m * P, shared),
    state: shared ? new Uint8Array(new SharedArrayBuffer(m)) : new Uint8Array(m),
    Z: float64(m * P, shared),
    refined: shared ? new Uint8Array(new SharedArrayBuffer(m)) : new Uint8Array(m),
    rho: float64(m, shared),
    E: new Float64Array(0),
    list: new Int32Array(0),
    pass: 'first',
    cut,
  };
  const runRefine = (list: number[], pass: RefineContext['pass']) => {
    ctx.list = Int32Array.from(list);
    ctx.pass = pass;
    runJob({ kind: 'refine', kernel: gemmKernel(), ctx }, refineTaskCount(list.length), useThreads);
  };
  // Stop when every correction moves its residual by no more than rounding in the products
  // (32·ε·σ_max per unit of tangent) or 1e-13 of the right-hand side, whichever is larger. A dropped
  // column is settled earlier once its remainder is ≤ cutoff/2: any coefficients give an upper bound
  // of the least-squares remainder, so the column is certainly dropped by the deflation below.
  const rhsNorm = new Float64Array(m);
  rhsNorm[0] = Math.sqrt(sumSq(y));
  for (let col = 1; col < m; col++) rhsNorm[col] = f.colNorm[dropped[col - 1]!]!;
  const ACTIVE = 0;
  const SETTLED = 1;
  const BELOW_CUTOFF = 2;
  const state = ctx.state;
  for (let col = 1; col < m; col++) if (rhsNorm[col] === 0) state[col] = BELOW_CUTOFF;
  let sweeps = 0;
  for (; sweeps < maxRef; sweeps++) {
    const act: number[] = [];
    for (let col = 0; col < m; col++) if (state[col] === ACTIVE) act.push(col);
    if (!act.length) break;
    ctx.refined.fill(0);
    runRefine(act, sweeps === 0 ? 'first' : 'sweep');
    const refine = act.filter((col) => ctx.refined[col] === 1);
    if (!refine.length) break;
    const Z = refine.map((col) => ctx.Z.subarray(col * P, (col + 1) * P));
    const DB = pivotedSolveMany(G, P, f, Z);
    refine.forEach((col, r) => {
      const db = DB[r]!;
      const z = Z[r]!;
      const b = ctx.B.subarray(col * P, (col + 1) * P);
      let moved = 0;
      for (let s = 0; s < P; s++) {
        moved += db[s]! * z[s]!;
        b[s] = b[s]! + db[s]!;
      }
      const floor = Math.max(1e-13 * rhsNorm[col]!, 32 * Number.EPSILON * sigmaMax * Math.sqrt(1 + sumSq(b)));
      if (Math.sqrt(Math.max(moved, 0)) <= floor) state[col] = SETTLED;
    });
  }
  let belowMax = 0;
  for (let col = 1; col < m; col++) belowMax = Math.max(belowMax, ctx.rho[col]!);
  let converged = true;
  for (let col = 0; col < m; col++) if (state[col] === ACTIVE) converged = false;
  const tRefine = performance.now();
  const cRefine = cpuMs();
  // Final residuals of y and of every dropped column not already shown to be below the cutoff
  // (a dropped column's scaled to a unit tangent).
  const fin: number[] = [];
  for (let col = 0; col < m; col++) if (col === 0 || state[col] !== BELOW_CUTOFF) fin.push(col);
  ctx.E = float64(fin.length * N, shared);
  runRefine(fin, 'final');
  const E = fin.map((_, r) => ctx.E.subarray(r * N, (r + 1) * N));
  const d = deflate(E.slice(1), E[0]!, cut);
  const largestDropped = Math.max(d.largestDropped, belowMax);
  const rank = f.rank + d.kept;
  const reasons: string[] = [];
  if (!converged) reasons.push(`refinement did not reach rounding level in ${maxRef} sweeps`);
  const certified =
    converged &&
    smin >= 10 * cut &&
    largestDropped <= cut / 2 &&
    (d.kept === 0 || d.smallestKept >= 10 * cut);
  if (converged && !certified) {
    reasons.push(
      `rank decision near the cutoff ${cut}: smallest kept σ estimate ${smin}, dropped remainders up to ` +
        `${largestDropped}, kept remainders from ${d.smallestKept}`,
    );
  }
  const tEnd = performance.now();
  const cEnd = cpuMs();
  return {
    ...base,
    threads: run.threads,
    threadFallback: run.fallback,
    J: converged ? k * d.residual2 : null,
    upperBound: converged ? null : k * d.residual2,
    method: 'parameterGram',
    converged,
    certified,
    rank,
    cutoff: { criterion, value: cut },
    sigmaMax,
    gap: {
      smallestKeptSigma: smin,
      largestDroppedRemainder: largestDropped,
      smallestKeptRemainder: d.smallestKept,
    },
    deflated: dropped.length,
    refinements: sweeps,
    reason: reasons.join('; '),
    timings: {
      gram: tGram - t0,
      factor: tFactor - tGram,
      refinement: tRefine - tFactor,
      deflation: tEnd - tRefine,
    },
    cpuTimings: cpuPhases([c0, cGram, cFactor, cRefine, cEnd]),
  };
}

/**
 * The matrixFree route of {@link kawaguchiLoss}: LSQR for min ‖vec(Y) − Jac·x‖ from Jacobian-vector
 * products, the residual recomputed from the final iterate.
 */
function matrixFree(
  net: Net,
  c: Cache,
  y: Float64Array,
  k: number,
  tol: number,
  maxIt: number,
  criterion: CutoffCriterion,
  t0: number,
  c0: number | null,
  maxEntries: number,
) {
  const N = y.length;
  const P = net.P;
  const A = (v: Float64Array) => jvp(net, c, v);
  const r = lsqr(A, (u) => vjp(net, c, u), y, P, tol, maxIt, P * maxIt <= 4e8);
  const fit = A(r.x);
  let r2 = 0;
  for (let i = 0; i < N; i++) r2 += (y[i]! - fit[i]!) ** 2;
  const value = k * r2;
  const why = `matrix-free LSQR (the ${P}×${P} parameter Gram matrix exceeds maxGramEntries = ${maxEntries}): no rank decision against App. C's cutoff`;
  const reason = r.converged
    ? why
    : `${why}; LSQR did not meet its tolerance ${tol} in ${r.iterations} iterations (‖Jacᵀr‖/(‖Jac‖‖r‖) = ${r.arnorm})`;
  return {
    J: r.converged ? value : null,
    upperBound: r.converged ? null : value,
    method: 'matrixFree' as const,
    converged: r.converged,
    certified: false,
    rank: null,
    cutoff: { criterion, value: null },
    sigmaMax: null,
    gap: null,
    deflated: 0,
    refinements: 0,
    lsqr: { iterations: r.iterations, relativeNormalResidual: r.arnorm },
    reason,
    timings: { gram: 0, factor: 0, refinement: performance.now() - t0, deflation: 0 },
    cpuTimings: cpuPhases([c0, c0, c0, cpuMs(), null]),
  };
}
