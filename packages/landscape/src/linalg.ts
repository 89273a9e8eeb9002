/**
 * Dense float64 kernels used by the diagnostics (row-major Float64Array matrices).
 * Internal: not exported from the package index.
 */

/**
 * C[n, n] = A Aᵀ for A [n, k] row-major (symmetric; the upper triangle is computed and mirrored).
 * Rows are processed in blocks of 8 so that a block stays in cache while all later rows stream by.
 */
export function gramRows(A: Float64Array, n: number, k: number): Float64Array {
  const C = new Float64Array(n * n);
  const BS = 8;
  for (let i0 = 0; i0 < n; i0 += BS) {
    const i1 = Math.min(i0 + BS, n);
    for (let j = i0; j < n; j++) {
      const oj = j * k;
      for (let i = i0; i < i1 && i <= j; i++) {
        const oi = i * k;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let t = 0;
        for (; t + 3 < k; t += 4) {
          s0 += A[oi + t]! * A[oj + t]!;
          s1 += A[oi + t + 1]! * A[oj + t + 1]!;
          s2 += A[oi + t + 2]! * A[oj + t + 2]!;
          s3 += A[oi + t + 3]! * A[oj + t + 3]!;
        }
        for (; t < k; t++) s0 += A[oi + t]! * A[oj + t]!;
        const s = s0 + s1 + (s2 + s3);
        C[i * n + j] = s;
        C[j * n + i] = s;
      }
    }
  }
  return C;
}

/** C[n, r] = A[n, k] · B[r, k]ᵀ. */
export function matmulNT(A: Float64Array, B: Float64Array, n: number, k: number, r: number): Float64Array {
  const C = new Float64Array(n * r);
  for (let i = 0; i < n; i++) {
    const oi = i * k;
    for (let j = 0; j < r; j++) {
      const oj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += A[oi + t]! * B[oj + t]!;
      C[i * r + j] = s;
    }
  }
  return C;
}

/**
 * Householder reduction of a symmetric matrix (row-major n×n; only its upper triangle is read,
 * and it is destroyed) to tridiagonal form T = Qᵀ A Q. Returns the diagonal `d` and off-diagonal
 * `e` (e[i] couples i and i+1). No Q is accumulated and only the upper triangle is updated, with
 * contiguous row access: about (4/3)n³ flops. Backward stable: the eigenvalues of T are those of
 * A to O(ε‖A‖).
 */
export function tridiagonalize(A: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const s = k + 1;
    const ok = k * n;
    // The column below the diagonal is row k right of the diagonal (symmetry, upper storage).
    let norm2 = 0;
    for (let j = s; j < n; j++) norm2 += A[ok + j]! ** 2;
    const x0 = A[ok + s]!;
    d[k] = A[ok + k]!;
    const norm = Math.sqrt(norm2);
    if (norm === 0 || norm2 === x0 * x0) {
      e[k] = x0;
      continue;
    }
    const alpha = x0 >= 0 ? -norm : norm;
    for (let j = s; j < n; j++) v[j] = A[ok + j]!;
    v[s] = x0 - alpha;
    let vtv = 0;
    for (let j = s; j < n; j++) vtv += v[j]! * v[j]!;
    const beta = 2 / vtv;
    // p = β A22 v from the upper triangle: each stored A_ij (j > i) contributes to p_i and p_j.
    p.fill(0, s, n);
    for (let i = s; i < n; i++) {
      const oi = i * n;
      const vi = v[i]!;
      let acc = A[oi + i]! * vi;
      for (let j = i + 1; j < n; j++) {
        const a = A[oi + j]!;
        acc += a * v[j]!;
        p[j] = p[j]! + a * vi;
      }
      p[i] = p[i]! + acc;
    }
    let pv = 0;
    for (let i = s; i < n; i++) {
      p[i] = beta * p[i]!;
      pv += p[i]! * v[i]!;
    }
    const c = (beta * pv) / 2;
    for (let i = s; i < n; i++) p[i] = p[i]! - c * v[i]!;
    // A22 ← A22 − v wᵀ − w vᵀ on the upper triangle (w stored in p).
    for (let i = s; i < n; i++) {
      const oi = i * n;
      const vi = v[i]!;
      const wi = p[i]!;
      for (let j = i; j < n; j++) A[oi + j] = A[oi + j]! - vi * p[j]! - wi * v[j]!;
    }
    e[k] = alpha;
  }
  if (n >= 2) {
    d[n - 2] = A[(n - 2) * n + (n - 2)]!;
    e[n - 2] = A[(n - 2) * n + (n - 1)]!;
  }
  if (n >= 1) d[n - 1] = A[(n - 1) * n + (n - 1)]!;
  return { d, e };
}

/** Number of eigenvalues of the symmetric tridiagonal (d, e) strictly below x (Sturm count). */
function sturmCount(d: Float64Array, e: Float64Array, x: number, pivmin: number): number {
  let count = 0;
  let q = d[0]! - x;
  if (Math.abs(q) < pivmin) q = -pivmin;
  if (q < 0) count++;
  for (let i = 1; i < d.length; i++) {
    q = d[i]! - x - (e[i - 1]! * e[i - 1]!) / q;
    if (Math.abs(q) < pivmin) q = -pivmin;
    if (q < 0) count++;
  }
  return count;
}

/**
 * The k-th smallest eigenvalue (k = 0 is the smallest) of a symmetric tridiagonal matrix, by
 * bisection on the Sturm count to full float64 resolution.
 */
export function tridiagEigenvalue(d: Float64Array, e: Float64Array, k: number): number {
  const n = d.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.abs(e[i - 1]!) : 0) + (i < n - 1 ? Math.abs(e[i]!) : 0);
    lo = Math.min(lo, d[i]! - r);
    hi = Math.max(hi, d[i]! + r);
    maxAbs = Math.max(maxAbs, Math.abs(d[i]!), r);
  }
  const pivmin = Number.MIN_VALUE * 1e10 + 1e-300 * maxAbs;
  const pad = 1e-14 * Math.max(maxAbs, 1e-300);
  lo -= pad;
  hi += pad;
  for (let it = 0; it < 2000; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (sturmCount(d, e, mid, pivmin) > k) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * Eigenvalues with indices `ks` (ascending order, 0 = smallest) of a symmetric n×n matrix
 * (row-major; the input is not modified).
 */
export function symEigenvalues(A: Float64Array, n: number, ks: readonly number[]): number[] {
  const { d, e } = tridiagonalize(Float64Array.from(A), n);
  return ks.map((k) => tridiagEigenvalue(d, e, k));
}
