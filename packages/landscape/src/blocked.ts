/**
 * Cache- and register-blocked float64 kernels for the scaled Kawaguchi route (internal: not
 * exported from the package index). The products run through {@link gemmNT} (./gemm.ts).
 */
import { gemmNT } from './gemm.js';

/**
 * C[a·ldc + c] += Σ_t A[a·len + t]·B[c·len + t] for a < na, c < nc: all dot products between the
 * rows of A [na, len] and the rows of B [nc, len] (both row-major, rows contiguous).
 */
export function dotsAdd(
  A: Float64Array,
  B: Float64Array,
  na: number,
  nc: number,
  len: number,
  C: Float64Array,
  ldc: number,
  cOff = 0,
): void {
  gemmNT(na, nc, len, A, 0, len, B, 0, len, C, cOff, ldc);
}

/**
 * Trailing update of a right-looking Cholesky on the upper triangle of a row-major n×n matrix:
 * A[i][j] −= Σ_{t ∈ [t0, t1)} A[t][i]·A[t][j] for j0 ≤ i ≤ j < n.
 */
export function syrkUpperSub(A: Float64Array, n: number, t0: number, t1: number, j0: number): void {
  for (let i = j0; i < n; i++) {
    const oi = i * n;
    let t = t0;
    for (; t + 3 < t1; t += 4) {
      const r0 = t * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      const a0 = A[r0 + i]!;
      const a1 = A[r1 + i]!;
      const a2 = A[r2 + i]!;
      const a3 = A[r3 + i]!;
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      for (let j = i; j < n; j++) {
        A[oi + j] = A[oi + j]! - (a0 * A[r0 + j]! + a1 * A[r1 + j]! + a2 * A[r2 + j]! + a3 * A[r3 + j]!);
      }
    }
    for (; t < t1; t++) {
      const r0 = t * n;
      const a0 = A[r0 + i]!;
      if (a0 === 0) continue;
      for (let j = i; j < n; j++) A[oi + j] = A[oi + j]! - a0 * A[r0 + j]!;
    }
  }
}

/** Rows per {@link gemmNT} call of the packed trailing update: one strip ({@link syrkStrip}). */
const SYRK_STRIP = 64;

/** Columns per pivot block of {@link pivotedCholesky} (its default `block`). */
export const CHOLESKY_BLOCK = 64;

/**
 * Packs rows t0..t1−1 of A from column t1 on, transposed: pos[i·(t1 − t0) + (t − t0)] = A[t][t1 + i]
 * for i < n − t1 (the operand of {@link syrkStrip}; pos needs (n − t1)·(t1 − t0) entries).
 */
export function packPanel(A: Float64Array, n: number, t0: number, t1: number, pos: Float64Array): void {
  const nb = t1 - t0;
  const m = n - t1;
  for (let t = t0; t < t1; t++) {
    const ot = t * n + t1;
    const c = t - t0;
    for (let i = 0; i < m; i++) pos[i * nb + c] = A[ot + i]!;
  }
}

/** Number of strips of {@link syrkStrip} in the trailing update after rows [t0, t1). */
export function syrkStripCount(n: number, t1: number): number {
  return Math.ceil((n - t1) / SYRK_STRIP);
}

/**
 * Strip s of the packed trailing update: A[i][j] −= Σ_{t ∈ [t0, t1)} A[t][i]·A[t][j] for the 64 rows
 * i = t1 + 64s .. and every j ≥ i0 = t1 + 64s (one {@link gemmNT} call on the packed panel `pos` of
 * {@link packPanel}). It reads only `pos` and writes only its own rows, so the strips of one update
 * can run in any order, on any thread, with the same result.
 */
