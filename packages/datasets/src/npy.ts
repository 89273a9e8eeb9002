import { readFileSync } from 'node:fs';
import { type Dataset, type RoundedArray, checkDataset, checkFinite, oneHot } from './types.js';

/** The .npy dtypes {@link loadNpy} reads (little-endian or byte-sized). */
export type NpyDType = '<f4' | '<f8' | '<i4' | '<i8' | '|u1';

/** An array read from a .npy file. */
export interface NpyArray {
  /** The file's dtype descriptor. */
  dtype: NpyDType;
  /** Dimensions, outermost first (C order). */
  shape: number[];
  /** Values in C (row-major) order, in the file's own type (`<i8` as BigInt64Array). */
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

const DTYPES: Record<NpyDType, { bytes: number; make: (b: ArrayBuffer) => NpyArray['data'] }> = {
  '<f4': { bytes: 4, make: (b) => new Float32Array(b) },
  '<f8': { bytes: 8, make: (b) => new Float64Array(b) },
  '<i4': { bytes: 4, make: (b) => new Int32Array(b) },
  '<i8': { bytes: 8, make: (b) => new BigInt64Array(b) },
  '|u1': { bytes: 1, make: (b) => new Uint8Array(b) },
};

/**
 * Reads a NumPy .npy file (format versions 1.0, 2.0 and 3.0). Supported dtypes: '<f4', '<f8',
 * '<i4', '<i8', '|u1' ('<u1' is read as '|u1'); only C order (fortran_order False). Anything
 * else — bad magic, unsupported dtype, Fortran order, truncated data — throws naming the file.
 */
export function loadNpy(path: string): NpyArray {
  const fail = (msg: string): never => {
    throw new Error(`loadNpy: ${path}: ${msg}`);
  };
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`loadNpy: cannot read ${path}: ${(e as Error).message}`);
  }
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    fail('not a .npy file (magic string \\x93NUMPY missing)');
  }
  const major = buf[6]!;
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail('truncated header');
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    return fail(`unsupported .npy format version ${major}.${buf[7]}`);
  }
  if (buf.length < start + headerLen) fail(`truncated header (needs ${headerLen} bytes)`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    fail(`cannot parse header ${JSON.stringify(header.trim())}`);
  }
  const dtype = (descr === '<u1' ? '|u1' : descr) as NpyDType;
  if (!(dtype in DTYPES)) {
    fail(`unsupported dtype '${descr}' (supported: ${Object.keys(DTYPES).join(', ')}; big-endian is not)`);
  }
  if (fortran === 'True')
    fail('fortran_order True is not supported; save a C-contiguous array (np.ascontiguousarray)');
  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) fail(`bad dimension '${s}' in shape (${shapeText})`);
      return v;
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const { bytes, make } = DTYPES[dtype];
  const offset = start + headerLen;
  const need = count * bytes;
  if (buf.length - offset < need) {
    fail(
      `truncated data: shape (${shape.join(', ')}) of ${dtype} needs ${need} bytes, found ${buf.length - offset}`,
    );
  }
  if (buf.length - offset > need) fail(`${buf.length - offset - need} unexpected bytes after the data`);
  const copy = buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + need) as ArrayBuffer;
  return { dtype, shape, data: make(copy) };
}

/** Options of {@link loadNpyDataset}. */
export interface NpyDatasetOptions {
  /** Dataset name. Default 'npy'. */
  name?: string;
  /**
   * How to read y. `'auto'` (default): a 1-D integer array is class labels (one-hot Y), anything
   * else regression targets. `'labels'` forces class labels; `'regression'` forces raw targets.
   */
  targets?: 'auto' | 'labels' | 'regression';
  /** Number of classes for labels (default: max label + 1). */
  numClasses?: number;
}

/**
 * A {@link Dataset} from two .npy files: X of shape [n, …] (rows flattened; [n, h, w] and
 * [n, h, w, c] also set imageShape) and y of shape [n] or [n, k]. Float values must be finite;
 * `|u1` image data is kept as 0…255 (scale it yourself). Errors name the offending file.
 */
