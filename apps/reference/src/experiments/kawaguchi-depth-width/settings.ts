import { CUTOFF_CRITERIA, type CutoffCriterion } from '@narrownet/landscape';
import { type OptionDef, SEED_MAX, checkOptions } from '../../options.js';
import { type ScaleName, SCALE_OPTION } from '../../sweep/experiment.js';

/**
 * The data sets of Fig. 1 this command runs: the teacher set of App. C and MNIST at 8 × 8 (both
 * offline, the default), CIFAR-10 and SVHN at gray 12 × 12 (from files: `--data-dir`, `--fetch`).
 */
export const KAWAGUCHI_DATASETS = ['synthetic', 'mnist8x8', 'cifar10', 'svhn'] as const;
/** The data sets every scale runs unless `--datasets` says otherwise (no files needed). */
const OFFLINE_DATASETS: KawaguchiDataset[] = ['synthetic', 'mnist8x8'];
/** One of {@link KAWAGUCHI_DATASETS}. */
export type KawaguchiDataset = (typeof KAWAGUCHI_DATASETS)[number];

/** Everything that defines a depth × width sweep (stored as the run directory's settings). */
export interface KawaguchiSweepSettings {
  scale: ScaleName;
  /** Data sets, each with its own depth × width grid. */
  datasets: KawaguchiDataset[];
  /** Depths H (hidden layers). */
  depths: number[];
  /** Widths (every hidden layer). */
  widths: number[];
  /** Training epochs (paper: 40). */
  epochs: number;
  /** SGD step size (paper: 0.01). */
  lr: number;
  /** Sample size of the teacher set (paper: 5000) and of the MNIST sample (paper: 10000). */
  syntheticN: number;
  mnistN: number;
  /** Images of CIFAR-10 and SVHN (the first n of each training split; paper: 10000). */
  imageN: number;
  /** Where the CIFAR-10 / SVHN files are (or go, with `fetch`): `<dataDir>/cifar-10-batches-bin`, `<dataDir>/svhn`. */
  dataDir: string;
  /** Download missing CIFAR-10 / SVHN files into `dataDir` (MD5-checked) instead of stopping. */
  fetch: boolean;
  /** Heavy-ball momentum (paper: 0.9 synthetic, 0.5 images). */
  syntheticMomentum: number;
  mnistMomentum: number;
  /** Mini-batch size (paper: 200 synthetic, 64 images; the mnist* values apply to every image set). */
  syntheticBatchSize: number;
  mnistBatchSize: number;
  /** Training loss: `mse` (PyTorch's mean, the usual procedure) or `halfSse` (the paper's ½Σ). */
  trainLoss: 'mse' | 'halfSse';
  /** Seed of the teacher set, the inits and the mini-batch order. */
  seed: number;
  /** App. C's singular-value cutoff criterion of J. */
  cutoff: CutoffCriterion;
}

/** App. C's training settings, shared by the scales. */
const PAPER_TRAINING = {
  lr: 0.01,
  syntheticMomentum: 0.9,
  mnistMomentum: 0.5,
  syntheticBatchSize: 200,
  mnistBatchSize: 64,
  trainLoss: 'mse',
  seed: 0,
  cutoff: 'numericalRecipes',
  dataDir: 'data',
  fetch: false,
} as const;

/**
 * The three scales. `paper`: App. C (n = 5000 teacher samples, 10000 MNIST digits, depths 1-5 ×
 * widths 5-100, 40 epochs). `smoke`: seconds (tiny n, 2 × 2 cells per data set, 1 epoch).
 * `default`: the reduction that finishes in about ten minutes on a 2-core CPU (README).
 */
