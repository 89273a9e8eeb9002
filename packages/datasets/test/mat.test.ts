import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fetchSource } from '../src/fetch.js';
import { DATASET_SOURCES, loadMatFile, loadSvhn, readMat } from '../src/index.js';

const dir = join(import.meta.dirname, 'fixtures', 'mat');
const pixel = (r: number, c: number, ch: number, i: number) => (7 * r + 3 * c + 50 * ch + 11 * i) % 256;

/** Hand-built MAT-file v5: header + the given top-level elements (little-endian). */
function matFile(...elements: Uint8Array[]): Uint8Array {
  const head = new Uint8Array(128).fill(32);
  head.set(new TextEncoder().encode('MATLAB 5.0 MAT-file, hand-built'), 0);
  head[124] = 0x00;
  head[125] = 0x01;
  head[126] = 'I'.charCodeAt(0);
  head[127] = 'M'.charCodeAt(0);
  const total = elements.reduce((s, e) => s + e.length, 128);
  const out = new Uint8Array(total);
  out.set(head);
  let at = 128;
  for (const e of elements) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** One data element: tag (type, size) + data padded to 8 bytes. */
function el(type: number, data: Uint8Array, pad = true): Uint8Array {
  const len = pad ? Math.ceil(data.length / 8) * 8 : data.length;
  const out = new Uint8Array(8 + len);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, data.length, true);
  out.set(data, 8);
  return out;
}

const u32 = (...xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);
const i32 = (...xs: number[]) => new Uint8Array(new Int32Array(xs).buffer);
const f64 = (...xs: number[]) => new Uint8Array(new Float64Array(xs).buffer);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** miMATRIX of class `cls` with dims and a double real part. */
function matrix(cls: number, name: string, dims: number[], values: number[]): Uint8Array {
  return el(
    14,
    cat(
      el(6, u32(cls, 0)),
      el(5, i32(...dims)),
      el(1, new TextEncoder().encode(name)),
      el(9, f64(...values)),
    ),
  );
}

describe('readMat (MATLAB v5)', () => {
  it('reads the SVHN layout written by scipy.io.savemat, compressed and uncompressed', () => {
    for (const f of ['train_32x32.mat', 'test_32x32.mat']) {
      const vars = loadMatFile(join(dir, f));
      const X = vars.get('X')!;
      expect(X.class).toBe('uint8');
      expect(X.dims).toEqual([32, 32, 3, 5]);
      expect(X.data).toBeInstanceOf(Uint8Array);
      for (const [r, c, ch, i] of [
        [0, 0, 0, 0],
        [31, 0, 0, 0],
        [0, 31, 0, 0],
        [5, 9, 2, 4],
        [31, 31, 2, 4],
      ] as const) {
        expect(X.data[r + 32 * c + 1024 * ch + 3072 * i]).toBe(pixel(r, c, ch, i));
      }
      const y = vars.get('y')!;
      expect(y.class).toBe('double');
      expect(y.dims).toEqual([5, 1]);
      expect(Array.from(y.data)).toEqual([1, 10, 3, 10, 7]);
    }
  });

  it('reads int16, single, 3-d double and uint32 arrays in column-major order', () => {
    const vars = loadMatFile(join(dir, 'numeric.mat'));
    const a = vars.get('a_int16')!;
    expect(a.class).toBe('int16');
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([-3, 6, 4, -7, 5, 300]);
    expect(Array.from(vars.get('b_single')!.data)).toEqual([0.5, -1.25]);
    const c = vars.get('c_double')!;
    expect(c.dims).toEqual([2, 3, 4]);
    // numpy arange(24).reshape(2,3,4)[i,j,k] = 12i + 4j + k, stored at i + 2j + 6k.
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 4; k++) expect(c.data[i + 2 * j + 6 * k]).toBe(12 * i + 4 * j + k);
    expect(vars.get('d_uint32')!.data[0]).toBe(4000000000);
  });

  it('reads hand-built elements, a compressed one and a big-endian file', () => {
    const m = matrix(6, 'v', [1, 3], [1.5, -2, 3]);
    const vars = readMat(matFile(m, el(15, deflateSync(m), false)), 'hand.mat');
    expect(Array.from(vars.get('v')!.data)).toEqual([1.5, -2, 3]);
    // Big-endian: swap every field by hand.
    const be = new Uint8Array(128 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 8);
    be.fill(32, 0, 124);
    be.set(new TextEncoder().encode('MATLAB 5.0 MAT-file'), 0);
    be[124] = 0x01;
    be[125] = 0x00;
    be[126] = 'M'.charCodeAt(0);
    be[127] = 'I'.charCodeAt(0);
    const v = new DataView(be.buffer);
    let at = 128;
    v.setUint32(at, 14, false);
    v.setUint32(at + 4, 64, false);
    at += 8;
    v.setUint32(at, 6, false);
    v.setUint32(at + 4, 8, false);
    v.setUint32(at + 8, 6, false);
    at += 16;
    v.setUint32(at, 5, false);
    v.setUint32(at + 4, 8, false);
    v.setInt32(at + 8, 1, false);
    v.setInt32(at + 12, 1, false);
    at += 16;
    v.setUint32(at, (1 << 16) | 1, false); // small element: name 'w', 1 byte
    be[at + 4] = 'w'.charCodeAt(0);
    at += 8;
    v.setUint32(at, 9, false);
    v.setUint32(at + 4, 8, false);
    v.setFloat64(at + 8, 2.75, false);
    const big = readMat(be, 'big.mat');
    expect(Array.from(big.get('w')!.data)).toEqual([2.75]);
  });

  it('errors name the file: cell, char, truncated, bad zlib, v7.3, not a MAT file', () => {
    expect(() => loadMatFile(join(dir, 'cell.mat'))).toThrow(/cell\.mat.*cell array/);
    expect(() => loadMatFile(join(dir, 'char.mat'))).toThrow(/char\.mat.*char array/);
    const m = matrix(6, 'v', [1, 3], [1.5, -2, 3]);
    const whole = matFile(m);
    expect(() => readMat(whole.subarray(0, whole.length - 9), 'cut.mat')).toThrow(/cut\.mat.*past the end/);
    expect(() => readMat(matFile(el(15, new Uint8Array([1, 2, 3, 4]))), 'z.mat')).toThrow(/z\.mat.*zlib/);
    const v73 = matFile();
    v73.set(new TextEncoder().encode('MATLAB 7.3 MAT-file'), 0);
    expect(() => readMat(v73, 'h5.mat')).toThrow(/h5\.mat.*7\.3/);
    expect(() => readMat(new Uint8Array(200), 'zeros.mat')).toThrow(/zeros\.mat.*not a MAT-file/);
    expect(() => readMat(new Uint8Array(10), 'short.mat')).toThrow(/short\.mat.*too short/);
    expect(() => loadMatFile(join(dir, 'missing.mat'))).toThrow(/missing\.mat/);
    // Dimensions that do not match the data.
    expect(() => readMat(matFile(matrix(6, 'v', [2, 3], [1, 2, 3])), 'dims.mat')).toThrow(
      /dims\.mat.*need 6/,
    );
  });
});

