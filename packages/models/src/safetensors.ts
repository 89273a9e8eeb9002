import { type HostTensor, sizeOf } from './tensor.js';

/** Element types narrownet reads from safetensors files (it writes F32 only). */
export type SafetensorsDType = 'F32' | 'F64' | 'F16' | 'BF16' | 'I32' | 'I64';

const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** Dtypes of the safetensors format that narrownet recognises but does not read. */
const OTHER_DTYPES = ['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2'];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One tensor's entry in a parsed header (internal: the checkpoint loader checks dtypes and bytes). */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: number[];
  /** Absolute byte range of the tensor's data inside the file. */
  readonly begin: number;
  readonly end: number;
}

/** A validated safetensors header (internal). */
export interface ParsedSafetensors {
  readonly entries: SafetensorsEntry[];
  readonly metadata: Record<string, string>;
}

function fail(source: string, message: string): never {
  throw new Error(`safetensors ${source}: ${message}`);
}

/**
 * Validates a safetensors file against the format: 8-byte little-endian header length, a JSON
 * object header, known dtypes, shapes matching the byte spans, and a data buffer that the
 * offsets index completely (contiguous, no overlap, no gap, nothing after the last tensor).
 * Internal: {@link decodeSafetensors} is the public entry point.
 */
export function parseSafetensors(bytes: Uint8Array, source = '<memory>'): ParsedSafetensors {
  if (!(bytes instanceof Uint8Array)) fail(source, 'expected the file contents as a Uint8Array');
  if (bytes.length < 8)
    fail(source, `file is ${bytes.length} bytes, shorter than the 8-byte header length field`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    fail(source, `header length ${n64} reaches beyond the end of the ${bytes.length}-byte file (truncated?)`);
  }
  const n = Number(n64);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(source, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(source, `header is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail(source, 'header is not a JSON object');
  const dataStart = 8 + n;
  const bufferLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        fail(source, '"__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `"__metadata__" entry "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (name === '' || name === '__proto__') fail(source, `${where}: invalid tensor name`);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      fail(source, `${where}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(source, `${where}: field "dtype" is missing or not a string`);
    if (!(dtype in DTYPE_BYTES)) {
      const why = OTHER_DTYPES.includes(dtype) ? 'unsupported' : 'unknown';
      fail(
        source,
        `${where}: ${why} dtype ${JSON.stringify(dtype)}; readable: ${Object.keys(DTYPE_BYTES).join(', ')}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(source, `${where}: field "shape" must be an array of non-negative integers`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(source, `${where}: field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end`);
    }
    const [b, e] = offsets as [number, number];
    const bytesPer = DTYPE_BYTES[dtype as SafetensorsDType];
    const want = sizeOf(shape as number[]) * bytesPer;
    if (want !== e - b) {
      fail(
        source,
        `${where}: shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${want} bytes but data_offsets [${b}, ${e}] span ${e - b}`,
      );
    }
    if (e > bufferLength) {
      fail(
        source,
        `${where}: data_offsets [${b}, ${e}] lie outside the ${bufferLength}-byte data buffer (file truncated?)`,
      );
    }
    entries.push({
      name,
      dtype: dtype as SafetensorsDType,
      shape: [...(shape as number[])],
      begin: dataStart + b,
      end: dataStart + e,
    });
  }
  // The buffer must be indexed completely: sorted by offset, each tensor starts where the last ended.
  const sorted = [...entries].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = dataStart;
  let prev = '';
  for (const t of sorted) {
    const rel = (p: number) => p - dataStart;
    if (t.begin < pos)
      fail(source, `tensor "${t.name}": data_offsets start at ${rel(t.begin)}, overlapping tensor "${prev}"`);
    if (t.begin > pos) {
      fail(
        source,
        `tensor "${t.name}": data_offsets start at ${rel(t.begin)} but the previous tensor ends at ${rel(pos)}; the buffer must be contiguous`,
      );
    }
    pos = t.end;
    prev = t.name;
  }
  if (pos !== bytes.length) {
    fail(
      source,
      `${bytes.length - pos} bytes of trailing data after the last tensor (the buffer must be fully indexed)`,
    );
  }
  return { entries, metadata };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Converts one parsed entry's bytes into float32 values (internal). */
export function entryValues(bytes: Uint8Array, t: SafetensorsEntry): Float32Array {
  const count = sizeOf(t.shape);
  if (t.dtype === 'F32' && LITTLE_ENDIAN) {
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset + t.begin, bytes.byteOffset + t.end));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + t.begin, t.end - t.begin);
  const out = new Float32Array(count);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case 'BF16': {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        tmp.setUint32(0, view.getUint16(2 * i, true) << 16);
        out[i] = tmp.getFloat32(0);
      }
      break;
    }
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
  }
  return out;
}

/**
 * Reads a safetensors file (https://github.com/huggingface/safetensors: 8-byte little-endian
 * header length N, an N-byte JSON header, then the data buffer).
 *
 * Every tensor is returned as float32: F32 is copied exactly; F64, F16, BF16, I32 and I64 are
 * converted to the nearest float32 (F64 and large integers lose precision). Throws an Error naming
 * `source` (the file, for messages) and the tensor when the file is truncated, the header is not a
 * JSON object, a dtype is unknown, a shape does not match its byte span, offsets fall outside the
 * buffer, overlap or leave gaps, or bytes trail the last tensor.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = '<memory>',
): { tensors: Record<string, HostTensor>; metadata: Record<string, string> } {
  const { entries, metadata } = parseSafetensors(bytes, source);
  const tensors: Record<string, HostTensor> = {};
  for (const t of entries) tensors[t.name] = { shape: t.shape, data: entryValues(bytes, t) };
  return { tensors, metadata };
}

/**
 * Writes tensors as a safetensors file with dtype F32 (little-endian), in the order given, with
 * optional string metadata under `__metadata__`. The JSON header is padded with spaces so the
 * data buffer starts at a multiple of 8 bytes. Throws a RangeError naming the tensor when its
 * data length does not match its shape, or when a name is empty or `__metadata__`.
 */
export function encodeSafetensors(
  tensors: Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object')
      throw new TypeError('encodeSafetensors: metadata must be an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new TypeError(`encodeSafetensors: metadata entry "${k}" must be a string, got ${typeof v}`);
    }
    if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  const order: [string, HostTensor][] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '' || name === '__metadata__' || name === '__proto__')
      throw new RangeError(`encodeSafetensors: invalid tensor name ${JSON.stringify(name)}`);
    if (!t || !Array.isArray(t.shape) || !(t.data instanceof Float32Array))
      throw new TypeError(`encodeSafetensors: tensor "${name}" must be a HostTensor with Float32Array data`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new RangeError(
        `encodeSafetensors: tensor "${name}" has an invalid shape [${t.shape.join(', ')}]`,
      );
    const count = sizeOf(t.shape);
    if (t.data.length !== count) {
      throw new RangeError(
        `encodeSafetensors: tensor "${name}" has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}`,
      );
    }
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
    order.push([name, t]);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const [, t] of order) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i]!, true);
    pos += t.data.byteLength;
  }
  return out;
}
