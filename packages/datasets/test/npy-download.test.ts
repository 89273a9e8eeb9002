import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { download, loadNpy, loadNpyDataset } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-npy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes a .npy file the way numpy does (header padded with spaces to a multiple of 64, '\n'). */
function writeNpy(
  name: string,
  descr: string,
  shape: number[],
  body: Buffer,
  opts: { version?: 1 | 2 | 3; fortran?: boolean } = {},
): string {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  while ((pre + dict.length + 1) % 64 !== 0) dict += ' ';
  dict += '\n';
  const head = Buffer.alloc(pre);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = version;
  if (version === 1) head.writeUInt16LE(dict.length, 8);
  else head.writeUInt32LE(dict.length, 8);
  const p = join(root, name);
  writeFileSync(p, Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
  return p;
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const vals = (a: unknown): Array<number | bigint> => [...(a as Iterable<number | bigint>)];

describe('loadNpy', () => {
  it('reads every supported dtype and header version', () => {
    const f4 = loadNpy(writeNpy('f4.npy', '<f4', [2, 3], bytes(Float32Array.from([1, 2, 3, 4, 5, 6.5]))));
    expect(f4.dtype).toBe('<f4');
    expect(f4.shape).toEqual([2, 3]);
    expect(vals(f4.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    const f8 = loadNpy(
      writeNpy('f8.npy', '<f8', [3], bytes(Float64Array.from([0.1, -2, 1e300])), { version: 2 }),
    );
    expect(f8.data).toBeInstanceOf(Float64Array);
    expect(vals(f8.data)).toEqual([0.1, -2, 1e300]);
    const i4 = loadNpy(
      writeNpy('i4.npy', '<i4', [2, 2], bytes(Int32Array.from([-7, 0, 7, 2 ** 31 - 1])), { version: 3 }),
    );
    expect(vals(i4.data)).toEqual([-7, 0, 7, 2 ** 31 - 1]);
    const i8 = loadNpy(writeNpy('i8.npy', '<i8', [2], bytes(BigInt64Array.from([-5n, 2n ** 40n]))));
    expect(vals(i8.data)).toEqual([-5n, 2n ** 40n]);
    const u1 = loadNpy(writeNpy('u1.npy', '|u1', [1, 2, 2], Buffer.from([0, 128, 255, 3])));
    expect(u1.data).toBeInstanceOf(Uint8Array);
    expect([...u1.data, ...u1.shape]).toEqual([0, 128, 255, 3, 1, 2, 2]);
    const scalar = loadNpy(writeNpy('scalar.npy', '<f8', [], bytes(Float64Array.from([4]))));
    expect([scalar.shape, vals(scalar.data)]).toEqual([[], [4]]);
  });

  it('rejects wrong dtype, Fortran order, bad magic and truncation, naming the file', () => {
    const be = writeNpy('be.npy', '>f4', [1], Buffer.alloc(4));
    expect(() => loadNpy(be)).toThrow(/be\.npy: unsupported dtype '>f4'/);
    const f2 = writeNpy('f2.npy', '<f2', [1], Buffer.alloc(2));
    expect(() => loadNpy(f2)).toThrow(/f2\.npy: unsupported dtype '<f2'/);
    const fo = writeNpy('fortran.npy', '<f4', [2, 2], Buffer.alloc(16), { fortran: true });
    expect(() => loadNpy(fo)).toThrow(/fortran\.npy: fortran_order True is not supported/);
    const tr = writeNpy('trunc.npy', '<f8', [4], Buffer.alloc(24));
    expect(() => loadNpy(tr)).toThrow(
      /trunc\.npy: truncated data: shape \(4\) of <f8 needs 32 bytes, found 24/,
    );
    writeFileSync(join(root, 'text.npy'), 'hello world, not numpy');
    expect(() => loadNpy(join(root, 'text.npy'))).toThrow(/text\.npy: not a \.npy file/);
    expect(() => loadNpy(join(root, 'absent.npy'))).toThrow(/cannot read .*absent\.npy/);
  });
});

describe('loadNpyDataset', () => {
  it('integer 1-D y becomes labels with one-hot Y; 3-D X gets an image shape', () => {
    const x = writeNpy('imgs.npy', '|u1', [3, 2, 2], Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    const y = writeNpy('lab.npy', '<i8', [3], bytes(BigInt64Array.from([2n, 0n, 1n])));
    const ds = loadNpyDataset(x, y);
    expect([ds.n, ds.d, ds.k]).toEqual([3, 4, 3]);
    expect(ds.imageShape).toEqual([2, 2, 1]);
    expect(Array.from(ds.labels!)).toEqual([2, 0, 1]);
    expect(Array.from(ds.Y)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(ds.X[11]).toBe(11);
    expect(loadNpyDataset(x, y, { numClasses: 10 }).k).toBe(10);
  });

  it('float y is a regression target ([n] → k = 1, [n, k] → k)', () => {
    const x = writeNpy('x.npy', '<f8', [2, 3], bytes(Float64Array.from([1, 2, 3, 4, 5, 6])));
    const y = writeNpy('y.npy', '<f4', [2, 2], bytes(Float32Array.from([0.5, 1, 1.5, 2])));
    const ds = loadNpyDataset(x, y);
    expect([ds.n, ds.d, ds.k, ds.labels]).toEqual([2, 3, 2, undefined]);
    expect(Array.from(ds.X)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(ds.Y)).toEqual([0.5, 1, 1.5, 2]);
  });

  it('says when float64 values were rounded to float32: once on stderr per file and in the dataset (issue #17)', () => {
    const exact = writeNpy('x64exact.npy', '<f8', [2, 1], bytes(Float64Array.from([0.5, 3])));
    const x = writeNpy('x64.npy', '<f8', [3, 1], bytes(Float64Array.from([0.1, 1, 1 / 3])));
    const y = writeNpy('y64.npy', '<f8', [3], bytes(Float64Array.from([1, 2, 3])));
    const y2 = writeNpy('y64b.npy', '<f8', [2], bytes(Float64Array.from([1, 2])));
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const ds = loadNpyDataset(x, y);
      expect(ds.roundedToFloat32).toHaveLength(1);
      const r = ds.roundedToFloat32![0]!;
      expect([r.array, r.file, r.dtype]).toEqual(['X', x, '<f8']);
      // float64 truth: the largest |fround(v) − v|/|v| over the three values
      const want = Math.max(...[0.1, 1, 1 / 3].map((v) => Math.abs(Math.fround(v) - v) / v));
      expect(r.maxRelativeChange).toBe(want);
      expect(r.maxRelativeChange).toBeGreaterThan(0);
      expect(r.maxRelativeChange).toBeLessThanOrEqual(2 ** -24);
      loadNpyDataset(x, y); // the same file again: no second warning
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('x64.npy (X) is <f8');
      expect(lines[0]).toContain('rounded to float32');
      // exactly representable float64 values: nothing to say
      expect(loadNpyDataset(exact, y2).roundedToFloat32).toBeUndefined();
      expect(lines).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('row-count mismatch, non-finite values and negative labels name the file', () => {
    const x = writeNpy('x3.npy', '<f4', [3, 1], bytes(Float32Array.from([1, 2, 3])));
    const y2 = writeNpy('y2.npy', '<i4', [2], bytes(Int32Array.from([0, 1])));
    expect(() => loadNpyDataset(x, y2)).toThrow(/x3\.npy has 3 rows but .*y2\.npy has 2/);
    const xnan = writeNpy('xnan.npy', '<f4', [2, 1], bytes(Float32Array.from([1, Number.NaN])));
    const y = writeNpy('yok.npy', '<i4', [2], bytes(Int32Array.from([0, 1])));
    expect(() => loadNpyDataset(xnan, y)).toThrow(/xnan\.npy: non-finite value NaN at flat index 1/);
    const yneg = writeNpy('yneg.npy', '<i4', [3], bytes(Int32Array.from([0, -1, 1])));
    expect(() => loadNpyDataset(x, yneg)).toThrow(/yneg\.npy: label -1 at index 1/);
    const yinf = writeNpy('yinf.npy', '<f8', [3], bytes(Float64Array.from([0, Number.POSITIVE_INFINITY, 1])));
    expect(() => loadNpyDataset(x, yinf)).toThrow(/yinf\.npy: non-finite value Infinity/);
  });
});

describe('download', () => {
  // standard test vectors for "abc"
  const md5 = '900150983cd24fb0d6963f7d28e17f72';
  const sha256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  const src = join(root, 'abc.txt');
  writeFileSync(src, 'abc');

  it('copies a file:// source after verifying md5 and sha256', async () => {
    const dest = join(root, 'cache', 'sub', 'abc1.txt');
    await expect(download({ url: pathToFileURL(src).href, dest, md5, sha256 })).resolves.toBe(dest);
    expect(readFileSync(dest, 'utf8')).toBe('abc');
  });

  it('a checksum mismatch throws and leaves no file at dest', async () => {
    const dest = join(root, 'cache', 'bad.txt');
    const wrong = `${md5.slice(0, 31)}0`;
    await expect(download({ url: pathToFileURL(src).href, dest, md5: wrong })).rejects.toThrow(
      /checksum mismatch .*md5 900150983cd24fb0d6963f7d28e17f72, expected/,
    );
    expect(existsSync(dest)).toBe(false);
  });

  it('uses the given fetch for http(s), skips it when dest already verifies, reports HTTP errors', async () => {
    let calls = 0;
    const fetch = async (url: string) => {
      calls++;
      return {
        ok: url.endsWith('/abc'),
        status: url.endsWith('/abc') ? 200 : 404,
        arrayBuffer: async () => new TextEncoder().encode('abc').buffer as ArrayBuffer,
      };
    };
    const dest = join(root, 'cache', 'abc2.txt');
    await download({ url: 'https://example.invalid/abc', dest, sha256, fetch });
    await download({ url: 'https://example.invalid/abc', dest, sha256, fetch });
    expect(calls).toBe(1);
    expect(readFileSync(dest, 'utf8')).toBe('abc');
    await expect(
      download({ url: 'https://example.invalid/x', dest: join(root, 'x'), md5, fetch }),
    ).rejects.toThrow(/example\.invalid\/x answered HTTP 404/);
    await expect(
      download({ url: 'https://example.invalid/abc', dest: join(root, 'y'), fetch }),
    ).rejects.toThrow(/give md5 or sha256/);
  });
});
