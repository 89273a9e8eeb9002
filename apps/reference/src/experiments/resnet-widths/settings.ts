import { LOOP_OPTIONS, RADII_OPTION, V_OPTIONS, type VConstraintName } from '../../classification-options.js';
import { type OptionDef, SEED_MAX, checkOptions } from '../../options.js';
import { type ScaleName, SCALE_OPTION } from '../../sweep/experiment.js';

/**
 * Image sets of the sweep: `fashion-mnist` (Debian's dataset-fashion-mnist, offline; 28×28 gray
 * images zero-padded to 32×32, ONE input channel), `cifar10` and `cifar100` (32×32×3, from
 * `--data-dir`, or downloaded into it with `--fetch`), `rimagenet` (Zhang et al.'s R-ImageNet, 20
 * classes, from the ImageNet folder `--imagenet-dir`: `train/<wnid>/` for training, `val/<wnid>/`
 * for testing; `imageSize`×`imageSize`×3, the ImageNet layout of ResNet-18).
 */
export const RESNET_DATA = ['fashion-mnist', 'cifar10', 'cifar100', 'rimagenet'] as const;
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
  /** The ImageNet folder (`train/<wnid>/*.JPEG`, `val/<wnid>/*.JPEG`) of `--data rimagenet`. */
  imagenetDir?: string;
  /** R-ImageNet only: side of the images (resized, centre-cropped; paper 224). */
  imageSize: number;
  /** R-ImageNet only: at most this many images per class and split are decoded (default all). */
  limitPerClass?: number;
  /** Training and test samples (the first of each split). */
  trainN: number;
  testN: number;
  batchSize: number;
  /** Epochs; the cosine schedule's T_max. */
  epochs: number;
  /** `cosine` (T_max = epochs; App. H.2 for CIFAR) or `multistep` (×0.1 at `milestones`; R-ImageNet). */
  schedule: 'cosine' | 'multistep';
  /** Epochs at which `multistep` multiplies the step size by 0.1 (App. H.2: 30, 60, 90). */
  milestones: number[];
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
/** App. H.2's ε list for R-ImageNet. */
export const R_IMAGENET_RADII = [0.01, 0.1, 1, 1000];

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
  schedule: 'cosine' as const,
  milestones: [30, 60, 90],
};

/**
 * `paper`: App. H.2 / H.4 on CIFAR-10 (`--data cifar100` for the other panel of Fig. 8): the full
 * ResNet-18 trunk 64-128-256, final width 64..512, the ten radii, batch 128, 600 epochs (App. H.2;
 * a GPU job). R-ImageNet (`--data rimagenet`) takes App. H.2's settings as flags (see
 * {@link R_IMAGENET_PAPER_FLAGS}). `default`: the machinery at a size this 2-core CPU finishes in
 * about ten minutes — 1,000 Fashion-MNIST images padded to 32×32, every width divided by 16,
 * 6 epochs; it is not the paper's result. `smoke`: seconds, for the tests.
 */
export const RESNET_WIDTHS_SCALES: Record<ScaleName, ResNetWidthsSettings> = {
  paper: {
    scale: 'paper',
    ...PAPER,
    data: 'cifar10',
    imageSize: 224,
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
    imageSize: 64,
    trainN: 1000,
    testN: 1000,
    batchSize: 100,
    epochs: 6,
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
    imageSize: 32,
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

/**
 * App. H.2 / H.5's R-ImageNet settings as flags on top of `--scale paper`: final widths 64..512
 * (the preset's), ε ∈ {0.01, 0.1, 1, 1000}, SGD 0.1 / 0.9 / 5e-4 (the preset's), ×0.1 at epochs
 * 30, 60, 90 of 90 epochs, batch 256, 224×224 images, the 5,000 validation images (50 per ImageNet
 * class) as the test set, 5 seeds (Fig. 5/9). `--train-n` (the preset's 50,000) is the user's: the
 * paper trains on the whole train split, whose size depends on the ImageNet copy.
 */
export const R_IMAGENET_PAPER_FLAGS = [
  '--data',
  'rimagenet',
  '--image-size',
  '224',
  '--epochs',
  '90',
  '--schedule',
  'multistep',
  '--milestones',
  '30,60,90',
  '--batch-size',
  '256',
  '--test-n',
  '5000',
  '--radii',
  R_IMAGENET_RADII.join(','),
  '--seeds',
  '0,1,2,3,4',
  '--eval-every-epochs',
  '10',
];

/** Flags / config fields of the settings (`scale` picks the preset the others override). */
export const RESNET_WIDTHS_OPTIONS: OptionDef[] = [
  SCALE_OPTION,
  {
    key: 'data',
    kind: 'string',
    values: RESNET_DATA,
    help: 'image set (cifar10 / cifar100 need --data-dir)',
  },
  { key: 'dataDir', kind: 'string', help: 'directory of the image files (fetchDataset layout)' },
  { key: 'fetch', kind: 'bool', help: 'download the CIFAR set into --data-dir when missing (MD5-checked)' },
  {
    key: 'imagenetDir',
    kind: 'string',
    help: 'the ImageNet folder of --data rimagenet (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG)',
  },
  {
    key: 'imageSize',
    kind: 'int',
    min: 8,
    max: 1024,
    help: 'side of the R-ImageNet images (resized and centre-cropped; paper 224)',
  },
  {
    key: 'limitPerClass',
    kind: 'int',
    min: 1,
    help: 'R-ImageNet: decode at most this many images per class and split (default all)',
  },
  { key: 'trainN', kind: 'int', min: 1, help: 'training samples (the first of the training split)' },
  { key: 'testN', kind: 'int', min: 1, help: 'test samples (the first of the test split)' },
  // batchSize (at most trainN) and evalEveryEpochs; the seeds are a list here
  ...LOOP_OPTIONS.filter((o) => o.key !== 'seed'),
  { key: 'epochs', kind: 'int', min: 1, help: "epochs per run (cosine schedule's T_max)" },
  {
    key: 'schedule',
    kind: 'string',
    values: ['cosine', 'multistep'],
    help: 'step-size schedule: cosine (CIFAR) or ×0.1 at --milestones (R-ImageNet)',
  },
  {
    key: 'milestones',
    kind: 'intList',
    min: 1,
    unique: true,
    help: 'epochs at which --schedule multistep multiplies the step size by 0.1',
    check: (v, s) => {
      const late = (v as number[]).find((m) => m > (s.epochs as number));
      return s.schedule === 'multistep' && late !== undefined
        ? `every milestone must be at most epochs = ${s.epochs} with --schedule multistep, got ${late}`
        : undefined;
    },
  },
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
  RADII_OPTION,
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