export function loadNpyDataset(xPath: string, yPath: string, options: NpyDatasetOptions = {}): Dataset {
  const where = 'loadNpyDataset';
  const xa = loadNpy(xPath);
  const ya = loadNpy(yPath);
  if (xa.shape.length < 1)
    throw new Error(`${where}: ${xPath}: X must have at least one dimension, got a scalar`);
  if (ya.shape.length < 1 || ya.shape.length > 2) {
    throw new Error(`${where}: ${yPath}: y must have shape [n] or [n, k], got (${ya.shape.join(', ')})`);
  }
  const n = xa.shape[0]!;
  if (ya.shape[0] !== n) {
    throw new Error(`${where}: ${xPath} has ${n} rows but ${yPath} has ${ya.shape[0]}`);
  }
  const d = xa.shape.slice(1).reduce((a, b) => a * b, 1);
  const rounded: RoundedArray[] = [];
  const X = toFloat32(xa, xPath, where);
  noteRounding(rounded, 'X', xPath, xa, X);
  checkFinite(X, `${where}: ${xPath}`);
  const integer = ya.dtype === '<i4' || ya.dtype === '<i8' || ya.dtype === '|u1';
  const mode = options.targets ?? 'auto';
  if (mode !== 'auto' && mode !== 'labels' && mode !== 'regression') {
    throw new RangeError(
      `${where}: targets must be 'auto', 'labels' or 'regression', got ${JSON.stringify(mode)}`,
    );
  }
  const asLabels = mode === 'labels' || (mode === 'auto' && integer && ya.shape.length === 1);
  const imageShape =
    xa.shape.length === 4
      ? ([xa.shape[1]!, xa.shape[2]!, xa.shape[3]!] as const)
      : xa.shape.length === 3
        ? ([xa.shape[1]!, xa.shape[2]!, 1] as const)
        : undefined;
  const base = { name: options.name ?? 'npy', X, n, d, ...(imageShape ? { imageShape } : {}) };
  if (!asLabels) {
    const Y = toFloat32(ya, yPath, where);
    checkFinite(Y, `${where}: ${yPath}`);
    noteRounding(rounded, 'Y', yPath, ya, Y);
    warnRounding(rounded, where);
    const extra = rounded.length > 0 ? { roundedToFloat32: rounded } : {};
    return checkDataset({ ...base, Y, k: ya.shape.length === 2 ? ya.shape[1]! : 1, ...extra }, where);
  }
  warnRounding(rounded, where);
  if (ya.shape.length !== 1)
    throw new Error(`${where}: ${yPath}: class labels must be 1-D, got (${ya.shape.join(', ')})`);
  const labels = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = Number(ya.data[i]!);
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
      throw new RangeError(
        `${where}: ${yPath}: label ${ya.data[i]} at index ${i} is not a non-negative integer`,
      );
    }
    labels[i] = v;
    if (v > max) max = v;
  }
  const k = options.numClasses ?? max + 1;
  if (!Number.isInteger(k) || k <= max || k <= 0) {
    throw new RangeError(`${where}: ${yPath}: numClasses ${k} does not cover the largest label ${max}`);
  }
  const extra = rounded.length > 0 ? { roundedToFloat32: rounded } : {};
  return checkDataset({ ...base, Y: oneHot(labels, k, `${where}: ${yPath}`), k, labels, ...extra }, where);
}

/** Records `array` in `out` when converting `source` to `f32` changed a value. */
function noteRounding(
  out: RoundedArray[],
  array: 'X' | 'Y',
  file: string,
  source: NpyArray,
  f32: Float32Array,
): void {
  if (source.data instanceof Float32Array) return;
  let max = 0;
  for (let i = 0; i < f32.length; i++) {
    const v = Number(source.data[i]!);
    if (v !== 0 && f32[i] !== v) max = Math.max(max, Math.abs(f32[i]! - v) / Math.abs(v));
  }
  if (max > 0) out.push({ array, file, dtype: source.dtype, maxRelativeChange: max });
}

const warned = new Set<string>();

/** One line on stderr per file (once per process) saying that its values were rounded. */
function warnRounding(rounded: readonly RoundedArray[], where: string): void {
  for (const r of rounded) {
    if (warned.has(r.file)) continue;
    warned.add(r.file);
    process.stderr.write(
      `${where}: ${r.file} (${r.array}) is ${r.dtype}; narrownet trains in float32, so its values were rounded to float32 (largest relative change ${r.maxRelativeChange.toExponential(2)})\n`,
    );
  }
}

function toFloat32(a: NpyArray, path: string, where: string): Float32Array {
  if (a.data instanceof Float32Array) return a.data;
  if (a.data instanceof BigInt64Array) {
    const out = new Float32Array(a.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = a.data[i]!;
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new RangeError(`${where}: ${path}: int64 value ${v} at index ${i} exceeds 2^53`);
      }
      out[i] = Number(v);
    }
    return out;
  }
  return Float32Array.from(a.data);
}
