import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ModelSpec,
  type ParamTree,
  createRng,
  decodeSafetensors,
  encodeSafetensors,
  forward64,
  hostTensor,
  loadCheckpoint,
  paramShapes,
  saveCheckpoint,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'narrownet-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const EXPECTED = JSON.parse(readFileSync(fixture('paired_torch.expected.json'), 'utf8'));

function randomParams(spec: ModelSpec, seed: number): ParamTree {
  const rng = createRng(seed);
  const out: ParamTree = {};
  for (const [name, shape] of Object.entries(paramShapes(spec))) {
    const t = hostTensor(shape);
    rng.fillNormal(t.data);
    out[name] = t;
  }
  return out;
}

const mlp: ModelSpec = { kind: 'mlp', layers: [4, 5, 3, 2], activation: 'relu', bias: true, scaled: true };

/** Saves a fresh valid checkpoint under a new base name and returns the base. */
function saveFresh(name: string): string {
  const base = join(dir, name);
  const params = randomParams(mlp, 5);
  saveCheckpoint(base, {
    spec: mlp,
    params,
    state: { step: 3 },
    extra: { 'slots/W1/m': hostTensor([5, 4]) },
  });
  return base;
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips spec, parameters (bit for bit), state and extra tensors', () => {
    const params = randomParams(mlp, 1);
    const slot = hostTensor(
      [5, 4],
      new Float32Array(20).map((_, i) => i / 7),
    );
    const state = {
      step: 12,
      lr: 0.05,
      history: [1.5, 0.75],
      optimizer: { name: 'adam', beta: [0.9, 0.999] },
    };
    const paths = saveCheckpoint(join(dir, 'run1.json'), {
      spec: mlp,
      params,
      state,
      extra: { 'slots/W1/m': slot },
    });
    expect(paths).toEqual({ json: join(dir, 'run1.json'), tensors: join(dir, 'run1.safetensors') });
    for (const p of [join(dir, 'run1'), paths.json, paths.tensors]) {
      const back = loadCheckpoint(p);
      expect(back.spec).toEqual(mlp);
      expect(back.state).toEqual(state);
      expect(Object.keys(back.params).sort()).toEqual(Object.keys(paramShapes(mlp)).sort());
      for (const [name, t] of Object.entries(params)) {
        expect(back.params[name]!.shape).toEqual(t.shape);
        expect(Buffer.from(back.params[name]!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
      }
      expect(back.extra['slots/W1/m']!.data).toEqual(slot.data);
      expect(Date.parse(back.createdAt)).not.toBeNaN();
    }
    // The tensor file is plain safetensors (what PyTorch/HF read) and the JSON has the documented fields.
    const st = decodeSafetensors(readFileSync(paths.tensors));
    expect(st.tensors.W2!.data).toEqual(params.W2!.data);
    const json = JSON.parse(readFileSync(paths.json, 'utf8'));
    expect(json).toMatchObject({ format: 'narrownet-checkpoint', version: 1, spec: mlp, state });
    expect(json.params).toEqual(paramShapes(mlp));
    expect(json.extra).toEqual({ 'slots/W1/m': [5, 4] });
    // Saving again over the same base gives identical tensor bytes.
    const before = readFileSync(paths.tensors);
    saveCheckpoint(join(dir, 'run1'), { spec: mlp, params, state, extra: { 'slots/W1/m': slot } });
    expect(readFileSync(paths.tensors).equals(before)).toBe(true);
  });

  it('leaves no temporary files behind, and none when the save fails', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    saveCheckpoint(join(sub, 'a'), { spec: mlp, params: randomParams(mlp, 2) });
    expect(readdirSync(sub).sort()).toEqual(['a.json', 'a.safetensors']);
    // A target that cannot be written (its folder would sit under a regular file): nothing is created.
    expect(() =>
      saveCheckpoint(join(sub, 'a.json', 'b'), { spec: mlp, params: randomParams(mlp, 2) }),
    ).toThrow(/ENOTDIR|EEXIST/);
    expect(readdirSync(sub).sort()).toEqual(['a.json', 'a.safetensors']);
  });

  it('creates a missing folder (and its parents) of the checkpoint, as the READMEs assume (issue #17)', () => {
    const base = join(dir, 'fresh', 'runs', 'zhang-fig4', 'step-1000');
    const paths = saveCheckpoint(base, { spec: mlp, params: randomParams(mlp, 3) });
    expect(readdirSync(join(dir, 'fresh', 'runs', 'zhang-fig4')).sort()).toEqual([
      'step-1000.json',
      'step-1000.safetensors',
    ]);
    expect(loadCheckpoint(paths.json).params.W1!.data).toEqual(randomParams(mlp, 3).W1!.data);
  });

  it('refuses to save what it could not load back, naming the tensor or field', () => {
    const params = randomParams(mlp, 3);
    const save = (ck: Partial<Parameters<typeof saveCheckpoint>[1]>) =>
      saveCheckpoint(join(dir, 'bad'), { spec: mlp, params, ...ck });
    expect(() => save({ params: { ...params, W1: hostTensor([4, 5]) } })).toThrow(
      /parameter "W1" has shape \[4, 5\], spec needs \[5, 4\]/,
    );
    const { b2: _drop, ...missing } = params;
    expect(() => save({ params: missing })).toThrow(/parameter "b2" is missing/);
    expect(() => save({ params: { ...params, v: hostTensor([1]) } })).toThrow(/parameter "v" is not part/);
    expect(() => save({ extra: { W1: hostTensor([1]) } })).toThrow(
      /extra tensor "W1" has the name of a parameter/,
    );
    expect(() => save({ state: { lr: Number.NaN } })).toThrow(/state\.lr is NaN/);
    expect(() => save({ state: { when: new Date() } })).toThrow(/state\.when is a Date/);
    expect(() => save({ spec: { kind: 'paired', inputDim: 3, width: 5, activation: 'tanh' } })).toThrow(
      /width of a paired net must be even/,
    );
  });
});

