import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DATASET_SOURCES,
  type DatasetSource,
  fetchSource,
  kawaguchiGray12x12,
  kawaguchiMnist8x8,
  kawaguchiTeacher,
  loadCifar10,
  loadSvhn,
  mnistSample,
  subset,
} from '@narrownet/datasets';
import type { KawaguchiData } from '../../kawaguchi-depth-width.js';
import { UsageError } from '../../options.js';
import type { KawaguchiDataset, KawaguchiSweepSettings } from './settings.js';

/** Input dimension of each data set after its preprocessing. */
export const INPUT_DIM: Record<KawaguchiDataset, number> = {
  synthetic: 10,
  mnist8x8: 64,
  cifar10: 144,
  svhn: 144,
};
/** Output dimension (1 for the teacher's scalar labels, 10 one-hot classes for the images). */
export const OUTPUT_DIM: Record<KawaguchiDataset, number> = {
  synthetic: 1,
  mnist8x8: 10,
  cifar10: 10,
  svhn: 10,
};

/** The image sets read from files (not shipped): what `fetchDataset` calls them and the files they need. */
const FILE_SETS = {
  cifar10: {
    label: 'CIFAR-10 binary batches',
    sub: DATASET_SOURCES.cifar10.dir,
    files: [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
    ],
    how: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (about 163 MB), unpacked',
  },
  svhn: {
    label: 'SVHN cropped digits',
    sub: DATASET_SOURCES.svhn.dir,
    files: ['train_32x32.mat'],
    how: 'http://ufldl.stanford.edu/housenumbers/train_32x32.mat (about 182 MB)',
  },
} as const;

/** The directory holding a file set: `<dataDir>/<sub>` (as fetchDataset lays it out) or `<dataDir>` itself. */
function fileSetDir(dataDir: string, set: (typeof FILE_SETS)[keyof typeof FILE_SETS]): string | undefined {
  for (const dir of [join(dataDir, set.sub), dataDir])
    if (set.files.every((f) => existsSync(join(dir, f)))) return dir;
  return undefined;
}

/** Where `--fetch` downloads each image set from: the official locations and MD5s. */
export const KAWAGUCHI_SOURCES: Readonly<Record<'cifar10' | 'svhn', DatasetSource>> = {
  cifar10: DATASET_SOURCES.cifar10,
  svhn: DATASET_SOURCES.svhn,
};

/**
 * Makes sure the image files of the selected data sets are there before any cell runs: found under
 * `dataDir`, or downloaded into it from `sources` (default {@link KAWAGUCHI_SOURCES}; a mirror, or
 * files served locally in the tests) with MD5 checks when `fetch` is set; otherwise a UsageError
 * that names the missing files and both ways to get them. A download that fails its checksum
 * writes nothing and rejects with the file's URL and destination.
 */
export async function prepareKawaguchiData(
  s: KawaguchiSweepSettings,
  log: (line: string) => void,
  sources: Readonly<Record<'cifar10' | 'svhn', DatasetSource>> = KAWAGUCHI_SOURCES,
): Promise<void> {
  for (const name of s.datasets) {
    if (name !== 'cifar10' && name !== 'svhn') continue;
    const set = FILE_SETS[name];
    if (fileSetDir(s.dataDir, set)) continue;
    if (!s.fetch) {
      throw new UsageError(
        `--datasets ${name}: the ${set.label} are not under --data-dir ${s.dataDir} (looked for ` +
          `${set.files.join(', ')} in ${join(s.dataDir, set.sub)} and in ${s.dataDir}); add --fetch to ` +
          `download them there with MD5 checks, or put ${set.how} into that directory`,
      );
    }
    log(`narrownet: fetching ${set.label} into ${s.dataDir} (MD5-checked)\n`);
    await fetchSource(sources[name], s.dataDir);
  }
}

let dataCache: { key: string; data: KawaguchiData } | undefined;

/**
 * The data set of a cell (memoized: every cell of one data set uses the same one). Images: the
 * first n of the training split; MNIST centre-crop 24×24 → 8×8, CIFAR-10 and SVHN centre-crop
 * 28×28 → gray → 12×12 (App. C), one-hot targets.
 */
export function datasetOf(s: KawaguchiSweepSettings, dataset: KawaguchiDataset): KawaguchiData {
  const key =
    dataset === 'synthetic'
      ? `synthetic/${s.syntheticN}/${s.seed}`
      : dataset === 'mnist8x8'
        ? `mnist8x8/${s.mnistN}`
        : `${dataset}/${s.imageN}/${s.dataDir}`;
  if (dataCache?.key !== key) {
    let data: KawaguchiData;
    if (dataset === 'synthetic') {
      // App. C: teacher = tanh net of depth 7, width 50, x ∈ R^10 (the datasets package's defaults)
      data = kawaguchiTeacher({ n: s.syntheticN, seed: s.seed });
    } else if (dataset === 'mnist8x8') {
      data = kawaguchiMnist8x8(mnistSample({ count: s.mnistN }));
    } else {
      const dir = fileSetDir(s.dataDir, FILE_SETS[dataset]) ?? s.dataDir;
      const all = dataset === 'cifar10' ? loadCifar10({ dir }) : loadSvhn({ dir });
      if (all.n < s.imageN)
        throw new UsageError(`--image-n ${s.imageN}: ${dataset} has only ${all.n} training images in ${dir}`);
      data = kawaguchiGray12x12(
        subset(
          all,
          Int32Array.from({ length: s.imageN }, (_, i) => i),
        ),
      );
    }
    dataCache = { key, data: { X: data.X, Y: data.Y, n: data.n, d: data.d, k: data.k } };
  }
  return dataCache.data;
}
