/**
 * A dataset held in memory. Every array is row-major: `X` is [n, d], `Y` is [n, k]. Image sets store
 * each row of `X` as the HWC-flattened image (`imageShape`), values in [0, 1] unless normalised.
 */
export interface Dataset {
  /** Short identifier, e.g. 'zhang-synthetic', 'mnist-sample', 'cifar10-train'. */
  name: string;
  /** Inputs, [n, d] row-major. */
  X: Float32Array;
  /** Targets, [n, k] row-major: regression values or one-hot class indicators. */
  Y: Float32Array;
  /** Number of samples. */
  n: number;
  /** Input dimension (h·w·c for image sets). */
  d: number;
  /** Target dimension (number of classes for classification sets). */
  k: number;
  /** Class index per sample, for classification sets. */
  labels?: Int32Array;
  /** Image shape for image sets: X rows are HWC-flattened. */
  imageShape?: readonly [h: number, w: number, c: number];
  /** Class names, for classification sets (length k). */
  classes?: readonly string[];
  /**
   * Arrays whose stored values were changed by the conversion to float32 on loading (a float64
   * or large-integer .npy file), each with its file, stored dtype and the largest relative change.
   * Absent when every value was kept exactly.
   */
  roundedToFloat32?: readonly RoundedArray[];
}

/** One array of a {@link Dataset} whose file values were rounded to float32 on loading. */
export interface RoundedArray {
  /** Which array: the inputs X or the targets Y. */
  array: 'X' | 'Y';
  /** The file it was read from. */
  file: string;
  /** Its dtype in the file, e.g. '<f8'. */
  dtype: string;
  /** max_i |float32(v_i) − v_i| / |v_i| over the nonzero values (0 < this ≤ 2^-24 for '<f8'). */
  maxRelativeChange: number;
}

/** Throws unless `ds` is internally consistent (array lengths, label range, image shape). */
export function checkDataset(ds: Dataset, where: string): Dataset {
  const { n, d, k } = ds;
  for (const [field, v] of [
    ['n', n],
    ['d', d],
    ['k', k],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`${where}: ${field} must be a non-negative integer, got ${v}`);
  }
  if (!(ds.X instanceof Float32Array) || ds.X.length !== n * d) {
    throw new RangeError(
      `${where}: X must be a Float32Array of n·d = ${n}·${d} entries, got ${ds.X?.length}`,
    );
  }
  if (!(ds.Y instanceof Float32Array) || ds.Y.length !== n * k) {
    throw new RangeError(
      `${where}: Y must be a Float32Array of n·k = ${n}·${k} entries, got ${ds.Y?.length}`,
    );
  }
  if (ds.labels !== undefined) {
    if (ds.labels.length !== n) {
      throw new RangeError(`${where}: labels has ${ds.labels.length} entries, expected n = ${n}`);
    }
    for (let i = 0; i < n; i++) {
      const c = ds.labels[i]!;
      if (c < 0 || c >= k) throw new RangeError(`${where}: labels[${i}] = ${c} is outside [0, ${k})`);
    }
  }
  if (ds.imageShape !== undefined) {
    const [h, w, c] = ds.imageShape;
    if (h * w * c !== d) {
      throw new RangeError(`${where}: imageShape [${h}, ${w}, ${c}] has ${h * w * c} values, but d = ${d}`);
    }
  }
  if (ds.classes !== undefined && ds.classes.length !== k) {
    throw new RangeError(`${where}: classes lists ${ds.classes.length} names, expected k = ${k}`);
  }
  return ds;
}

/** One-hot matrix [n, k] of class indices; throws naming `where` for an index outside [0, k). */
export function oneHot(labels: ArrayLike<number>, k: number, where = 'oneHot'): Float32Array {
  if (!Number.isInteger(k) || k <= 0)
    throw new RangeError(`${where}: k must be a positive integer, got ${k}`);
  const Y = new Float32Array(labels.length * k);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= k) {
      throw new RangeError(`${where}: label ${c} at index ${i} is outside [0, ${k})`);
    }
    Y[i * k + c] = 1;
  }
  return Y;
}

/** Throws unless `v` is an integer ≥ `min`, naming the parameter. */
export function intParam(v: unknown, name: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Throws naming `where` and the first offending index if `a` holds NaN or ±Infinity. */
export function checkFinite(a: ArrayLike<number>, where: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!))
      throw new RangeError(`${where}: non-finite value ${a[i]} at flat index ${i}`);
  }
}