describe('loadCheckpoint on the PyTorch-made fixture (scripts/make_safetensors_fixture.py)', () => {
  it('loads the torch tensors, checks the hashlib sha256 sums, and the net computes torch outputs', () => {
    const ck = loadCheckpoint(fixture('paired_torch.json'));
    expect(ck.spec).toEqual({ kind: 'paired', inputDim: 3, width: 6, activation: 'tanh' });
    expect(ck.state).toEqual({ step: 7, note: 'written by make_safetensors_fixture.py' });
    for (const name of ['W', 'v']) {
      expect(Array.from(ck.params[name]!.data)).toEqual(EXPECTED.tensors[name].values);
    }
    expect(Array.from(ck.extra.aux64!.data)).toEqual(
      EXPECTED.tensors.aux64.values.map((x: number) => Math.fround(x)),
    );
    expect(Object.keys(ck.extra).sort()).toEqual(['aux16', 'aux64', 'auxbf16', 'auxi32', 'auxi64', 'scalar']);
    // f(x) of the paired net (Zhang eq. 6) by forward64 vs torch float64 on the same float32 weights.
    const y = forward64(ck.spec, { W: ck.params.W!.data, v: ck.params.v!.data }, EXPECTED.X, EXPECTED.n);
    for (let i = 0; i < EXPECTED.n; i++) expect(y[i]).toBeCloseTo(EXPECTED.y[i], 12);
  });
});

