import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FASHION_MNIST_DEBIAN_DIR,
  loadCifar10,
  loadCifar100,
  loadFashionMnist,
  loadIdxImages,
  loadIdxLabels,
  loadMnist,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-datasets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function idx(dims: number[], body: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  for (const [i, v] of dims.entries()) head.writeUInt32BE(v, 4 + 4 * i);
  return Buffer.concat([head, Buffer.from(body)]);
}

function dirWith(name: string, files: Record<string, Buffer>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
  return dir;
}

// three 2×2 images with bytes 0..11 and labels 0, 9, 3
const IMG = idx([3, 2, 2], [0, 51, 102, 255, 4, 5, 6, 7, 8, 9, 10, 11]);
const LBL = idx([3], [0, 9, 3]);

describe('IDX loaders', () => {
  it('read raw and gzipped IDX files alike, scaling bytes by 1/255', () => {
    const dir = dirWith('idx-basic', { 'a.idx3': IMG, 'a.idx3.gz': gzipSync(IMG), 'l.idx1': LBL });
    for (const f of ['a.idx3', 'a.idx3.gz']) {
      const img = loadIdxImages(join(dir, f));
      expect([img.count, img.rows, img.cols]).toEqual([3, 2, 2]);
      expect(img.data[1]).toBeCloseTo(0.2, 7);
      expect(img.data[3]).toBe(1);
      expect(img.data[11]).toBeCloseTo(11 / 255, 7);
    }
    expect(Array.from(loadIdxLabels(join(dir, 'l.idx1')))).toEqual([0, 9, 3]);
  });

  it('loadMnist builds one-hot Y, labels and imageShape from a directory (gz names)', () => {
    const dir = dirWith('mnist-gz', {
      'train-images-idx3-ubyte.gz': gzipSync(IMG),
      'train-labels-idx1-ubyte.gz': gzipSync(LBL),
      't10k-images-idx3-ubyte': IMG,
      't10k-labels-idx1-ubyte': LBL,
    });
    const ds = loadMnist({ dir, split: 'train' });
    expect([ds.name, ds.n, ds.d, ds.k]).toEqual(['mnist-train', 3, 4, 10]);
    expect(ds.imageShape).toEqual([2, 2, 1]);
    expect(Array.from(ds.labels!)).toEqual([0, 9, 3]);
    expect(ds.Y[0]).toBe(1);
    expect(ds.Y[10 + 9]).toBe(1);
    expect(ds.Y[20 + 3]).toBe(1);
    expect(ds.Y.reduce((s, v) => s + v, 0)).toBe(3);
    expect(loadMnist({ dir, split: 'test' }).X).toEqual(ds.X);
  });

  it('wrong magic numbers name the file and the magic', () => {
    const dir = dirWith('idx-magic', { 'l.idx1': LBL, 'i.idx3': IMG });
    expect(() => loadIdxImages(join(dir, 'l.idx1'))).toThrow(
      /l\.idx1 has magic number 0x00000801, expected 0x00000803/,
    );
    expect(() => loadIdxLabels(join(dir, 'i.idx3'))).toThrow(/i\.idx3 has magic number 0x00000803/);
    const f32 = Buffer.from(IMG);
    f32[2] = 0x0d;
    writeFileSync(join(dir, 'float.idx3'), f32);
    expect(() => loadIdxImages(join(dir, 'float.idx3'))).toThrow(/float\.idx3 has IDX data type 0xd/);
  });

  it('truncated or over-long files are rejected naming the file', () => {
    const dir = dirWith('idx-trunc', {
      'short.idx3': IMG.subarray(0, IMG.length - 1),
      'short.idx3.gz': gzipSync(IMG.subarray(0, IMG.length - 5)),
      'cut.gz': gzipSync(IMG).subarray(0, 20),
      'long.idx1': Buffer.concat([LBL, Buffer.from([1])]),
      'tiny.idx1': Buffer.from([0, 0]),
    });
    expect(() => loadIdxImages(join(dir, 'short.idx3'))).toThrow(
      /short\.idx3 is truncated: .* needs 12 bytes, found 11/,
    );
    expect(() => loadIdxImages(join(dir, 'short.idx3.gz'))).toThrow(/short\.idx3\.gz is truncated/);
    expect(() => loadIdxImages(join(dir, 'cut.gz'))).toThrow(/cut\.gz is not a valid gzip file/);
    expect(() => loadIdxLabels(join(dir, 'long.idx1'))).toThrow(/long\.idx1 has 1 bytes beyond/);
    expect(() => loadIdxLabels(join(dir, 'tiny.idx1'))).toThrow(/tiny\.idx1 is truncated/);
    expect(() => loadIdxLabels(join(dir, 'missing.idx1'))).toThrow(/cannot read .*missing\.idx1/);
  });

  it('image/label count mismatch, label range and missing files are reported', () => {
    const mismatch = dirWith('mnist-mismatch', {
      'train-images-idx3-ubyte': IMG,
      'train-labels-idx1-ubyte': idx([2], [1, 2]),
    });
    expect(() => loadMnist({ dir: mismatch })).toThrow(
      /train-images-idx3-ubyte holds 3 images but .*train-labels-idx1-ubyte holds 2 labels/,
    );
    const range = dirWith('mnist-range', {
      'train-images-idx3-ubyte': IMG,
      'train-labels-idx1-ubyte': idx([3], [1, 12, 2]),
    });
    expect(() => loadMnist({ dir: range })).toThrow(
      /train-labels-idx1-ubyte: label 12 at index 1 is not in \[0, 10\)/,
    );
    expect(() => loadMnist({ dir: join(root, 'nowhere'), split: 'test' })).toThrow(/t10k-images-idx3-ubyte/);
    expect(() => loadMnist({ dir: range, split: 'val' as 'test' })).toThrow(/split/);
  });
});

