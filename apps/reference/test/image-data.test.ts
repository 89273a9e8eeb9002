import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistSample } from '@narrownet/datasets';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { imageSplits, mnistSplits, sourceError } from '../src/image-data.js';
import { main } from '../src/main.js';
import { io } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-image-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.unstubAllGlobals());

describe('--source fetched without the MNIST files (no network): exit 2 before anything is written', () => {
  for (const exp of ['kh-generalization', 'song-ratio'])
    it(exp, async () => {
      // the download that would fetch the files fails, as it does on a machine without internet
      const fetch = vi.fn(async (url: string) => {
        throw new Error(`no network in this test (${url})`);
      });
      vi.stubGlobal('fetch', fetch);
      const dataDir = join(root, `empty-${exp}`);
      mkdirSync(dataDir);
      const out = join(root, `run-${exp}`);
      const c = io();
      const code = await main(
        ['run', exp, '--scale', 'smoke', '--source', 'fetched', '--data-dir', dataDir, '--out', out],
        c,
      );
      expect(code).toBe(2);
      expect(fetch).toHaveBeenCalled();
      const err = c.err();
      expect(err).toContain('--source fetched');
      expect(err).toContain(`--data-dir ${dataDir}`);
      for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte'])
        expect(err).toContain(f);
      expect(err).toContain('--source offline');
      expect(existsSync(out)).toBe(false);
    });
});

describe('sourceError', () => {
  it('names every file of both splits missing from a full set’s directory', () => {
    const dir = join(root, 'mnist-train-only');
    mkdirSync(dir);
    for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte'])
      writeFileSync(join(dir, f), '');
    const msg = sourceError('mnist', dir)!;
    expect(msg).toContain('no t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte');
    expect(msg).not.toContain('no train');
    expect(msg).toContain('--data-dir');
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte.gz']) writeFileSync(join(dir, f), '');
    expect(sourceError('mnist', dir)).toBeUndefined();
  });
});

describe('the MNIST of kh-generalization and song-ratio (offline)', () => {
  const s = { source: 'offline', dataDir: join(root, 'unused'), n: 50, testN: 20 } as const;
  it('raw: the first n / testN digits of the mnist package’s train / test splits', async () => {
    const raw = await mnistSplits(s, false);
    for (const [got, split, count] of [
      [raw.train, 'train', 50],
      [raw.test, 'test', 20],
    ] as const) {
      const want = mnistSample({ split, count });
      expect(got.n).toBe(count);
      expect(Array.from(got.X)).toEqual(Array.from(want.X));
      expect(Array.from(got.labels)).toEqual(Array.from(want.labels!));
    }
    expect(raw.description).toContain('first 50 of its train split, first 20 of its test split');
  });
  it('standardised: (x − mean)/std with the training pixels’ mean and std, the same as imageSplits', async () => {
    const std = await mnistSplits(s, true);
    const raw = mnistSample({ split: 'train', count: 50 }).X;
    let mean = 0;
    for (const x of raw) mean += x;
    mean /= raw.length;
    let v = 0;
    for (const x of raw) v += (x - mean) ** 2;
    const sd = Math.sqrt(v / raw.length);
    const test = mnistSample({ split: 'test', count: 20 }).X;
    for (let i = 0; i < raw.length; i += 97) expect(std.train.X[i]).toBeCloseTo((raw[i]! - mean) / sd, 5);
    for (let i = 0; i < test.length; i += 31) expect(std.test.X[i]).toBeCloseTo((test[i]! - mean) / sd, 5);
    expect(std.train.X).toEqual(imageSplits('mnist-sample', { trainN: 50, testN: 20 }).train.X);
  });
});
