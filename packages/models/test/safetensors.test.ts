import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, hostTensor } from '../src/index.js';

const FIXTURE = new URL('./fixtures/paired_torch.safetensors', import.meta.url);
const EXPECTED = JSON.parse(
  readFileSync(new URL('./fixtures/paired_torch.expected.json', import.meta.url), 'utf8'),
);

/** Builds a safetensors file by hand from a header object and a raw buffer (independent of the encoder). */
function build(header: unknown, buffer: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
}

function f32bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const v = new DataView(out.buffer);
  for (const [i, x] of values.entries()) v.setFloat32(4 * i, x, true);
  return out;
}

describe('encodeSafetensors', () => {
  it('writes the layout of the format spec (checked by reading the bytes by hand)', () => {
    const W = hostTensor([2, 3], [1, -2, 3.5, 0.25, -0, 1e-8]);
    const v = hostTensor([2], [7, -7]);
    const bytes = encodeSafetensors({ W, v }, { who: 'test' });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0); // data buffer aligned to 8 bytes
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ who: 'test' });
    expect(header.W).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.v).toEqual({ dtype: 'F32', shape: [2], data_offsets: [24, 32] });
    expect(bytes.length).toBe(8 + n + 32);
    for (let i = 0; i < 6; i++) expect(view.getFloat32(8 + n + 4 * i, true)).toBe(W.data[i]);
    expect(view.getFloat32(8 + n + 24, true)).toBe(7);
    expect(view.getFloat32(8 + n + 28, true)).toBe(-7);
  });

  it('round-trips values bit for bit, including a scalar and an empty tensor', () => {
    const t = {
      a: hostTensor([3], [Math.PI, -0, 3.4028234663852886e38]),
      s: hostTensor([], [2.5]),
      e: hostTensor([0, 4]),
    };
    const back = decodeSafetensors(encodeSafetensors(t));
    expect(Object.keys(back.tensors)).toEqual(['a', 's', 'e']);
    expect(back.tensors.a!.data).toEqual(t.a.data);
    expect(Object.is(back.tensors.a!.data[1], -0)).toBe(true);
    expect(back.tensors.s).toEqual({ shape: [], data: Float32Array.from([2.5]) });
    expect(back.tensors.e!.shape).toEqual([0, 4]);
    // A tensor whose data is a view into a larger buffer writes only its own values.
    const view = { shape: [2], data: Float32Array.from([9, 8, 7, 6]).subarray(1, 3) };
    expect(Array.from(decodeSafetensors(encodeSafetensors({ view })).tensors.view!.data)).toEqual([8, 7]);
    expect(back.metadata).toEqual({});
  });

  it('rejects a tensor whose data does not match its shape, naming it', () => {
    const bad = { shape: [2, 2], data: new Float32Array(3) };
    expect(() => encodeSafetensors({ W: bad })).toThrow(/tensor "W" has 3 values but shape \[2, 2\] needs 4/);
    expect(() => encodeSafetensors({ __metadata__: hostTensor([1]) })).toThrow(/invalid tensor name/);
    expect(() => encodeSafetensors({}, { k: 1 as unknown as string })).toThrow(/metadata entry "k"/);
  });
});

describe('decodeSafetensors on the PyTorch-made fixture (scripts/make_safetensors_fixture.py)', () => {
  const { tensors, metadata } = decodeSafetensors(readFileSync(FIXTURE), 'paired_torch.safetensors');
  it('reads every dtype to the values torch stored (converted to float32)', () => {
    expect(metadata).toEqual(EXPECTED.metadata);
    const names = Object.keys(EXPECTED.tensors);
    expect(Object.keys(tensors).sort()).toEqual([...names].sort());
    for (const name of names) {
      const e = EXPECTED.tensors[name] as { shape: number[]; values: number[] };
      const t = tensors[name]!;
      expect(t.shape, name).toEqual(e.shape);
      // float32 conversion of the exact stored value: F32/F16/BF16/I32 are exact or one rounding.
      expect(Array.from(t.data), name).toEqual(e.values.map((x) => Math.fround(x)));
    }
  });
  it('decodes F16 subnormals and the F16 maximum exactly', () => {
    expect(tensors.aux16!.data[2]).toBe(65504);
    expect(tensors.aux16!.data[3]).toBe(2 ** -24);
  });
});

describe('decodeSafetensors validation (errors name the source and the tensor)', () => {
  const good = build({ W: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32bytes([1, 2]));
  const src = 'model.safetensors';
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', good.subarray(0, 5), /model\.safetensors: file is 5 bytes, shorter than/],
    [
      'header length beyond file',
      good.subarray(0, 20),
      /model\.safetensors: header length \d+ reaches beyond/,
    ],
    ['header not JSON', build(null, new Uint8Array(0), '{"W": '), /model\.safetensors: header is not JSON/],
    [
      'header not an object',
      build([1, 2], new Uint8Array(0)),
      /model\.safetensors: header is not a JSON object/,
    ],
    [
      'unknown dtype',
      build({ W: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, f32bytes([1, 2])),
      /model\.safetensors: tensor "W": unknown dtype "F33"/,
    ],
    [
      'shape does not match the span',
      build({ W: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32bytes([1, 2])),
      /tensor "W": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] span 8/,
    ],
    [
      'offsets out of bounds (truncated buffer)',
      good.subarray(0, good.length - 4),
      /model\.safetensors: tensor "W": data_offsets \[0, 8\] lie outside the 4-byte data buffer/,
    ],
    [
      'overlapping offsets',
      build(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        f32bytes([1, 2, 3]),
      ),
      /tensor "b": data_offsets start at 4, overlapping tensor "a"/,
    ],
    [
      'a gap between tensors',
      build(
        {
          a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
          b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
        },
        f32bytes([1, 2, 3]),
      ),
      /tensor "b": data_offsets start at 8 but the previous tensor ends at 4/,
    ],
    [
      'trailing garbage',
      build({ W: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32bytes([1, 2, 3])),
      /model\.safetensors: 4 bytes of trailing data after the last tensor/,
    ],
    [
      'missing data_offsets',
      build({ W: { dtype: 'F32', shape: [2] } }, f32bytes([1, 2])),
      /tensor "W": field "data_offsets"/,
    ],
    [
      'metadata that is not strings',
      build({ __metadata__: { a: 1 } }, new Uint8Array(0)),
      /"__metadata__" entry "a" is not a string/,
    ],
  ];
  it.each(cases)('%s', (_label, bytes, message) => {
    expect(() => decodeSafetensors(bytes, src)).toThrow(message);
  });
  it('accepts the untouched file and a space-padded header', () => {
    expect(decodeSafetensors(good, src).tensors.W!.data).toEqual(Float32Array.from([1, 2]));
    const padded = build(null, f32bytes([1, 2]), '{"W":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   ');
    expect(decodeSafetensors(padded).tensors.W!.data).toEqual(Float32Array.from([1, 2]));
  });
  it('reads a file that sits at an unaligned offset inside a larger buffer (Node Buffer pools)', () => {
    const big = new Uint8Array(good.length + 5);
    big.set(good, 3);
    const t = decodeSafetensors(big.subarray(3, 3 + good.length)).tensors.W!;
    expect(Array.from(t.data)).toEqual([1, 2]);
  });
  it('copies the data (decoded tensors do not alias the input bytes)', () => {
    const bytes = good.slice();
    const t = decodeSafetensors(bytes).tensors.W!;
    bytes.fill(0);
    expect(Array.from(t.data)).toEqual([1, 2]);
  });
});
