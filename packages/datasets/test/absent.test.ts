import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCifar10, loadCifar100, loadFashionMnist, loadMnist } from '../src/index.js';

const empty = mkdtempSync(join(tmpdir(), 'datasets-absent-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('a loader whose files are absent says how to get them', () => {
  it('MNIST names the files tried and the fetchDataset call', () => {
    expect(() => loadMnist({ dir: empty })).toThrow(/train-images-idx3-ubyte.*fetchDataset\('mnist'/s);
  });
  it("Fashion-MNIST also names Debian's package", () => {
    expect(() => loadFashionMnist({ dir: empty })).toThrow(
      /fetchDataset\('fashion-mnist'.*dataset-fashion-mnist/s,
    );
  });
  it('CIFAR-10 and CIFAR-100 name the fetchDataset call', () => {
    expect(() => loadCifar10({ dir: empty })).toThrow(/data_batch_1\.bin.*fetchDataset\('cifar10'/s);
    expect(() => loadCifar100({ dir: empty, split: 'test' })).toThrow(/test\.bin.*fetchDataset\('cifar100'/s);
  });
});
