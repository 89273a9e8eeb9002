import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

/** MATLAB numeric class of a {@link MatArray}. */
export type MatClass =
  | 'double'
  | 'single'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64';

/** A real numeric array read from a MATLAB v5 .mat file. */
export interface MatArray {
  /** Variable name. */
  name: string;
  /** MATLAB class of the variable. */
  class: MatClass;
  /** Dimensions, as MATLAB reports them (at least two). */
  dims: number[];
  /**
   * Values in MATLAB's column-major order (first index fastest). uint8 arrays are returned as
   * Uint8Array; every other class as Float64Array (int64/uint64 beyond 2⁵³ lose precision).
   */
  data: Uint8Array | Float64Array;
}

// miXXX data types of the MAT-file v5 format (MathWorks, "MAT-File Format", Table 1-1).
const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT16 = 3;
const MI_UINT16 = 4;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_SINGLE = 7;
const MI_DOUBLE = 9;
const MI_INT64 = 12;
const MI_UINT64 = 13;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;

// mxXXX array classes (Table 1-3), numeric ones only.
const CLASSES: Record<number, MatClass> = {
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
};
const CLASS_NAMES: Record<number, string> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  16: 'function handle',
  17: 'opaque',
};

const SIZES: Record<number, number> = {
  [MI_INT8]: 1,
  [MI_UINT8]: 1,
  [MI_INT16]: 2,
  [MI_UINT16]: 2,
  [MI_INT32]: 4,
  [MI_UINT32]: 4,
  [MI_SINGLE]: 4,
  [MI_DOUBLE]: 8,
  [MI_INT64]: 8,
  [MI_UINT64]: 8,
};

interface Element {
  type: number;
  /** View of the element's data bytes. */
  body: DataView;
}

class Reader {
  constructor(
    readonly file: string,
    readonly le: boolean,
  ) {}

  fail(msg: string): never {
    throw new Error(`readMat: ${this.file}: ${msg}`);
  }

  /** Reads the data element at byte `at` of `view`; returns it and the offset of the next one. */
  element(view: DataView, at: number, padded: boolean): { el: Element; next: number } {
    if (at + 8 > view.byteLength) this.fail(`truncated data element tag at byte ${view.byteOffset + at}`);
    const first = view.getUint32(at, this.le);
    if (first >>> 16 !== 0) {
      // Small data element: 2 bytes size, 2 bytes type, up to 4 bytes of data in the tag.
      const type = first & 0xffff;
      const size = first >>> 16;
      if (size > 4) this.fail(`small data element of ${size} bytes at byte ${view.byteOffset + at}`);
      return { el: { type, body: new DataView(view.buffer, view.byteOffset + at + 4, size) }, next: at + 8 };
    }
    const type = first;
    const size = view.getUint32(at + 4, this.le);
    // Compressed elements are not padded to 8 bytes (MATLAB and scipy write them back to back).
    if (type === MI_COMPRESSED) padded = false;
    if (at + 8 + size > view.byteLength) {
      this.fail(
        `data element at byte ${view.byteOffset + at} claims ${size} bytes, past the end of its container`,
      );
    }
    const body = new DataView(view.buffer, view.byteOffset + at + 8, size);
    const next = at + 8 + (padded ? Math.ceil(size / 8) * 8 : size);
    return { el: { type, body }, next };
  }

  numbers(el: Element, what: string): Float64Array {
    const size = SIZES[el.type];
    if (size === undefined) this.fail(`${what}: data type ${el.type} is not numeric`);
    const count = Math.floor(el.body.byteLength / size);
    const out = new Float64Array(count);
    const v = el.body;
    for (let i = 0; i < count; i++) {
      const o = i * size;
      switch (el.type) {
        case MI_INT8:
          out[i] = v.getInt8(o);
          break;
        case MI_UINT8:
          out[i] = v.getUint8(o);
          break;
        case MI_INT16:
          out[i] = v.getInt16(o, this.le);
          break;
        case MI_UINT16:
          out[i] = v.getUint16(o, this.le);
          break;
        case MI_INT32:
          out[i] = v.getInt32(o, this.le);
          break;
        case MI_UINT32:
          out[i] = v.getUint32(o, this.le);
          break;
        case MI_SINGLE:
          out[i] = v.getFloat32(o, this.le);
          break;
        case MI_DOUBLE:
          out[i] = v.getFloat64(o, this.le);
          break;
        case MI_INT64:
          out[i] = Number(v.getBigInt64(o, this.le));
          break;
        default:
          out[i] = Number(v.getBigUint64(o, this.le));
      }
    }
    return out;
  }