const fashion = existsSync(join(FASHION_MNIST_DEBIAN_DIR, 'train-images-idx3-ubyte.gz'));
if (!fashion) console.warn(`Fashion-MNIST not found in ${FASHION_MNIST_DEBIAN_DIR}: real-file tests skipped`);

describe('Fashion-MNIST (Debian package dataset-fashion-mnist)', () => {
  it.skipIf(!fashion)('train: 60,000 images 28×28 in [0, 1], 10 balanced classes of 6,000', () => {
    const ds = loadFashionMnist({ split: 'train' });
    expect([ds.n, ds.d, ds.k]).toEqual([60000, 784, 10]);
    expect(ds.imageShape).toEqual([28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const c of ds.labels!) counts[c]++;
    expect(counts).toEqual(new Array(10).fill(6000));
    let max = 0;
    let min = 1;
    for (const v of ds.X) {
      if (v > max) max = v;
      if (v < min) min = v;
    }
    expect([min, max]).toEqual([0, 1]);
    expect(ds.classes![9]).toBe('Ankle boot');
  });

  it.skipIf(!fashion)('test: 10,000 images, 1,000 per class', () => {
    const ds = loadFashionMnist({ split: 'test' });
    expect(ds.n).toBe(10000);
    const counts = new Array(10).fill(0);
    for (const c of ds.labels!) counts[c]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
});

/** A CIFAR record: label bytes then R, G, B planes with byte (c·50 + y + 2x + seed) mod 256. */
function record(labelBytes: number[], seed: number): Buffer {
  const px = Buffer.alloc(3072);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) px[c * 1024 + y * 32 + x] = (c * 50 + y + 2 * x + seed) % 256;
  }
  return Buffer.concat([Buffer.from(labelBytes), px]);
}

function expectHwc(X: Float32Array, i: number, seed: number): void {
  for (const [y, x] of [
    [0, 0],
    [5, 7],
    [31, 31],
  ] as const) {
    for (let c = 0; c < 3; c++) {
      expect(X[i * 3072 + (y * 32 + x) * 3 + c]).toBeCloseTo(((c * 50 + y + 2 * x + seed) % 256) / 255, 7);
    }
  }
}

describe('CIFAR loaders', () => {
  it('CIFAR-10 reads the five train batches and the test batch, converting CHW planes to HWC', () => {
    const files: Record<string, Buffer> = {};
    for (let b = 1; b <= 5; b++)
      files[`data_batch_${b}.bin`] = Buffer.concat([record([b], b), record([b + 4], 10 * b)]);
    files['test_batch.bin'] = record([9], 99);
    const dir = dirWith('cifar10/cifar-10-batches-bin', files);
    const train = loadCifar10({ dir: join(root, 'cifar10'), split: 'train' });
    expect([train.n, train.d, train.k]).toEqual([10, 3072, 10]);
    expect(train.imageShape).toEqual([32, 32, 3]);
    expect(Array.from(train.labels!)).toEqual([1, 5, 2, 6, 3, 7, 4, 8, 5, 9]);
    expectHwc(train.X, 0, 1);
    expectHwc(train.X, 9, 50);
    expect(train.classes![3]).toBe('cat');
    const test = loadCifar10({ dir, split: 'test' });
    expect(Array.from(test.labels!)).toEqual([9]);
    expectHwc(test.X, 0, 99);
  });

  it('CIFAR-100 reads fine or coarse labels', () => {
    const dir = dirWith('cifar100', {
      'train.bin': Buffer.concat([record([19, 99], 3), record([4, 0], 4)]),
      'test.bin': record([0, 42], 5),
    });
    const fine = loadCifar100({ dir });
    expect([fine.n, fine.k]).toEqual([2, 100]);
    expect(Array.from(fine.labels!)).toEqual([99, 0]);
    expect([fine.classes![0], fine.classes![99]]).toEqual(['apple', 'worm']);
    expectHwc(fine.X, 1, 4);
    const coarse = loadCifar100({ dir, labelMode: 'coarse' });
    expect([coarse.k, ...coarse.labels!]).toEqual([20, 19, 4]);
    expect(coarse.classes![19]).toBe('vehicles_2');
    expect(Array.from(loadCifar100({ dir, split: 'test' }).labels!)).toEqual([42]);
  });

  it('bad CIFAR files are rejected naming the file', () => {
    const dir = dirWith('cifar100-bad', {
      'train.bin': Buffer.concat([record([1, 2], 0), Buffer.alloc(100)]),
      'test.bin': record([20, 1], 0),
    });
    expect(() => loadCifar100({ dir })).toThrow(
      /train\.bin has 3174 bytes, not a whole number of 3074-byte records/,
    );
    expect(() => loadCifar100({ dir, split: 'test', labelMode: 'coarse' })).toThrow(
      /test\.bin: record 0 has label 20, not in \[0, 20\)/,
    );
    expect(() => loadCifar100({ dir, labelMode: 'medium' as 'fine' })).toThrow(/labelMode/);
    expect(() => loadCifar10({ dir })).toThrow(/data_batch_1\.bin/);
  });
});
