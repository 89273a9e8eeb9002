import type { ModelSpec } from '@narrownet/models';
import { inputDim, paramShapes, requireMlpLike, validateSpec } from '@narrownet/models';

/**
 * Parameters as accepted by every function of this package: a `ParamTree`
 * (`{ W: { shape, data } }`) or plain arrays keyed by name (`{ W: Float64Array }`).
 */
export type ParamsLike = Record<string, ArrayLike<number> | { readonly data: ArrayLike<number> }>;

/** Converts {@link ParamsLike} to float64 arrays keyed by name, checking every size against the spec. */
export function toParams64(spec: ModelSpec, params: ParamsLike, where: string): Record<string, Float64Array> {
  if (params === null || typeof params !== 'object') {
    throw new TypeError(`${where}: params must be an object of named tensors`);
  }
  const shapes = paramShapes(requireMlpLike(spec, `${where}: spec`));
  const out: Record<string, Float64Array> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const p = params[name];
    if (p === undefined || p === null) throw new RangeError(`${where}: params is missing tensor "${name}"`);
    const arr: ArrayLike<number> =
      typeof (p as ArrayLike<number>).length === 'number'
        ? (p as ArrayLike<number>)
        : (p as { data: ArrayLike<number> }).data;
    const size = shape.reduce((a, b) => a * b, 1);
    if (!arr || arr.length !== size) {
      throw new RangeError(`${where}: params "${name}" has ${arr?.length} entries, expected ${size}`);
    }
    const f = Float64Array.from(arr);
    for (let i = 0; i < f.length; i++) {
      if (!Number.isFinite(f[i]!)) throw new RangeError(`${where}: params "${name}"[${i}] is not finite`);
    }
    out[name] = f;
  }
  return out;
}

/** Checks that n is a positive integer. */
export function checkN(n: unknown, where: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) {
    throw new RangeError(`${where}: n must be a positive integer, got ${JSON.stringify(n)}`);
  }
  return n;
}

/** Validates spec, n and X ([n, d] row-major, finite) and returns X as float64. */
export function checkX(spec: ModelSpec, X: ArrayLike<number>, n: number, where: string): Float64Array {
  validateSpec(requireMlpLike(spec, `${where}: spec`));
  checkN(n, where);
  return checkMatrix(X, n, inputDim(spec), 'X', where);
}

/** Validates a row-major [rows, cols] finite matrix and returns it as float64. */
export function checkMatrix(
  A: ArrayLike<number>,
  rows: number,
  cols: number,
  name: string,
  where: string,
): Float64Array {
  if (!A || typeof A.length !== 'number')
    throw new TypeError(`${where}: ${name} must be an array of numbers`);
  if (A.length !== rows * cols) {
    throw new RangeError(
      `${where}: ${name} has ${A.length} entries, expected ${rows}·${cols} = ${rows * cols} (row-major)`,
    );
  }
  const out = Float64Array.from(A);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) throw new RangeError(`${where}: ${name}[${i}] is not finite`);
  }
  return out;
}

/** Checks an optional positive finite number option. */
export function positiveOption(value: unknown, fallback: number, name: string, where: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${where}: ${name} must be a positive finite number, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks an optional positive integer option. */
export function intOption(value: unknown, fallback: number, name: string, where: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${where}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}
