import { LOOP_OPTIONS, V_OPTIONS, type VConstraintName } from '../../classification-options.js';
import { type OptionDef, SEED_MAX, checkOptions } from '../../options.js';
import { SCALE_NAMES, type ScaleName } from '../../sweep/experiment.js';

/**
 * Image sets of the sweep: `fashion-mnist` (Debian's dataset-fashion-mnist, offline; 28×28 gray
 * images zero-padded to 32×32, ONE input channel), `cifar10` and `cifar100` (32×32×3, from
 * `--data-dir`, or downloaded into it with `--fetch`).
 */
export const RESNET_DATA = ['fashion-mnist', 'cifar10', 'cifar100'] as const;
/** One of {@link RESNET_DATA}. */
export type ResNetData = (typeof RESNET_DATA)[number];

/** `alg2` (Zhang et al. Alg. 2 on the final block) and `regular` (LeCun init, SGD everywhere). */
export const RESNET_ARMS = ['alg2', 'regular'] as const;
/** One of {@link RESNET_ARMS}. */
export type ResNetArm = (typeof RESNET_ARMS)[number];

/** Everything that defines a resnet-widths sweep (stored as the run directory's settings). */
export interface ResNetWidthsSettings {
  scale: ScaleName;
  data: ResNetData;
  /** Directory of the CIFAR files (or of Fashion-MNIST's IDX files; default Debian's). */
  dataDir?: string;
  /** Download the CIFAR set into `dataDir` (MD5-checked) when it is not there. */
  fetch: boolean;
  /** Training and test samples (the first of each split). */
  trainN: number;
  testN: number;
  batchSize: number;
  /** Epochs; the cosine schedule's T_max. */
  epochs: number;
  evalEveryEpochs: number;
  /** Channels of the stem and the first three stages of ResNet-18 (paper: 64, 128, 256). */
  trunkWidths: number[];
  /** Channels of the final (4th) stage (paper: 64, 128, 256, 512). */
  widths: number[];
  /** Radii ε of the ball ‖W₄ − W₄⁰‖_F ≤ ε on the final block (App. H.2's CIFAR list; 1000 = free). */
  radii: number[];
  arms: ResNetArm[];
  /** One run per seed per cell (init, batch order and augmentation); error bars over them. */
  seeds: number[];
  /** Pad-4 random crop + horizontal flip of every training batch (App. H.2). */
  augment: boolean;
  /** SGD of both arms (App. H.2: lr 0.1, momentum 0.9, weight decay 5e-4, cosine). */
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Alg. 2's constraint on each class row of the paired head: none, or B_{ζ,κ} exact / App. H.1's heuristic. */
  vConstraint: VConstraintName;
  zeta: number;
  kappa: number;
}

/** App. H.2's ε list for CIFAR-10/100. */
export const CIFAR_RADII = [0.1, 0.2, 0.4, 0.8, 1, 2, 4, 8, 10, 1000];

const PAPER = {
  fetch: false,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  vConstraint: 'none' as const,
  zeta: 0.001,
  kappa: 1,
  arms: [...RESNET_ARMS],
  augment: true,
};

/**
 * `paper`: App. H.2 / H.4 on CIFAR-10 (`--data cifar100` for the other panel of Fig. 8): the full
 * ResNet-18 trunk 64-128-256, final width 64..512, the ten radii, batch 128, 600 epochs (App. H.2;
 * a GPU job). `default`: the machinery at a size this 2-core CPU finishes in about ten minutes —
 * 1,000 Fashion-MNIST images padded to 32×32, every width divided by 16, 2 epochs; it is not the
 * paper's result. `smoke`: seconds, for the tests.
 */