describe('loadCheckpoint rejects corrupt, truncated and mismatched files (naming file and tensor)', () => {
  const base = saveFresh('good');
  const tensors = readFileSync(`${base}.safetensors`);
  const json = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
  let k = 0;
  /** A copy of the good checkpoint with its JSON and/or tensor bytes replaced. */
  function variant(opts: { json?: unknown; jsonText?: string; tensors?: Uint8Array }): string {
    const b = join(dir, `variant${k++}`);
    writeFileSync(`${b}.json`, opts.jsonText ?? JSON.stringify(opts.json ?? json));
    writeFileSync(`${b}.safetensors`, opts.tensors ?? tensors);
    return b;
  }
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('accepts the untouched copy', () => {
    expect(loadCheckpoint(variant({})).params.W1!.shape).toEqual([5, 4]);
  });
  it('a truncated tensor file names the file and the tensor', () => {
    const b = variant({ tensors: tensors.subarray(0, tensors.length - 10) });
    expect(() => loadCheckpoint(b)).toThrow(
      new RegExp(`${esc(b)}\\.safetensors: tensor "[^"]+": data_offsets .* outside`),
    );
  });
  it('a flipped data byte fails the checksum of that tensor', () => {
    const bad = Uint8Array.from(tensors);
    bad[bad.length - 1]! ^= 0x40; // last byte belongs to the last tensor, the extra slot
    const b = variant({ tensors: bad });
    expect(() => loadCheckpoint(b)).toThrow(
      new RegExp(`${esc(b)}\\.safetensors: tensor "slots/W1/m": data does not match its sha256`),
    );
  });
  it('a tensor file from another model names the tensor whose shape differs', () => {
    const other = randomParams({ ...mlp, layers: [4, 6, 3, 2] } as ModelSpec, 9);
    const b = variant({ tensors: encodeSafetensors({ ...other, 'slots/W1/m': hostTensor([5, 4]) }) });
    expect(() => loadCheckpoint(b)).toThrow(
      /tensor "W1" has shape \[6, 4\] but variant\d+\.json says \[5, 4\]/,
    );
  });
  it('a tensor missing from the file, or a file tensor not listed', () => {
    const decoded = decodeSafetensors(tensors).tensors;
    const { b3: _b3, ...rest } = decoded;
    expect(() => loadCheckpoint(variant({ tensors: encodeSafetensors(rest) }))).toThrow(
      /\.safetensors: tensor "b3" is missing from the file/,
    );
    const more = encodeSafetensors({ ...decoded, stray: hostTensor([1]) });
    expect(() => loadCheckpoint(variant({ tensors: more }))).toThrow(
      /tensor "stray" is not listed in variant\d+\.json/,
    );
  });
  it('integer dtypes are refused for parameters', () => {
    const decoded = decodeSafetensors(tensors).tensors;
    const names = Object.keys(decoded);
    // Rebuild by hand with b1 stored as I32 (same byte size as F32).
    const header: Record<string, unknown> = {};
    let off = 0;
    for (const n of names) {
      const size = decoded[n]!.data.length * 4;
      header[n] = {
        dtype: n === 'b1' ? 'I32' : 'F32',
        shape: decoded[n]!.shape,
        data_offsets: [off, off + size],
      };
      off += size;
    }
    const { sha256: _s, ...noSums } = json;
    const h = new TextEncoder().encode(JSON.stringify(header));
    const bytes = new Uint8Array(8 + h.length + off);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(h.length), true);
    bytes.set(h, 8);
    const b = variant({ json: noSums, tensors: bytes });
    expect(() => loadCheckpoint(b)).toThrow(/tensor "b1" has dtype I32; parameters must be floating point/);
  });
  it.each([
    ['format', { ...json, format: 'other' }, /field "format" must be "narrownet-checkpoint"/],
    ['version', { ...json, version: 2 }, /field "version" is 2/],
    ['spec', { ...json, spec: { ...mlp, layers: [4, 0, 2] } }, /field "spec": model spec: layers\[1\]/],
    ['spec missing', { ...json, spec: undefined }, /field "spec" must be a model spec/],
    ['params shape', { ...json, params: { ...json.params, W2: [3, 4] } }, /field "params.W2" is \[3, 4\]/],
    ['params missing', { ...json, params: { W1: [5, 4] } }, /field "params" lacks parameter "b1"/],
    ['params stray', { ...json, params: { ...json.params, Q: [1] } }, /field "params" lists "Q"/],
    ['params type', { ...json, params: [1] }, /field "params" must be an object/],
    ['state', { ...json, state: 3 }, /field "state" must be an object/],
    ['createdAt', { ...json, createdAt: 5 }, /field "createdAt"/],
  ])('JSON field %s', (_label, bad, message) => {
    const b = variant({ json: bad });
    expect(() => loadCheckpoint(b)).toThrow(new RegExp(`checkpoint ${esc(b)}\\.json: `));
    expect(() => loadCheckpoint(b)).toThrow(message);
  });
  it('a truncated or missing JSON file names it', () => {
    const text = readFileSync(`${base}.json`, 'utf8');
    const b = variant({ jsonText: text.slice(0, 40) });
    expect(() => loadCheckpoint(b)).toThrow(new RegExp(`checkpoint ${esc(b)}\\.json: not JSON`));
    expect(() => loadCheckpoint(join(dir, 'nope'))).toThrow(/nope\.json: cannot read/);
    const c = join(dir, 'lonely');
    copyFileSync(`${base}.json`, `${c}.json`);
    expect(() => loadCheckpoint(c)).toThrow(/lonely\.safetensors: cannot read/);
  });
});
