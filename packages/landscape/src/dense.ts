import { Matrix, SingularValueDecomposition } from 'ml-matrix';

/** App. C's three numerical cutoff criteria on singular values (Kawaguchi, Huang & Kaelbling 2019). */
export type CutoffCriterion = 'numericalRecipes' | 'golubVanLoan' | 'lapack';

/** The cutoff names, in App. C's order. */
export const CUTOFF_CRITERIA: readonly CutoffCriterion[] = ['numericalRecipes', 'golubVanLoan', 'lapack'];

/**
 * App. C's cutoff for M ∈ R^{d'×d} (machine precision ε = 2⁻⁵²):
 * - numericalRecipes (Press et al. 2007; the one App. C used): ½·σ_max(M)·ε·√(d' + d + 1);
 * - golubVanLoan (Golub & Van Loan 1996): ½·‖M‖_∞·ε with ‖M‖_∞ the largest absolute row sum;
 * - lapack (Netlib LAPACK documentation): σ_max(M)·ε.
 */
export function cutoffValue(
  criterion: CutoffCriterion,
  sigmaMax: number,
  normInf: number,
  rows: number,
  cols: number,
): number {
  const eps = Number.EPSILON;
  switch (criterion) {
    case 'numericalRecipes':
      return 0.5 * sigmaMax * eps * Math.sqrt(rows + cols + 1);
    case 'golubVanLoan':
      return 0.5 * normInf * eps;
    case 'lapack':
      return sigmaMax * eps;
    default:
      throw new RangeError(
        `cutoff must be one of ${CUTOFF_CRITERIA.join(', ')}, got ${JSON.stringify(criterion)}`,
      );
  }
}

/** Result of {@link leastSquaresResidual}. */
export interface ResidualResult {
  /** ‖(I − P[M]) y‖², P[M] the projection on the singular vectors above the cutoff. */
  residual2: number;
  /** Numerical rank: singular values above the cutoff. */
  rank: number;
  /** The cutoff value used. */
  cutoff: number;
  /** Largest singular value of M. */
  sigmaMax: number;
  /** Smallest singular value of M kept in the rank (0 when rank is 0). */
  sigmaMinKept: number;
}

/**
 * Householder QR (no pivoting) of the len×count matrix whose columns are `cols` (len ≥ count,
 * overwritten). Returns R (count×count row-major) and a function applying Qᵀ to a vector in place.
 */
function householderQR(cols: Float64Array[], len: number) {
  const count = cols.length;
  const vs: (Float64Array | null)[] = [];
  const betas: number[] = [];
  for (let k = 0; k < count; k++) {
    const a = cols[k]!;
    let norm2 = 0;
    for (let i = k; i < len; i++) norm2 += a[i]! * a[i]!;
    const norm = Math.sqrt(norm2);
    if (norm === 0) {
      vs.push(null);
      betas.push(0);
      continue;
    }
    const x0 = a[k]!;
    const alpha = x0 >= 0 ? -norm : norm;
    const v = a.slice(k, len);
    v[0] = x0 - alpha;
    let vtv = 0;
    for (let i = 0; i < v.length; i++) vtv += v[i]! * v[i]!;
    const beta = vtv === 0 ? 0 : 2 / vtv;
    vs.push(v);
    betas.push(beta);
    a[k] = alpha;
    for (let i = k + 1; i < len; i++) a[i] = 0;
    for (let j = k + 1; j < count; j++) {
      const c = cols[j]!;
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i]! * c[k + i]!;
      s *= beta;
      if (s !== 0) for (let i = 0; i < v.length; i++) c[k + i] = c[k + i]! - s * v[i]!;
    }
  }
  const R = new Float64Array(count * count);
  for (let j = 0; j < count; j++) for (let i = 0; i <= j; i++) R[i * count + j] = cols[j]![i]!;
  const applyQt = (y: Float64Array): void => {
    for (let k = 0; k < count; k++) {
      const v = vs[k];
      if (!v) continue;
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i]! * y[k + i]!;
      s *= betas[k]!;
      for (let i = 0; i < v.length; i++) y[k + i] = y[k + i]! - s * v[i]!;
    }
  };
  return { R, applyQt };
}

