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
