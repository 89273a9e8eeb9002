import type { BatchContext, RowSource } from './trainer.js';

/**
 * Checks that training data is finite and throws a RangeError naming the array (X or Y), the
 * first bad flat index and its row and column: NaN or ±∞ in the data would otherwise surface much
 * later as a non-finite gradient or a "diverged" run that never was.
 *
 * @param data - row-major X [n, cols.X] and Y [n, cols.Y]
 * @param cols - columns of X and Y (input and output dimension)
 * @param where - prefix of the error message (the function or field checked)
 */
export function checkFiniteData(
  data: { X: ArrayLike<number>; Y: ArrayLike<number> },
  cols: { X: number; Y: number },
  where: string,
): void {
  for (const name of ['X', 'Y'] as const) {
    const a = data[name];
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      if (!Number.isFinite(x)) {
        const c = cols[name];
        throw new RangeError(
          `${where}: data.${name}[${i}] (row ${Math.floor(i / c)}, column ${i % c}) is ${x}; training data must be finite`,
        );
      }
    }
  }
}

/**
 * Checks the input of `Trainer.predict`: a Float32Array of rows·d entries (rows a non-negative
 * integer); throws a RangeError prefixed by `where`.
 */
export function checkPredictInput(X: Float32Array, rows: number, d: number, where: string): void {
  if (!Number.isInteger(rows) || rows < 0)
    throw new RangeError(`${where}: rows must be an integer ≥ 0, got ${rows}`);
  if (!(X instanceof Float32Array) || X.length !== rows * d)
    throw new RangeError(
      `${where}: X must be a Float32Array of rows·d = ${rows}·${d} entries, got ${X?.length}`,
    );
}

/**
 * Checks data whose input rows come from a {@link RowSource}: `data.rows` is an object with `rows`,
 * `n` equal to data.n and `d` equal to the model's input dimension, and `data.X` is empty (length
 * 0). Throws naming `${where}: ${name}.rows` / `${name}.X`.
 */
export function checkRowSource(
  data: { X: Float32Array; n: number; rows: RowSource },
  d: number,
  where: string,
  name: string,
): void {
  const source = data.rows;
  const field = `${where}: ${name}.rows`;
  if (source === null || typeof source !== 'object' || typeof source.rows !== 'function')
    throw new TypeError(`${field} must be a row source { n, d, rows(indices, batch?) }`);
  if (source.n !== data.n) throw new RangeError(`${field}.n must equal data.n = ${data.n}, got ${source.n}`);
  if (source.d !== d)
    throw new RangeError(`${field}.d must equal the model's input dimension ${d}, got ${source.d}`);
  if (!(data.X instanceof Float32Array) || data.X.length !== 0)
    throw new RangeError(
      `${where}: ${name}.X must be empty (a Float32Array of length 0) when ${name}.rows gives the input rows, got ${data.X?.length} entries`,
    );
}

/**
 * Rows `indices` of a {@link RowSource} (training rows of `batch`, or evaluation rows without),
 * checked: a Float32Array of indices.length·d finite entries, or a RangeError naming `field`
 * and the first bad entry.
 */
export async function readRows(
  source: RowSource,
  indices: Int32Array,
  batch: BatchContext | undefined,
  field: string,
): Promise<Float32Array> {
  const X = await source.rows(indices, batch);
  const want = indices.length * source.d;
  if (!(X instanceof Float32Array) || X.length !== want)
    throw new RangeError(
      `${field}.rows must return a Float32Array of rows·d = ${indices.length}·${source.d} entries, got ${X?.length}`,
    );
  for (let i = 0; i < X.length; i++)
    if (!Number.isFinite(X[i]!))
      throw new RangeError(
        `${field}.rows returned ${X[i]} at entry ${i} (row ${indices[Math.floor(i / source.d)]}, column ${i % source.d}); input rows must be finite`,
      );
  return X;
}

/** The indices start, start + 1, …, start + count − 1. */
export function rowRange(start: number, count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => start + i);
}
