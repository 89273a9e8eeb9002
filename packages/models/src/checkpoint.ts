import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { entryValues, encodeSafetensors, parseSafetensors } from './safetensors.js';
import { type ModelSpec, paramShapes, validateSpec } from './spec.js';
import { type HostTensor, type ParamTree, sizeOf } from './tensor.js';

/** What {@link saveCheckpoint} writes: architecture, parameters, training state, extra tensors. */
export interface Checkpoint {
  /** The architecture; parameter names and shapes follow from it ({@link paramShapes}). */
  spec: ModelSpec;
  /** Exactly the parameters of `spec`, with its shapes. */
  params: ParamTree;
  /** JSON-serialisable training state (step, epoch, seed, optimizer settings, metrics…). */
  state?: Record<string, unknown>;
  /** Further tensors, e.g. optimizer slots named `slots/W/m`; names must differ from the parameters'. */
  extra?: Record<string, HostTensor>;
}

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint {
  spec: ModelSpec;
  params: ParamTree;
  state: Record<string, unknown>;
  extra: Record<string, HostTensor>;
  /** ISO 8601 time the checkpoint was written. */
  createdAt: string;
}

/** The paths {@link saveCheckpoint} wrote. */
export interface CheckpointPaths {
  /** `<base>.json`: format, version, spec, parameter and extra shapes, checksums, state, createdAt. */
  json: string;
  /** `<base>.safetensors`: parameter and extra tensors, F32. */
  tensors: string;
}

const FORMAT = 'narrownet-checkpoint';
const VERSION = 1;

/** `<base>` of a checkpoint path given as the base itself, `<base>.json` or `<base>.safetensors`. */
function checkpointBase(path: string, fn: string): string {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`${fn}: path must be a non-empty string`);
  return path.replace(/\.(json|safetensors)$/, '');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Rejects values JSON would silently change (NaN, undefined, functions, class instances…). */
function checkJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new RangeError(`saveCheckpoint: ${path} is ${value}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkJson(v, `${path}[${i}]`);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkJson(v, `${path}.${k}`);
    return;
  }
  const what = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new TypeError(`saveCheckpoint: ${path} is a ${what}; state must be plain JSON data`);
}

function writeAtomic(files: [string, Uint8Array | string][]): void {
  const tag = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const temps = files.map(([p]) => `${p}.tmp-${tag}`);
  // the files sit beside each other: create their folder (and its parents) first
  mkdirSync(dirname(files[0]![0]), { recursive: true });
  try {
    for (const [i, [, data]] of files.entries()) writeFileSync(temps[i]!, data);
    // Tensors first, JSON last: a reader that finds the new JSON also finds its tensors, and
    // the JSON's checksums reject a tensor file from another save.
    for (const [i, [p]] of files.entries()) renameSync(temps[i]!, p);
  } catch (err) {
    for (const t of temps) rmSync(t, { force: true });
    throw err;
  }
}

/**
 * Saves a checkpoint as two files beside each other: `<base>.safetensors` (parameters and extra
 * tensors, F32, readable by PyTorch/JAX/HF tools) and `<base>.json` (`format`, `version`, `spec`,
 * `params` and `extra` as name → shape, per-tensor `sha256` checksums, `state`, `createdAt`).
 * `path` may be the base or either file name. Each file is written to a temporary name and
 * renamed, so no half-written file is left behind; the folder is created when missing. The parameters must be exactly those of
 * `spec` with its shapes; errors name the tensor or the state field.
 */
export function saveCheckpoint(path: string, ckpt: Checkpoint): CheckpointPaths {
  const base = checkpointBase(path, 'saveCheckpoint');
  if (ckpt === null || typeof ckpt !== 'object')
    throw new TypeError('saveCheckpoint: ckpt must be an object');
  const spec = validateSpec(ckpt.spec);
  const shapes = paramShapes(spec);
  const params = ckpt.params;
  if (params === null || typeof params !== 'object')
    throw new TypeError('saveCheckpoint: ckpt.params must be a parameter tree');
  for (const name of Object.keys(params)) {
    if (!(name in shapes))
      throw new RangeError(
        `saveCheckpoint: parameter "${name}" is not part of a ${spec.kind} net (expected ${Object.keys(shapes).join(', ')})`,
      );
  }
  const tensors: Record<string, HostTensor> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const t = params[name];
    if (!t) throw new RangeError(`saveCheckpoint: parameter "${name}" is missing`);
    if (!sameShape(t.shape, shape))
      throw new RangeError(
        `saveCheckpoint: parameter "${name}" has shape ${fmt(t.shape)}, spec needs ${fmt(shape)}`,
      );
    tensors[name] = t;
  }
  const extra = ckpt.extra ?? {};
  const extraShapes: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(extra)) {
    if (name in tensors)
      throw new RangeError(`saveCheckpoint: extra tensor "${name}" has the name of a parameter`);
    tensors[name] = t;
    extraShapes[name] = [...t.shape];
  }
  const state = ckpt.state ?? {};
  if (state === null || typeof state !== 'object' || Array.isArray(state))
    throw new TypeError('saveCheckpoint: ckpt.state must be a plain object');
  checkJson(state, 'state');
  const bytes = encodeSafetensors(tensors, { format: FORMAT, spec: JSON.stringify(spec) });
  const { entries } = parseSafetensors(bytes, `${base}.safetensors`);
  const sums: Record<string, string> = {};
  for (const e of entries) sums[e.name] = sha256(bytes.subarray(e.begin, e.end));
  const json = {
    format: FORMAT,
    version: VERSION,
    spec,
    params: Object.fromEntries(Object.entries(shapes)),
    extra: extraShapes,
    sha256: sums,
    state,
    createdAt: new Date().toISOString(),
  };
  const paths = { json: `${base}.json`, tensors: `${base}.safetensors` };
  writeAtomic([
    [paths.tensors, bytes],
    [paths.json, `${JSON.stringify(json, null, 2)}\n`],
  ]);
  return paths;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function readShapes(v: unknown, field: string, file: string): Record<string, number[]> {
  if (!isRecord(v)) throw new Error(`checkpoint ${file}: field "${field}" must be an object of name → shape`);
  const out: Record<string, number[]> = {};
  for (const [name, s] of Object.entries(v)) {
    if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new Error(`checkpoint ${file}: field "${field}.${name}" must be a shape (array of integers)`);
    out[name] = s as number[];
  }
  return out;
}

/**
 * Loads a checkpoint written by {@link saveCheckpoint} (`path`: the base, `<base>.json` or
 * `<base>.safetensors`). Validates the JSON (errors name the field), the spec, that every
 * parameter of the spec is present with its shape and a floating-point dtype, that the tensor
 * file holds exactly the listed tensors, and their checksums when the JSON has them; a truncated,
 * corrupt or mismatched file raises an Error naming the file and the tensor. Tensors come back
 * as float32 (see decodeSafetensors for the dtype conversions).
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const base = checkpointBase(path, 'loadCheckpoint');
  const jsonPath = `${base}.json`;
  const tensorPath = `${base}.safetensors`;
  let text: string;
  try {
    text = readFileSync(jsonPath, 'utf8');
  } catch (err) {
    throw new Error(`checkpoint ${jsonPath}: cannot read (${(err as Error).message})`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`checkpoint ${jsonPath}: not JSON (${(err as Error).message}; truncated?)`, {
      cause: err,
    });
  }
  if (!isRecord(raw)) throw new Error(`checkpoint ${jsonPath}: not a JSON object`);
  if (raw.format !== FORMAT)
    throw new Error(
      `checkpoint ${jsonPath}: field "format" must be "${FORMAT}", got ${JSON.stringify(raw.format)}`,
    );
  if (raw.version !== VERSION)
    throw new Error(
      `checkpoint ${jsonPath}: field "version" is ${JSON.stringify(raw.version)}; this narrownet reads version ${VERSION}`,
    );
  if (!isRecord(raw.spec))
    throw new Error(`checkpoint ${jsonPath}: field "spec" must be a model spec object`);
  let spec: ModelSpec;
  try {
    spec = validateSpec(raw.spec as unknown as ModelSpec);
  } catch (err) {
    throw new Error(`checkpoint ${jsonPath}: field "spec": ${(err as Error).message}`, { cause: err });
  }
  const listed = readShapes(raw.params, 'params', jsonPath);
  const extraShapes = raw.extra === undefined ? {} : readShapes(raw.extra, 'extra', jsonPath);
  const state = raw.state === undefined ? {} : raw.state;
  if (!isRecord(state)) throw new Error(`checkpoint ${jsonPath}: field "state" must be an object`);
  if (typeof raw.createdAt !== 'string')
    throw new Error(`checkpoint ${jsonPath}: field "createdAt" must be an ISO date string`);
  let sums: Record<string, unknown> | undefined;
  if (raw.sha256 !== undefined) {
    if (!isRecord(raw.sha256)) throw new Error(`checkpoint ${jsonPath}: field "sha256" must be an object`);
    sums = raw.sha256;
  }
  const expected = paramShapes(spec);
  for (const [name, shape] of Object.entries(expected)) {
    const got = listed[name];
    if (!got) throw new Error(`checkpoint ${jsonPath}: field "params" lacks parameter "${name}" of the spec`);
    if (!sameShape(got, shape))
      throw new Error(
        `checkpoint ${jsonPath}: field "params.${name}" is ${fmt(got)} but the spec needs ${fmt(shape)}`,
      );
  }
  for (const name of Object.keys(listed)) {
    if (!(name in expected))
      throw new Error(`checkpoint ${jsonPath}: field "params" lists "${name}", which the spec does not have`);
    if (name in extraShapes)
      throw new Error(`checkpoint ${jsonPath}: tensor "${name}" is listed in both "params" and "extra"`);
  }

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(tensorPath);
  } catch (err) {
    throw new Error(`checkpoint ${tensorPath}: cannot read (${(err as Error).message})`, { cause: err });
  }
  const { entries } = parseSafetensors(bytes, tensorPath);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const want: [string, number[], boolean][] = [
    ...Object.entries(expected).map(([n, s]): [string, number[], boolean] => [n, s, true]),
    ...Object.entries(extraShapes).map(([n, s]): [string, number[], boolean] => [n, s, false]),
  ];
  const params: ParamTree = {};
  const extra: Record<string, HostTensor> = {};
  for (const [name, shape, isParam] of want) {
    const e = byName.get(name);
    const where = `checkpoint ${tensorPath}: tensor "${name}"`;
    if (!e) throw new Error(`${where} is missing from the file`);
    if (!sameShape(e.shape, shape))
      throw new Error(`${where} has shape ${fmt(e.shape)} but ${basename(jsonPath)} says ${fmt(shape)}`);
    if (isParam && !['F32', 'F64', 'F16', 'BF16'].includes(e.dtype))
      throw new Error(
        `${where} has dtype ${e.dtype}; parameters must be floating point (F32, F64, F16, BF16)`,
      );
    const sum = sums?.[name];
    if (sum !== undefined && sum !== sha256(bytes.subarray(e.begin, e.end)))
      throw new Error(
        `${where}: data does not match its sha256 in ${basename(jsonPath)} (corrupt or from another save)`,
      );
    const t = { shape: [...e.shape], data: entryValues(bytes, e) };
    if (sizeOf(t.shape) !== t.data.length) throw new Error(`${where}: internal size mismatch`);
    if (isParam) params[name] = t;
    else extra[name] = t;
    byName.delete(name);
  }
  if (byName.size > 0) {
    const names = [...byName.keys()].map((n) => `"${n}"`).join(', ');
    throw new Error(`checkpoint ${tensorPath}: tensor ${names} is not listed in ${basename(jsonPath)}`);
  }
  return { spec, params, state, extra, createdAt: raw.createdAt };
}