export const RESNET_WIDTHS_SCALES: Record<ScaleName, ResNetWidthsSettings> = {
  paper: {
    scale: 'paper',
    ...PAPER,
    data: 'cifar10',
    trainN: 50000,
    testN: 10000,
    batchSize: 128,
    epochs: 600,
    evalEveryEpochs: 50,
    trunkWidths: [64, 128, 256],
    widths: [64, 128, 256, 512],
    radii: CIFAR_RADII,
    seeds: [0, 1, 2],
  },
  default: {
    scale: 'default',
    ...PAPER,
    data: 'fashion-mnist',
    trainN: 1000,
    testN: 1000,
    batchSize: 100,
    epochs: 2,
    evalEveryEpochs: 2,
    trunkWidths: [4, 8, 16],
    widths: [4, 8, 16, 32],
    radii: [1, 1000],
    seeds: [0, 1],
  },
  smoke: {
    scale: 'smoke',
    ...PAPER,
    data: 'fashion-mnist',
    trainN: 40,
    testN: 40,
    batchSize: 20,
    epochs: 1,
    evalEveryEpochs: 1,
    trunkWidths: [2, 2, 2],
    widths: [2, 4],
    radii: [1],
    seeds: [0, 1],
  },
};

/** Flags / config fields of the settings (`scale` picks the preset the others override). */
export const RESNET_WIDTHS_OPTIONS: OptionDef[] = [
  {
    key: 'scale',
    kind: 'string',
    values: SCALE_NAMES,
    help: 'preset of all settings below',
    defaultText: 'default',
  },
  {
    key: 'data',
    kind: 'string',
    values: RESNET_DATA,
    help: 'image set (cifar10 / cifar100 need --data-dir)',
  },
  { key: 'dataDir', kind: 'string', help: 'directory of the image files (fetchDataset layout)' },
  { key: 'fetch', kind: 'bool', help: 'download the CIFAR set into --data-dir when missing (MD5-checked)' },
  { key: 'trainN', kind: 'int', min: 1, help: 'training samples (the first of the training split)' },
  { key: 'testN', kind: 'int', min: 1, help: 'test samples (the first of the test split)' },
  // batchSize (at most trainN) and evalEveryEpochs; the seeds are a list here
  ...LOOP_OPTIONS.filter((o) => o.key !== 'seed'),
  { key: 'epochs', kind: 'int', min: 1, help: "epochs per run (cosine schedule's T_max)" },
  {
    key: 'trunkWidths',
    kind: 'intList',
    min: 1,
    max: 4096,
    help: 'channels of the stem/stage 1, stage 2 and stage 3 (three values)',
    check: (v) => (Array.isArray(v) && v.length !== 3 ? `must list 3 widths, got ${v.length}` : undefined),
  },
  {
    key: 'widths',
    kind: 'intList',
    min: 2,
    max: 4096,
    unique: true,
    help: 'channels of the final (4th) stage (even: the head is cut in half)',
    check: (v) =>
      Array.isArray(v) && v.some((w) => w % 2 !== 0)
        ? `must be even (the paired head), got ${v.join(',')}`
        : undefined,
  },
  {
    key: 'radii',
    kind: 'numberList',
    min: 0,
    minExclusive: true,
    unique: true,
    help: "radii ε of Alg. 2's ball",
  },
  { key: 'arms', kind: 'enumList', values: RESNET_ARMS, unique: true, help: 'training arms' },
  {
    key: 'seeds',
    kind: 'intList',
    min: 0,
    max: SEED_MAX,
    unique: true,
    help: 'seeds (one run per seed per cell)',
  },
  { key: 'augment', kind: 'bool', help: 'pad-4 random crop and horizontal flip of every training batch' },
  { key: 'lr', kind: 'number', min: 0, minExclusive: true, help: "SGD's initial step size" },
  { key: 'momentum', kind: 'number', min: 0, max: 1, maxExclusive: true, help: "SGD's heavy-ball momentum" },
  { key: 'weightDecay', kind: 'number', min: 0, help: "SGD's weight decay" },
  ...V_OPTIONS,
];

/** Checks settings against {@link RESNET_WIDTHS_OPTIONS}; the message names the field. */
export function validateResNetWidths(s: ResNetWidthsSettings): ResNetWidthsSettings {
  checkOptions(RESNET_WIDTHS_OPTIONS, s as unknown as Record<string, unknown>, {}, 'settings field');
  return s;
}
