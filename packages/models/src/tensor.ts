/**
 * A dense float32 tensor living in host memory, row-major. Parameter trees are plain records of
 * these, so any optimizer, analysis or engine can read and replace any subset of parameters.
 */
export interface HostTensor {
  /** Dimensions, outermost first (row-major). A scalar has shape `[]`. */
  readonly shape: readonly number[];
  /** Row-major values; `data.length` equals the product of `shape`. */
  readonly data: Float32Array;
}

/** Named parameters of a model, e.g. `{ W: [m, d], v: [m/2] }` for the paired net. */
export type ParamTree = Record<string, HostTensor>;

/** Number of elements of a tensor of the given shape. */
export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/**
 * Makes a {@link HostTensor}, checking that `data` (copied into a Float32Array when it is not
 * one) has exactly as many entries as `shape` asks for.
 */
export function hostTensor(shape: readonly number[], data?: ArrayLike<number>): HostTensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new RangeError(`hostTensor: shape [${shape.join(', ')}] has an invalid dimension ${d}`);
  }
  const n = sizeOf(shape);
  if (data === undefined) return { shape: [...shape], data: new Float32Array(n) };
  if (data.length !== n) {
    throw new RangeError(`hostTensor: shape [${shape.join(', ')}] needs ${n} values, got ${data.length}`);
  }
  return { shape: [...shape], data: data instanceof Float32Array ? data : Float32Array.from(data) };
}

/** Deep copy of a parameter tree (fresh buffers). */
export function cloneParams(params: ParamTree): ParamTree {
  const out: ParamTree = {};
  for (const [k, t] of Object.entries(params)) out[k] = { shape: [...t.shape], data: t.data.slice() };
  return out;
}
