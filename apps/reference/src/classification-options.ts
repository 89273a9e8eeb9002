/** Option definitions the classification experiments (mnist-widths, random-labels) share. */
import { IMAGE_SOURCES, type ImageSource, SOURCE_SIZES } from './image-data.js';
import { type OptionDef, SEED_MAX } from './options.js';
import { type ScaleName, SCALE_OPTION } from './sweep/experiment.js';

/** Alg. 2's constraints on the output half V (regime's `zhang2021Deep`; default none, see README). */
export const V_CONSTRAINTS = ['none', 'exact', 'paperHeuristic'] as const;
/** One of {@link V_CONSTRAINTS}. */
export type VConstraintName = (typeof V_CONSTRAINTS)[number];

/** The settings fields every classification experiment has (the options of this module). */
export interface ClassificationSettings {
  scale: ScaleName;
  /** Image set (see `IMAGE_SOURCES`). */
  data: ImageSource;
  /** Directory of the full `mnist` / `cifar10` files (datasets' fetchDataset fills one). */
  dataDir?: string;
  /** Training and test samples (the first of each split). */
  trainN: number;
  testN: number;
  /** Mini-batch size. */
  batchSize: number;
  /** Evaluate train and test every this many epochs (and at the end). */
  evalEveryEpochs: number;
  /**
   * Alg. 2's constraint on the output half V: `none` (default; App. H.1's code projects v only for
   * a single output), or each row onto B_{ζ,κ} by the `exact` projection or the `paperHeuristic`.
   */
  vConstraint: VConstraintName;
  /** ζ and κ of B_{ζ,κ} (App. H.2: 0.001, 1). */
  zeta: number;
  kappa: number;
  /** Seed of the inits and the mini-batch order. */
  seed: number;
}

/** What is wrong with a sample count for a source's split, or undefined. */
function sizeError(v: number, data: ImageSource, split: 'train' | 'test'): string | undefined {
  const most = SOURCE_SIZES[data]?.[split];
  return most !== undefined && v > most ? `${data} has ${most} ${split} samples, got ${v}` : undefined;
}

/** `radii`: the radii ε of Alg. 2's ball on the constrained layer (positive, distinct). */
export const RADII_OPTION: OptionDef = {
  key: 'radii',
  kind: 'numberList',
  min: 0,
  minExclusive: true,
  unique: true,
  help: "radii ε of Alg. 2's ball",
};

/** `scale`, `data`, `dataDir`, `trainN`, `testN` (counts checked against the source's splits). */
export function dataOptions(trainHelp: string, testHelp: string): OptionDef[] {
  return [
    SCALE_OPTION,
    {
      key: 'data',
      kind: 'string',
      values: IMAGE_SOURCES,
      help: 'image set (mnist and cifar10 need --data-dir)',
    },
    {
      key: 'dataDir',
      kind: 'string',
      help: "directory of the full set's files (datasets' fetchDataset fills one)",
    },
    {
      key: 'trainN',
      kind: 'int',
      min: 1,
      help: trainHelp,
      check: (v, s) => sizeError(v as number, s.data as ImageSource, 'train'),
    },
    {
      key: 'testN',
      kind: 'int',
      min: 1,
      help: testHelp,
      check: (v, s) => sizeError(v as number, s.data as ImageSource, 'test'),
    },
  ];
}

/** `batchSize` (at most trainN), `evalEveryEpochs`, `seed`. */
export const LOOP_OPTIONS: OptionDef[] = [
  {
    key: 'batchSize',
    kind: 'int',
    min: 1,
    help: 'mini-batch size',
    check: (v, s) =>
      typeof v === 'number' && v > (s.trainN as number)
        ? `must be at most trainN = ${s.trainN}, got ${v}`
        : undefined,
  },
  { key: 'evalEveryEpochs', kind: 'int', min: 1, help: 'evaluate train and test every this many epochs' },
  { key: 'seed', kind: 'int', min: 0, max: SEED_MAX, help: 'seed of the inits and the mini-batch order' },
];

/** `vConstraint`, `zeta`, `kappa`: Alg. 2's constraint on the output half V. */
export const V_OPTIONS: OptionDef[] = [
  {
    key: 'vConstraint',
    kind: 'string',
    values: V_CONSTRAINTS,
    help: "Alg. 2's constraint on the output half V",
  },
  { key: 'zeta', kind: 'number', min: 0, minExclusive: true, help: 'ζ of B_{ζ,κ} on the output half' },
  { key: 'kappa', kind: 'number', min: 1, help: 'κ of B_{ζ,κ} on the output half' },
];