export function syrkStrip(
  A: Float64Array,
  n: number,
  t0: number,
  t1: number,
  pos: Float64Array,
  s: number,
): void {
  const nb = t1 - t0;
  const m = n - t1;
  const i0 = s * SYRK_STRIP;
  const na = Math.min(SYRK_STRIP, m - i0);
  gemmNT(na, m - i0, nb, pos, i0 * nb, nb, pos, i0 * nb, nb, A, (t1 + i0) * n + t1 + i0, n, -1);
}

/**
 * The same trailing update as {@link syrkUpperSub} for t ∈ [t0, t1) and i, j ≥ t1, as dot products of
 * length t1 − t0 between packed columns of the panel: {@link packPanel}, then every
 * {@link syrkStrip} in order. Rows are done in strips of 64 from their own strip on, so entries up
 * to 63 places left of the diagonal (never read in upper storage) are overwritten too.
 */
export function syrkUpperPacked(A: Float64Array, n: number, t0: number, t1: number): void {
  const pos = new Float64Array((n - t1) * (t1 - t0));
  packPanel(A, n, t0, t1, pos);
  const strips = syrkStripCount(n, t1);
  for (let s = 0; s < strips; s++) syrkStrip(A, n, t0, t1, pos, s);
}

/**
 * The trailing update after pivot rows [t0, t1) of {@link pivotedCholesky}: by default
 * {@link syrkUpperPacked} on the calling thread; the scaled Kawaguchi route passes one that runs the
 * strips on worker threads (the same strips, so the same factor bit for bit).
 */
export type TrailingUpdate = (t0: number, t1: number) => void;

/** Result of {@link pivotedCholesky}. */
export interface PivotedCholesky {
  /** piv[pos] = original index of the column factored at position pos. */
  piv: Int32Array;
  /** Number of kept columns (positions 0..rank−1); the rest are dependent at Gram resolution. */
  rank: number;
  /** √G_cc of every column (original order): the scaling applied before factoring. */
  colNorm: Float64Array;
}

/**
 * Blocked diagonally pivoted Cholesky (LAPACK dpstrf's scheme, upper storage) of the column-scaled
 * Gram matrix D^{-1/2} G D^{-1/2} (unit diagonal; zero columns never pivot), in place on a
 * row-major n×n symmetric G. Stops when the largest remaining Schur diagonal is ≤ `tol`:
 * R (rows 0..rank−1 of the overwritten matrix, permuted order) satisfies RᵀR = (D^{-1/2}GD^{-1/2})[piv, piv]
 * on the kept block. The panel (pivot search, swaps, rows of R) runs on the calling thread, the
 * trailing update of each block through `trailing`.
 */
