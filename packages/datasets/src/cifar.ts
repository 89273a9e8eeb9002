import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Dataset, checkDataset, oneHot } from './types.js';
import { fetchHint, findFile, readMaybeGzip } from './files.js';

const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

const CIFAR100_FINE =
  `apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly
camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur
dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard
lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear
pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark
shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone
television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm`.split(/\s+/);

const CIFAR100_COARSE = `aquatic_mammals fish flowers food_containers fruit_and_vegetables
household_electrical_devices household_furniture insects large_carnivores large_man-made_outdoor_things
large_natural_outdoor_scenes large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people
reptiles small_mammals trees vehicles_1 vehicles_2`.split(/\s+/);

/** Options of {@link loadCifar10}. */
export interface Cifar10Options {
  /** Directory with the binary batches (or its parent holding `cifar-10-batches-bin/`). */
  dir: string;
  /** Which split. Default 'train'. */
  split?: 'train' | 'test';
}

/** Options of {@link loadCifar100}. */
export interface Cifar100Options {
  /** Directory with train.bin / test.bin (or its parent holding `cifar-100-binary/`). */
  dir: string;
  /** Which split. Default 'train'. */
  split?: 'train' | 'test';
  /** Fine (100 classes, default) or coarse (20 superclasses) labels. */
  labelMode?: 'fine' | 'coarse';
}

function resolveDir(dir: unknown, sub: string, where: string): string {
  if (typeof dir !== 'string') throw new TypeError(`${where}: options.dir must be a directory path`);
  return existsSync(join(dir, sub)) ? join(dir, sub) : dir;
}

function checkSplit(split: unknown, where: string): 'train' | 'test' {
  const s = split ?? 'train';
  if (s !== 'train' && s !== 'test')
    throw new RangeError(`${where}: split must be 'train' or 'test', got ${JSON.stringify(s)}`);
  return s;
}

function readNames(dir: string, file: string, fallback: readonly string[]): readonly string[] {
  const p = join(dir, file);
  if (!existsSync(p)) return fallback;
  const names = readFileSync(p, 'utf8')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return names.length === fallback.length ? names : fallback;
}

/**
 * Decodes CIFAR binary records into HWC images in [0, 1]. Each record is `labelBytes` label bytes
 * followed by 3072 pixel bytes: 1024 red, 1024 green, 1024 blue, each row-major 32×32.
 */
function decodeRecords(
  files: readonly string[],
  labelBytes: number,
  labelIndex: number,
  k: number,
  where: string,
): { X: Float32Array; labels: Int32Array } {
  const rec = labelBytes + 3072;
  const bufs = files.map((f) => {
    const b = readMaybeGzip(f, where);
    if (b.length === 0 || b.length % rec !== 0) {
      throw new Error(
        `${where}: ${f} has ${b.length} bytes, not a whole number of ${rec}-byte records (truncated or wrong format)`,
      );
    }
    return b;
  });
  const n = bufs.reduce((s, b) => s + b.length / rec, 0);
  const X = new Float32Array(n * 3072);
  const labels = new Int32Array(n);
  let i = 0;
  for (const [fi, b] of bufs.entries()) {
    for (let r = 0; r < b.length / rec; r++, i++) {
      const o = r * rec;
      const c = b[o + labelIndex]!;
      if (c >= k)
        throw new RangeError(`${where}: ${files[fi]}: record ${r} has label ${c}, not in [0, ${k})`);
      labels[i] = c;
      const px = o + labelBytes;
      const out = i * 3072;
      for (let p = 0; p < 1024; p++) {
        X[out + 3 * p] = b[px + p]! / 255;
        X[out + 3 * p + 1] = b[px + 1024 + p]! / 255;
        X[out + 3 * p + 2] = b[px + 2048 + p]! / 255;
      }
    }
  }
  return { X, labels };
}

/**
 * CIFAR-10 from its binary batches (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`):
 * X is [n, 3072] HWC in [0, 1] (imageShape [32, 32, 3]), Y one-hot [n, 10]; 50,000 train / 10,000
 * test. Class names come from `batches.meta.txt` when present.
 */
export function loadCifar10(options: Cifar10Options): Dataset {
  const where = 'loadCifar10';
  const dir = resolveDir(options?.dir, 'cifar-10-batches-bin', where);
  const split = checkSplit(options.split, where);
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((b) => `data_batch_${b}.bin`) : ['test_batch.bin'];
  const files = names.map((f) => findFile(dir, [f, `${f}.gz`], where, fetchHint('cifar10')));
  const { X, labels } = decodeRecords(files, 1, 0, 10, where);
  const n = labels.length;
  const classes = readNames(dir, 'batches.meta.txt', CIFAR10_CLASSES);
  return checkDataset(
    {
      name: `cifar10-${split}`,
      X,
      Y: oneHot(labels, 10),
      n,
      d: 3072,
      k: 10,
      labels,
      imageShape: [32, 32, 3],
      classes,
    },
    where,
  );
}

/**
 * CIFAR-100 from `train.bin` / `test.bin` (records: coarse label byte, fine label byte, 3072
 * pixels). `labelMode` picks fine (100 classes, default) or coarse (20) labels. X is [n, 3072] HWC
 * in [0, 1] (imageShape [32, 32, 3]); 50,000 train / 10,000 test.
 */
export function loadCifar100(options: Cifar100Options): Dataset {
  const where = 'loadCifar100';
  const dir = resolveDir(options?.dir, 'cifar-100-binary', where);
  const split = checkSplit(options.split, where);
  const mode = options.labelMode ?? 'fine';
  if (mode !== 'fine' && mode !== 'coarse') {
    throw new RangeError(`${where}: labelMode must be 'fine' or 'coarse', got ${JSON.stringify(mode)}`);
  }
  const file = findFile(dir, [`${split}.bin`, `${split}.bin.gz`], where, fetchHint('cifar100'));
  const k = mode === 'fine' ? 100 : 20;
  const { X, labels } = decodeRecords([file], 2, mode === 'fine' ? 1 : 0, k, where);
  const classes =
    mode === 'fine'
      ? readNames(dir, 'fine_label_names.txt', CIFAR100_FINE)
      : readNames(dir, 'coarse_label_names.txt', CIFAR100_COARSE);
  const n = labels.length;
  return checkDataset(
    {
      name: `cifar100-${mode}-${split}`,
      X,
      Y: oneHot(labels, k),
      n,
      d: 3072,
      k,
      labels,
      imageShape: [32, 32, 3],
      classes,
    },
    where,
  );
}
