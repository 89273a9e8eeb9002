/**
 * The refinement of the scaled Kawaguchi route as independent tasks (internal): right-hand sides
 * (vec(Y) = column 0 and the dropped columns 1..m−1) go in fixed chunks of 16 through the batched
 * Jacobian products, each chunk a task. The chunks are the same on any number of threads and
 * every task writes only its own columns' slots, so the result does not depend on the thread count.
 */
import { type Cache, type Net, jvpMany, vjpMany } from './mlp.js';

/** Everything a refinement task reads and writes (plain data: it is posted to worker threads as is). */
export interface RefineContext {
  net: Net;
  c: Cache;
  /** δ_l per layer (as in the Gram tasks). */
  dl: Float64Array[];
  /** vec(Y), column-major. */
  y: Float64Array;
  /** Internal column index → parameter index. */
  perm: Int32Array;
  /** First internal column of each unit, and q_l per layer (to rebuild a column). */
  groupStart: number[][];
  q: number[];
  /** Internal index of dropped column col (col ≥ 1) at dropped[col − 1]. */
  dropped: Int32Array;
  /** Coefficients b_col (m × P, internal order). */
  B: Float64Array;
  /** Per column: 0 active, 1 settled, 2 below the cutoff. */
  state: Uint8Array;
  /** Output of a sweep: Z_col = Jacᵀ·r_col (m × P, internal order) where refined[col] = 1. */
  Z: Float64Array;
  refined: Uint8Array;
  /** Output of a sweep: the remainder (per unit tangent) of a column it found below the cutoff. */
  rho: Float64Array;
  /** Output of the final pass: residual of list[k] in row k (list.length × N). */
  E: Float64Array;
  /** The columns of this job, and which pass: 'first' (residual at b = 0), 'sweep', 'final'. */
  list: Int32Array;
  pass: 'first' | 'sweep' | 'final';
  /** App. C's cutoff (a sweep settles a column whose remainder is ≤ cutoff / 2). */
  cut: number;
}

/** Right-hand sides per task. */
export const REFINE_CHUNK = 16;

/** Tasks of a job over `count` columns. */
export function refineTaskCount(count: number): number {
  return Math.ceil(count / REFINE_CHUNK);
}

const BELOW_CUTOFF = 2;

function sumSq(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return s;
}

/** b_col as a view. */
function coef(ctx: RefineContext, col: number): Float64Array {
  const P = ctx.net.P;
  return ctx.B.subarray(col * P, (col + 1) * P);
}

/** The tangent e_d − b_col (parameter order); −b for vec(Y). */
function tangent(ctx: RefineContext, col: number): Float64Array {
  const P = ctx.net.P;
  const t = new Float64Array(P);
  const b = coef(ctx, col);
  for (let s = 0; s < P; s++) if (b[s] !== 0) t[ctx.perm[s]!] = -b[s]!;
  if (col > 0) t[ctx.perm[ctx.dropped[col - 1]!]!]! += 1;
  return t;
}

/** Residuals of the columns from one batched JVP (vec(Y) − Jac·b for column 0). */
function residuals(ctx: RefineContext, cols: readonly number[]): Float64Array[] {
  const E = jvpMany(
    ctx.net,
    ctx.c,
    cols.map((col) => tangent(ctx, col)),
  );
  const N = ctx.y.length;
  cols.forEach((col, r) => {
    if (col !== 0) return;
    const e = E[r]!;
    for (let i = 0; i < N; i++) e[i] = ctx.y[i]! + e[i]!;
  });
  return E;
}

/** Column s of the stacked matrix (internal order) from Theorem 1's blocks: the residual at b = 0. */
function column(ctx: RefineContext, s: number): Float64Array {
  const { net, c, dl, groupStart, q } = ctx;
  const n = c.n;
  const dy = net.sizes[net.L]!;
  let l = net.L;
  while (groupStart[l - 1]![0]! > s) l--;
  const ql = q[l - 1]!;
  const unit = Math.floor((s - groupStart[l - 1]![0]!) / ql);
  const p = s - groupStart[l - 1]![unit]!;
  const mi = net.sizes[l - 1]!;
  const ml = net.sizes[l]!;
  const phi = c.phi[l - 1]!;
  const dA = dl[l - 1]!;
  const e = new Float64Array(n * dy);
  for (let i = 0; i < n; i++) {
    const a = p < mi ? phi[i * mi + p]! : 1;
    for (let j = 0; j < dy; j++) e[j * n + i] = dA[(i * dy + j) * ml + unit]! * a;
  }
  return e;
}

/**
 * A dropped column's remainder is Jac·(e_d − b_d): normalised by the tangent's length it is
 * ‖Jac v‖ for a unit vector v, the quantity App. C's singular-value cutoff speaks of.
 */
export function remainderScale(ctx: RefineContext, col: number): number {
  return 1 / Math.sqrt(1 + sumSq(coef(ctx, col)));
}

/**
 * Task t: the columns list[16t .. 16t + 15]. 'first' / 'sweep': residuals (at b = 0, or from a
 * JVP), columns whose remainder is ≤ cutoff/2 marked below the cutoff (`rho`), Jacᵀ·r of the
 * others into Z (`refined`). 'final': the residuals (dropped columns scaled to a unit tangent) into E.
 */
export function refineTask(ctx: RefineContext, t: number): void {
  const { net, c, list } = ctx;
  const P = net.P;
  const k0 = t * REFINE_CHUNK;
  const cols = Array.from(list.subarray(k0, Math.min(k0 + REFINE_CHUNK, list.length)));
  if (ctx.pass === 'final') {
    const N = ctx.y.length;
    residuals(ctx, cols).forEach((e, r) => {
      const col = cols[r]!;
      const sc = col > 0 ? remainderScale(ctx, col) : 1;
      const row = (k0 + r) * N;
      for (let i = 0; i < N; i++) ctx.E[row + i] = e[i]! * sc;
    });
    return;
  }
  const E =
    ctx.pass === 'first'
      ? cols.map((col) => (col === 0 ? Float64Array.from(ctx.y) : column(ctx, ctx.dropped[col - 1]!)))
      : residuals(ctx, cols);
  const keep: number[] = [];
  const kept: Float64Array[] = [];
  cols.forEach((col, r) => {
    if (col > 0) {
      const rho = Math.sqrt(sumSq(E[r]!)) * remainderScale(ctx, col);
      if (rho <= ctx.cut / 2) {
        ctx.state[col] = BELOW_CUTOFF;
        ctx.rho[col] = rho;
        return;
      }
    }
    keep.push(col);
    kept.push(E[r]!);
  });
  if (!keep.length) return;
  const grads = vjpMany(net, c, kept);
  keep.forEach((col, r) => {
    const g = grads[r]!;
    const o = col * P;
    for (let s = 0; s < P; s++) ctx.Z[o + s] = g[ctx.perm[s]!]!;
    ctx.refined[col] = 1;
  });
}