/** Left singular vectors and values of a square row-major k×k matrix by ml-matrix. */
function svdLeft(A: Float64Array, k: number): { s: number[]; U: Matrix } {
  const M = new Matrix(k, k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) M.set(i, j, A[i * k + j]!);
  const svd = new SingularValueDecomposition(M, {
    computeLeftSingularVectors: true,
    computeRightSingularVectors: false,
    autoTranspose: false,
  });
  return { s: Array.from(svd.diagonal).map(Math.abs), U: svd.leftSingularVectors };
}

/**
 * Residual of the least-squares projection of y on the column space of M (rows×cols, given as
 * its columns, each of length rows), in the residual form: Householder QR, an SVD of the
 * triangular factor, and the sum of squares of the components of y outside the kept singular
 * directions (no subtraction ‖y‖² − ‖Py‖², so no cancellation). Rank by the chosen cutoff.
 * The columns are overwritten.
 */
export function leastSquaresResidual(
  cols: Float64Array[],
  rows: number,
  y: Float64Array,
  criterion: CutoffCriterion,
): ResidualResult {
  const P = cols.length;
  let normInf = 0;
  {
    const rs = new Float64Array(rows);
    for (const c of cols) for (let i = 0; i < rows; i++) rs[i]! += Math.abs(c[i]!);
    for (let i = 0; i < rows; i++) normInf = Math.max(normInf, rs[i]!);
  }
  if (P === 0) {
    let r2 = 0;
    for (let i = 0; i < rows; i++) r2 += y[i]! * y[i]!;
    return { residual2: r2, rank: 0, cutoff: 0, sigmaMax: 0, sigmaMinKept: 0 };
  }
  let s: number[];
  let coords: number[];
  let outside = 0;
  if (rows >= P) {
    const { R, applyQt } = householderQR(cols, rows);
    const qy = Float64Array.from(y);
    applyQt(qy);
    for (let i = P; i < rows; i++) outside += qy[i]! * qy[i]!;
    const { s: sv, U } = svdLeft(R, P);
    s = sv;
    coords = sv.map((_, k) => {
      let acc = 0;
      for (let i = 0; i < P; i++) acc += U.get(i, k) * qy[i]!;
      return acc;
    });
  } else {
    // Wide: Mᵀ = Q R (R is rows×rows), so M = Rᵀ Qᵀ and range(M) = range(Rᵀ).
    const rowsAsCols: Float64Array[] = [];
    for (let i = 0; i < rows; i++) {
      const r = new Float64Array(P);
      for (let q = 0; q < P; q++) r[q] = cols[q]![i]!;
      rowsAsCols.push(r);
    }
    const { R } = householderQR(rowsAsCols, P);
    const Rt = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) Rt[i * rows + j] = R[j * rows + i]!;
    const { s: sv, U } = svdLeft(Rt, rows);
    s = sv;
    coords = sv.map((_, k) => {
      let acc = 0;
      for (let i = 0; i < rows; i++) acc += U.get(i, k) * y[i]!;
      return acc;
    });
  }
  const sigmaMax = Math.max(...s);
  const cut = cutoffValue(criterion, sigmaMax, normInf, rows, P);
  let rank = 0;
  let sigmaMinKept = Number.POSITIVE_INFINITY;
  let residual2 = outside;
  for (let k = 0; k < s.length; k++) {
    if (s[k]! > cut) {
      rank++;
      sigmaMinKept = Math.min(sigmaMinKept, s[k]!);
    } else residual2 += coords[k]! * coords[k]!;
  }
  return { residual2, rank, cutoff: cut, sigmaMax, sigmaMinKept: rank ? sigmaMinKept : 0 };
}