  matrix(body: DataView): MatArray {
    let at = 0;
    const flags = this.element(body, at, true);
    at = flags.next;
    if (flags.el.type !== MI_UINT32 || flags.el.body.byteLength < 8)
      this.fail('array flags subelement missing');
    const word = flags.el.body.getUint32(0, this.le);
    const cls = word & 0xff;
    const complex = (word & 0x0800) !== 0;
    const dimsEl = this.element(body, at, true);
    at = dimsEl.next;
    if (dimsEl.el.type !== MI_INT32) this.fail('dimensions subelement missing');
    const dims = Array.from(this.numbers(dimsEl.el, 'dimensions'));
    const nameEl = this.element(body, at, true);
    at = nameEl.next;
    if (nameEl.el.type !== MI_INT8) this.fail('array name subelement missing');
    const name = new TextDecoder('latin1').decode(
      new Uint8Array(nameEl.el.body.buffer, nameEl.el.body.byteOffset, nameEl.el.body.byteLength),
    );
    const klass = CLASSES[cls];
    if (klass === undefined) {
      this.fail(
        `variable '${name}' is a ${CLASS_NAMES[cls] ?? `class-${cls}`} array; only real numeric arrays are supported`,
      );
    }
    if (complex) this.fail(`variable '${name}' is complex; only real numeric arrays are supported`);
    const real = this.element(body, at, true).el;
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Uint8Array | Float64Array;
    if (klass === 'uint8' && real.type === MI_UINT8) {
      data = new Uint8Array(real.body.buffer, real.body.byteOffset, real.body.byteLength).slice();
    } else {
      const vals = this.numbers(real, `variable '${name}'`);
      data = klass === 'uint8' ? Uint8Array.from(vals) : vals;
    }
    if (data.length !== count) {
      this.fail(
        `variable '${name}' has ${data.length} values, its dimensions [${dims.join(', ')}] need ${count}`,
      );
    }
    return { name, class: klass, dims, data };
  }
}

/**
 * Reads every variable of a MATLAB v5 .mat file (the format of `save -v7` and of
 * scipy.io.savemat): 128-byte header, then data elements, each `miMATRIX` or an
 * `miCOMPRESSED` (zlib) wrapper around one. Only real numeric arrays are supported; a cell,
 * struct, char, sparse or complex variable, a v7.3 (HDF5) or v4 file, a bad zlib stream or a
 * truncated element throws an error naming `file`. Little- and big-endian files are read.
 */
export function readMat(bytes: Uint8Array, file = '<bytes>'): Map<string, MatArray> {
  const fail = (msg: string): never => {
    throw new Error(`readMat: ${file}: ${msg}`);
  };
  if (bytes.length < 128) fail(`${bytes.length} bytes is too short for a MAT-file v5 header (128 bytes)`);
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 116));
  if (head.startsWith('MATLAB 7.3')) fail('MAT-file v7.3 (HDF5) is not supported; save with -v7');
  const endian = String.fromCharCode(bytes[126]!, bytes[127]!);
  if (!head.startsWith('MATLAB') || (endian !== 'IM' && endian !== 'MI')) {
    fail('not a MAT-file v5 (header must start with "MATLAB" and carry the IM/MI endian indicator)');
  }
  const le = endian === 'IM';
  const r = new Reader(file, le);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(124, le);
  if (version !== 0x0100) fail(`unsupported MAT-file version 0x${version.toString(16)}`);
  const out = new Map<string, MatArray>();
  let at = 128;
  while (at < view.byteLength) {
    const { el, next } = r.element(view, at, true);
    let m: Element = el;
    if (el.type === MI_COMPRESSED) {
      let raw: Buffer;
      try {
        raw = inflateSync(new Uint8Array(el.body.buffer, el.body.byteOffset, el.body.byteLength));
      } catch (e) {
        fail(`compressed element at byte ${at} is not a valid zlib stream: ${(e as Error).message}`);
      }
      const inner = new DataView(raw!.buffer, raw!.byteOffset, raw!.byteLength);
      m = r.element(inner, 0, false).el;
    }
    if (m.type !== MI_MATRIX) fail(`top-level data element of type ${m.type} at byte ${at} is not miMATRIX`);
    const arr = r.matrix(m.body);
    out.set(arr.name, arr);
    at = next;
  }
  return out;
}

/** {@link readMat} on a file path. */
export function loadMatFile(file: string): Map<string, MatArray> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(`readMat: cannot read ${file}: ${(e as Error).message}`);
  }
  return readMat(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}
