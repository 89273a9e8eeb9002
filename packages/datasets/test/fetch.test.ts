import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { extractTar, fetchSource } from '../src/fetch.js';
import { DATASET_SOURCES, fetchDataset, loadCifar100 } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-fetch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A POSIX ustar archive of regular files, written by hand (512-byte headers, octal fields). */
function tar(files: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 'latin1');
    h.write('0000644\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    h.write('00000000000\0', 136, 'latin1');
    h.write('        ', 148, 'latin1');
    h.write('0', 156, 'latin1');
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function record(coarse: number, fine: number): Buffer {
  return Buffer.concat([Buffer.from([coarse, fine]), Buffer.alloc(3072, 7)]);
}

describe('fetchDataset', () => {
  it('downloads an archive, verifies its md5, unpacks it and skips the work the second time', async () => {
    const archive = gzipSync(
      tar({ 'cifar-100-binary/train.bin': record(3, 42), 'cifar-100-binary/test.bin': record(1, 5) }),
    );
    let calls = 0;
    const fetch = async () => {
      calls++;
      return {
        ok: true,
        status: 200,
        arrayBuffer: async () => new Uint8Array(archive).buffer as ArrayBuffer,
      };
    };
    const md5 = createHash('md5').update(archive).digest('hex');
    const source = { ...DATASET_SOURCES.cifar100, files: [{ ...DATASET_SOURCES.cifar100.files[0]!, md5 }] };
    const dir = await fetchSource(source, root, fetch);
    expect(dir).toBe(join(root, 'cifar-100-binary'));
    const ds = loadCifar100({ dir });
    expect([ds.n, ...ds.labels!]).toEqual([1, 42]);
    expect(ds.X[0]).toBeCloseTo(7 / 255, 7);
    await fetchSource(source, root, fetch);
    expect(calls).toBe(1);
  });

  it('uses the published checksums: a wrong payload is rejected and nothing is written', async () => {
    const fetch = async () => ({ ok: true, status: 200, arrayBuffer: async () => new ArrayBuffer(8) });
    const dir = join(root, 'm');
    await expect(fetchDataset('mnist', { root: dir, fetch })).rejects.toThrow(
      /checksum mismatch .*train-images-idx3-ubyte\.gz.*expected f68b3c2dcbeaaa9fbdd348bbdeb94873/,
    );
    expect(existsSync(join(dir, 'mnist', 'train-images-idx3-ubyte.gz'))).toBe(false);
    await expect(fetchDataset('imagenet' as 'mnist', { root: dir })).rejects.toThrow(
      /unknown dataset "imagenet"; valid: mnist/,
    );
  });

  it('extractTar refuses unsafe member paths and detects corrupt headers', () => {
    const bad = join(root, 'bad.tar');
    writeFileSync(bad, tar({ '../evil.txt': Buffer.from('x') }));
    expect(() => extractTar(bad, join(root, 'x'))).toThrow(/bad\.tar: refusing member with unsafe path/);
    const corrupt = tar({ 'a.txt': Buffer.from('abc') });
    corrupt[0] = 'b'.charCodeAt(0);
    writeFileSync(join(root, 'corrupt.tar'), corrupt);
    expect(() => extractTar(join(root, 'corrupt.tar'), root)).toThrow(
      /corrupt\.tar: corrupt tar header at byte 0/,
    );
    const ok = join(root, 'ok.tar');
    writeFileSync(ok, tar({ 'd/a.txt': Buffer.from('abc'), 'd/b.txt': Buffer.alloc(600, 1) }));
    expect(extractTar(ok, join(root, 'out'))).toHaveLength(2);
    expect(readFileSync(join(root, 'out', 'd', 'a.txt'), 'utf8')).toBe('abc');
    expect(readFileSync(join(root, 'out', 'd', 'b.txt'))).toEqual(Buffer.alloc(600, 1));
  });
});