export function pivotedCholesky(
  G: Float64Array,
  n: number,
  tol: number,
  block = CHOLESKY_BLOCK,
  trailing: TrailingUpdate = (t0, t1) => syrkUpperPacked(G, n, t0, t1),
): PivotedCholesky {
  const colNorm = new Float64Array(n);
  for (let j = 0; j < n; j++) colNorm[j] = Math.sqrt(Math.max(G[j * n + j]!, 0));
  for (let i = 0; i < n; i++) {
    const oi = i * n;
    const si = colNorm[i]!;
    for (let j = i; j < n; j++) {
      const d = si * colNorm[j]!;
      G[oi + j] = d > 0 ? G[oi + j]! / d : 0;
    }
  }
  const piv = new Int32Array(n);
  for (let j = 0; j < n; j++) piv[j] = j;
  const work = new Float64Array(n);
  for (let j = 0; j < n; j++) work[j] = G[j * n + j]!;
  let rank = n;
  const mult = new Float64Array(block);
  const rowAt = new Int32Array(block);
  outer: for (let b0 = 0; b0 < n; b0 += block) {
    const b1 = Math.min(b0 + block, n);
    for (let j = b0; j < b1; j++) {
      let p = j;
      for (let c = j + 1; c < n; c++) if (work[c]! > work[p]!) p = c;
      if (!(work[p]! > tol)) {
        rank = j;
        break outer;
      }
      if (p !== j) swapSym(G, n, j, p, work, piv);
      const oj = j * n;
      const r = Math.sqrt(work[j]!);
      G[oj + j] = r;
      // Row j of R: (G[j][c] − Σ_{t∈[b0,j)} R[t][j]R[t][c]) / r for c > j, the terms subtracted one
      // by one in order of t (zero multipliers skipped), four per pass over the row.
      let k = 0;
      for (let t = b0; t < j; t++) {
        const a = G[t * n + j]!;
        if (a === 0) continue;
        mult[k] = a;
        rowAt[k++] = t * n;
      }
      let q = 0;
      for (; q + 3 < k; q += 4) {
        const a0 = mult[q]!;
        const a1 = mult[q + 1]!;
        const a2 = mult[q + 2]!;
        const a3 = mult[q + 3]!;
        const o0 = rowAt[q]!;
        const o1 = rowAt[q + 1]!;
        const o2 = rowAt[q + 2]!;
        const o3 = rowAt[q + 3]!;
        for (let c = j + 1; c < n; c++) {
          G[oj + c] = G[oj + c]! - a0 * G[o0 + c]! - a1 * G[o1 + c]! - a2 * G[o2 + c]! - a3 * G[o3 + c]!;
        }
      }
      for (; q < k; q++) {
        const a = mult[q]!;
        const ot = rowAt[q]!;
        for (let c = j + 1; c < n; c++) G[oj + c] = G[oj + c]! - a * G[ot + c]!;
      }
      const inv = 1 / r;
      for (let c = j + 1; c < n; c++) {
        const v = G[oj + c]! * inv;
        G[oj + c] = v;
        work[c] = work[c]! - v * v;
      }
    }
    if (b1 < n) trailing(b0, b1);
  }
  return { piv, rank, colNorm };
}

/** Symmetric swap of indices j < p in upper storage (rows above j hold R and move with the columns). */
function swapSym(
  G: Float64Array,
  n: number,
  j: number,
  p: number,
  work: Float64Array,
  piv: Int32Array,
): void {
  const sw = (a: number, b: number) => {
    const t = G[a]!;
    G[a] = G[b]!;
    G[b] = t;
  };
  for (let t = 0; t < j; t++) sw(t * n + j, t * n + p);
  sw(j * n + j, p * n + p);
  for (let i = j + 1; i < p; i++) sw(j * n + i, i * n + p);
  for (let i = p + 1; i < n; i++) sw(j * n + i, p * n + i);
  const w = work[j]!;
  work[j] = work[p]!;
  work[p] = w;
  const q = piv[j]!;
  piv[j] = piv[p]!;
  piv[p] = q;
}

/** Solves RᵀR x = b in place for the leading rank×rank block of an upper factor R (row-major, stride n). */
function solveRtR(R: Float64Array, n: number, rank: number, x: Float64Array): void {
  for (let j = 0; j < rank; j++) {
    const oj = j * n;
    const v = x[j]! / R[oj + j]!;
    x[j] = v;
    if (v !== 0) for (let c = j + 1; c < rank; c++) x[c] = x[c]! - R[oj + c]! * v;
  }
  for (let j = rank - 1; j >= 0; j--) {
    const oj = j * n;
    let s = x[j]!;
    for (let c = j + 1; c < rank; c++) s -= R[oj + c]! * x[c]!;
    x[j] = s / R[oj + j]!;
  }
}

/**
 * Least-squares coefficients on the kept columns from a {@link pivotedCholesky} factor: given
 * z = Jacᵀr (original order), returns b (original order, 0 on dropped columns) with
 * Jac_Sᵀ Jac_S b_S = z_S. Overwrites the strict lower triangle of R (see {@link pivotedSolveMany}).
 */
export function pivotedSolve(R: Float64Array, n: number, f: PivotedCholesky, z: Float64Array): Float64Array {
  return pivotedSolveMany(R, n, f, [z])[0]!;
}

/** Row block of the blocked triangular solves. */
const SOLVE_BLOCK = 64;