describe('loadSvhn', () => {
  it('decodes X to HWC in [0, 1] and maps label 10 to digit 0', () => {
    const ds = loadSvhn({ dir, split: 'train' });
    expect(ds.name).toBe('svhn-train');
    expect([ds.n, ds.d, ds.k]).toEqual([5, 3072, 10]);
    expect(Array.from(ds.labels!)).toEqual([1, 0, 3, 0, 7]);
    expect(ds.Y[1 * 10 + 0]).toBe(1);
    for (const [r, c, ch, i] of [
      [0, 0, 0, 0],
      [3, 17, 1, 2],
      [31, 31, 2, 4],
    ] as const) {
      expect(ds.X[i * 3072 + (r * 32 + c) * 3 + ch]).toBeCloseTo(pixel(r, c, ch, i) / 255, 6);
    }
    const test = loadSvhn({ dir, split: 'test' });
    expect(Array.from(test.X)).toEqual(Array.from(ds.X));
  });

  it('rejects a wrong layout and a missing file, naming the file', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'svhn-'));
    copyFileSync(join(dir, 'bad_32x32.mat'), join(tmp, 'train_32x32.mat'));
    expect(() => loadSvhn({ dir: tmp })).toThrow(
      /train_32x32\.mat: X must be uint8 \[32, 32, 3, N\], got uint8 \[28, 28, 3, 5\]/,
    );
    copyFileSync(join(dir, 'numeric.mat'), join(tmp, 'test_32x32.mat'));
    expect(() => loadSvhn({ dir: tmp, split: 'test' })).toThrow(
      /test_32x32\.mat must hold variables X and y/,
    );
    rmSync(tmp, { recursive: true });
    expect(() => loadSvhn({ dir, split: 'extra' })).toThrow(/extra_32x32\.mat/);
    expect(() => loadSvhn({ dir, split: 'x' as never })).toThrow(/split/);
  });
});

describe('fetchDataset svhn', () => {
  it('lists the torchvision URLs and MD5s and lands files where loadSvhn reads them', async () => {
    expect(DATASET_SOURCES.svhn.files.map((f) => f.file)).toEqual(['train_32x32.mat', 'test_32x32.mat']);
    const bytes = readFileSync(join(dir, 'train_32x32.mat'));
    const md5 = createHash('md5').update(bytes).digest('hex');
    const fetch = async () => ({
      ok: true,
      status: 200,
      arrayBuffer: async () => new Uint8Array(bytes).buffer as ArrayBuffer,
    });
    const root = mkdtempSync(join(tmpdir(), 'svhn-fetch-'));
    const source = { ...DATASET_SOURCES.svhn, files: [{ ...DATASET_SOURCES.svhn.files[0]!, md5 }] };
    const got = await fetchSource(source, root, fetch);
    expect(got).toBe(join(root, 'svhn'));
    expect(loadSvhn({ dir: got }).n).toBe(5);
    rmSync(root, { recursive: true });
  });
});