export const KAWAGUCHI_SCALES: Record<ScaleName, KawaguchiSweepSettings> = {
  paper: {
    scale: 'paper',
    datasets: [...OFFLINE_DATASETS],
    depths: [1, 2, 3, 4, 5],
    widths: [5, 10, 20, 50, 100],
    epochs: 40,
    syntheticN: 5000,
    mnistN: 10000,
    imageN: 10000,
    ...PAPER_TRAINING,
  },
  smoke: {
    scale: 'smoke',
    datasets: [...OFFLINE_DATASETS],
    depths: [1, 2],
    widths: [3, 6],
    epochs: 1,
    syntheticN: 40,
    mnistN: 30,
    imageN: 30,
    ...PAPER_TRAINING,
    syntheticBatchSize: 20,
    mnistBatchSize: 10,
  },
  default: {
    scale: 'default',
    datasets: [...OFFLINE_DATASETS],
    depths: [1, 2, 3],
    widths: [5, 10, 20, 30],
    epochs: 40,
    syntheticN: 2000,
    mnistN: 2000,
    imageN: 2000,
    ...PAPER_TRAINING,
  },
};

/** Flags / config fields of the settings (`scale` picks the preset the others override). */
export const KAWAGUCHI_OPTIONS: OptionDef[] = [
  SCALE_OPTION,
  { key: 'datasets', kind: 'enumList', values: KAWAGUCHI_DATASETS, unique: true, help: 'data sets to run' },
  { key: 'depths', kind: 'intList', min: 1, max: 64, unique: true, help: 'depths H (hidden layers)' },
  { key: 'widths', kind: 'intList', min: 1, max: 4096, unique: true, help: 'widths of every hidden layer' },
  { key: 'epochs', kind: 'int', min: 1, help: 'training epochs per cell' },
  { key: 'lr', kind: 'number', min: 0, minExclusive: true, help: 'SGD step size' },
  { key: 'syntheticN', kind: 'int', min: 1, help: 'samples of the teacher set (synthetic)' },
  { key: 'mnistN', kind: 'int', min: 1, max: 10000, help: 'digits of the offline MNIST sample (mnist8x8)' },
  {
    key: 'imageN',
    kind: 'int',
    min: 1,
    help: 'images of cifar10 / svhn (the first n of the training split)',
  },
  {
    key: 'dataDir',
    kind: 'string',
    help: 'directory of the cifar10 / svhn files (<dir>/cifar-10-batches-bin, <dir>/svhn, or the files themselves)',
  },
  { key: 'fetch', kind: 'bool', help: 'download missing cifar10 / svhn files into --data-dir (MD5-checked)' },
  {
    key: 'syntheticMomentum',
    kind: 'number',
    min: 0,
    max: 1,
    maxExclusive: true,
    help: 'heavy-ball momentum on synthetic',
  },
  {
    key: 'mnistMomentum',
    kind: 'number',
    min: 0,
    max: 1,
    maxExclusive: true,
    help: 'heavy-ball momentum on the image sets (mnist8x8, cifar10, svhn)',
  },
  { key: 'syntheticBatchSize', kind: 'int', min: 1, help: 'mini-batch size on synthetic' },
  { key: 'mnistBatchSize', kind: 'int', min: 1, help: 'mini-batch size on the image sets' },
  {
    key: 'trainLoss',
    kind: 'string',
    values: ['mse', 'halfSse'],
    help: 'training loss: mse (mean) or halfSse (½Σ); √L is always ½‖Ŷ − Y‖²',
  },
  { key: 'seed', kind: 'int', min: 0, max: SEED_MAX, help: 'seed of the teacher set, inits and batches' },
  { key: 'cutoff', kind: 'string', values: CUTOFF_CRITERIA, help: "App. C's singular-value cutoff of J" },
];

/** Checks settings against {@link KAWAGUCHI_OPTIONS}; the message names the field. */
export function validateKawaguchiSettings(s: KawaguchiSweepSettings): KawaguchiSweepSettings {
  checkOptions(KAWAGUCHI_OPTIONS, s as unknown as Record<string, unknown>, {}, 'settings field');
  return s;
}
