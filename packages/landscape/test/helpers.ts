import { type ModelSpec, createRng, paramShapes } from '@narrownet/models';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';

/** Gaussian array of `size` entries with standard deviation `std`. */
export function gaussian(seed: number, size: number, std = 1): Float64Array {
  return createRng(seed).fillNormal(new Float64Array(size), 0, std);
}

/** Row-major array → ml-matrix. */
export function toMatrix(a: ArrayLike<number>, rows: number, cols: number): Matrix {
  const M = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) M.set(i, j, a[i * cols + j]!);
  return M;
}

/** Singular values (descending) by ml-matrix's SVD, independent of the package's eigen route. */
export function svdValues(a: ArrayLike<number>, rows: number, cols: number): number[] {
  const M = toMatrix(a, rows, cols);
  const svd = new SingularValueDecomposition(rows >= cols ? M : M.transpose(), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  });
  return Array.from(svd.diagonal)
    .map(Math.abs)
    .sort((x, y) => y - x);
}

/** Parameters N(0, 1/fan_in) per tensor (fan_in = shape[1]; 4 for vectors), seeds from `seed` up. */
export function fanInParams(spec: ModelSpec, seed: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  let s = seed;
  for (const [name, shape] of Object.entries(paramShapes(spec))) {
    const fanIn = shape.length === 2 ? shape[1]! : 4;
    out[name] = gaussian(
      s++,
      shape.reduce((a, b) => a * b, 1),
      1 / Math.sqrt(fanIn),
    );
  }
  return out;
}