/**
 * {@link pivotedSolve} for many right-hand sides at once: blocked forward and backward substitution
 * whose off-diagonal work runs through {@link gemmNT}. Writes Rᵀ into the strict lower triangle of
 * the kept block of R (so both triangles are read along rows); the upper triangle is not changed.
 */
export function pivotedSolveMany(
  R: Float64Array,
  n: number,
  f: PivotedCholesky,
  Z: readonly Float64Array[],
): Float64Array[] {
  const { piv, rank, colNorm } = f;
  const m = Z.length;
  for (let j = 1; j < rank; j++) {
    const oj = j * n;
    for (let t = 0; t < j; t++) R[oj + t] = R[t * n + j]!;
  }
  const X = new Float64Array(m * rank);
  for (let r = 0; r < m; r++) {
    const z = Z[r]!;
    for (let pos = 0; pos < rank; pos++) X[r * rank + pos] = z[piv[pos]!]! / colNorm[piv[pos]!]!;
  }
  // Rᵀx = b: x_j = (b_j − Σ_{t<j} R[t][j]·x_t)/R[j][j], rows of Rᵀ read from the lower triangle.
  for (let J0 = 0; J0 < rank; J0 += SOLVE_BLOCK) {
    const J1 = Math.min(J0 + SOLVE_BLOCK, rank);
    if (J0 > 0) gemmNT(m, J1 - J0, J0, X, 0, rank, R, J0 * n, n, X, J0, rank, -1);
    for (let r = 0; r < m; r++) {
      const o = r * rank;
      for (let j = J0; j < J1; j++) {
        const oj = j * n;
        let s = X[o + j]!;
        for (let t = J0; t < j; t++) s -= R[oj + t]! * X[o + t]!;
        X[o + j] = s / R[oj + j]!;
      }
    }
  }
  // Rx = b: x_j = (b_j − Σ_{c>j} R[j][c]·x_c)/R[j][j].
  for (let J1 = rank; J1 > 0; ) {
    const J0 = Math.max(0, J1 - SOLVE_BLOCK);
    if (J1 < rank) gemmNT(m, J1 - J0, rank - J1, X, J1, rank, R, J0 * n + J1, n, X, J0, rank, -1);
    for (let r = 0; r < m; r++) {
      const o = r * rank;
      for (let j = J1 - 1; j >= J0; j--) {
        const oj = j * n;
        let s = X[o + j]!;
        for (let c = j + 1; c < J1; c++) s -= R[oj + c]! * X[o + c]!;
        X[o + j] = s / R[oj + j]!;
      }
    }
    J1 = J0;
  }
  return Z.map((_, r) => {
    const b = new Float64Array(n);
    for (let pos = 0; pos < rank; pos++) b[piv[pos]!] = X[r * rank + pos]! / colNorm[piv[pos]!]!;
    return b;
  });
}

/** Estimate of the smallest singular value of the kept factor R (rank×rank) by inverse iteration. */
export function sigmaMinFactor(R: Float64Array, n: number, rank: number): number {
  if (rank === 0) return 0;
  let v = new Float64Array(rank);
  for (let i = 0; i < rank; i++) v[i] = 1 + ((i * 7919) % 13) / 13;
  let mu = 0;
  for (let it = 0; it < 40; it++) {
    let nv = 0;
    for (let i = 0; i < rank; i++) nv += v[i]! * v[i]!;
    nv = Math.sqrt(nv);
    for (let i = 0; i < rank; i++) v[i] = v[i]! / nv;
    const w = Float64Array.from(v);
    solveRtR(R, n, rank, w);
    let next = 0;
    for (let i = 0; i < rank; i++) next += w[i]! * v[i]!;
    v = w;
    const done = Math.abs(next - mu) <= 1e-6 * next;
    mu = next;
    if (done) break;
  }
  return mu > 0 ? 1 / Math.sqrt(mu) : 0;
}
