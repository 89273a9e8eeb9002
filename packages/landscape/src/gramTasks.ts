/**
 * The parameter Gram matrix of the scaled Kawaguchi route as independent tasks (internal): task t
 * of a {@link GramContext} fills the rows of one unit (l, k) against the columns of layer l2 ≥ l,
 * summing over the samples in chunks of 512 in order. Each entry of G belongs to exactly one task
 * and gets its contributions in the same order as in one loop over chunks, so G is the same bit
 * for bit whichever thread runs which task.
 */
import { gramRows } from './gemm.js';

/** Everything a Gram task reads and writes (plain data: it is posted to worker threads as is). */
export interface GramContext {
  n: number;
  dy: number;
  /** Layer widths m_0..m_L. */
  sizes: number[];
  /** q_l = m_{l−1}(+1 with bias) per layer (index l − 1). */
  q: number[];
  /** First internal column of unit k of layer l: groupStart[l − 1][k]. */
  groupStart: number[][];
  P: number;
  /** Φ̃ᵀ of layer l's input (index l − 1): [q_l, n] row-major, bias row of ones last. */
  phiT: Float64Array[];
  /** δ_l[(i·d_y + j)·m_l + k] (index l − 1). */
  dl: Float64Array[];
  /** The P×P output (upper triangle written). */
  G: Float64Array;
  /** Tasks as triples (l, l2, k). */
  tasks: Int32Array;
}

const CHUNK = 512;

/** Runs task t: G rows (l, k) × columns of layer l2 (from unit k when l2 = l). */
export function gramTask(ctx: GramContext, t: number): void {
  const { n, dy, sizes, q, groupStart, P, phiT, dl, G, tasks } = ctx;
  const l = tasks[3 * t]!;
  const l2 = tasks[3 * t + 1]!;
  const k = tasks[3 * t + 2]!;
  const ml = sizes[l]!;
  const m2 = sizes[l2]!;
  const ql = q[l - 1]!;
  const q2 = q[l2 - 1]!;
  const dA = dl[l - 1]!;
  const dB = dl[l2 - 1]!;
  const phA = phiT[l - 1]!;
  const ph2 = phiT[l2 - 1]!;
  const k0 = l2 === l ? k : 0;
  const nk = m2 - k0;
  const row0 = groupStart[l - 1]![k]!;
  const col0 = groupStart[l2 - 1]![k0]!;
  const idx = new Int32Array(CHUNK);
  const A = new Float64Array(ql * CHUNK);
  const Bm = new Float64Array(q2 * CHUNK);
  const S = new Float64Array(nk * CHUNK);
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const cn = Math.min(CHUNK, n - i0);
    // Only the samples where unit k's δ is not zero contribute to its rows (for relu about half of
    // them): they are gathered first (sample i = i0 + idx[a]). Then for every kk,
    // G rows (k, ·) × columns (k0 + kk, ·) += φ_{l−1}ᵀ·diag(S_kk)·φ_{l2−1} with
    // S[kk·na + a] = Σ_j δ_l[i, j, k]·δ_l2[i, j, k0 + kk] ({@link gramRows}).
    let na = 0;
    for (let ii = 0; ii < cn; ii++) {
      const r0 = (i0 + ii) * dy;
      for (let j = 0; j < dy; j++)
        if (dA[(r0 + j) * ml + k] !== 0) {
          idx[na++] = i0 + ii;
          break;
        }
    }
    if (na === 0) continue;
    gatherColumns(phA, n, ql, idx, na, A);
    gatherColumns(ph2, n, q2, idx, na, Bm);
    S.fill(0, 0, nk * na);
    for (let a = 0; a < na; a++) {
      const r0 = idx[a]! * dy;
      for (let j = 0; j < dy; j++) {
        const r = r0 + j;
        const w = dA[r * ml + k]!;
        if (w === 0) continue;
        const ob = r * m2 + k0;
        for (let kk = 0; kk < nk; kk++) S[kk * na + a]! += w * dB[ob + kk]!;
      }
    }
    gramRows(ql, nk, q2, na, A, S, Bm, G, row0 * P + col0, P);
  }
}

/** out[p·na + a] = M[p·ld + idx[a]] for p < rows, a < na: the columns idx of a [rows, ld] matrix. */
function gatherColumns(
  M: Float64Array,
  ld: number,
  rows: number,
  idx: Int32Array,
  na: number,
  out: Float64Array,
) {
  for (let p = 0; p < rows; p++) {
    const src = p * ld;
    const dst = p * na;
    for (let a = 0; a < na; a++) out[dst + a] = M[src + idx[a]!]!;
  }
}

/** The tasks (l, l2, k) of a net's Gram matrix, largest first (so a shared queue balances). */
export function gramTaskList(sizes: readonly number[], q: readonly number[]): Int32Array {
  const L = sizes.length - 1;
  const list: { l: number; l2: number; k: number; cost: number }[] = [];
  for (let l = 1; l <= L; l++)
    for (let l2 = l; l2 <= L; l2++)
      for (let k = 0; k < sizes[l]!; k++) {
        const nk = sizes[l2]! - (l2 === l ? k : 0);
        list.push({ l, l2, k, cost: q[l - 1]! * q[l2 - 1]! * nk });
      }
  list.sort((a, b) => b.cost - a.cost);
  const out = new Int32Array(3 * list.length);
  list.forEach((t, i) => {
    out[3 * i] = t.l;
    out[3 * i + 1] = t.l2;
    out[3 * i + 2] = t.k;
  });
  return out;
}
