import { DEFAULT_DATA_DIR, type MnistSource, mnistOptions } from '../../image-data.js';
import { type OptionDef, SEED_MAX, UsageError, checkOptions } from '../../options.js';
import { type ScaleName, SCALE_OPTION } from '../../sweep/experiment.js';

/** Everything that defines a Song et al. Fig. 1 run directory. */
export interface SongSettings {
  scale: ScaleName;
  source: MnistSource;
  dataDir: string;
  /** Training and test digits (relabelled by the teacher). */
  n: number;
  testN: number;
  /** Hidden width d1 of the students (paper: 1000). */
  width: number;
  /** The ω₂ grid (ω₁ = ω₁ω₂ / ω₂ with ω₁ω₂ fixed at He's value 2/√(d0·d1)). */
  omega2s: number[];
  /** Seeds per ω₂ (0, 1, …). */
  seeds: number;
  /** Student SGD: epochs (one epoch = ⌊n / batch⌋ steps), batch size, step size. */
  epochs: number;
  batchSize: number;
  lr: number;
  /** Teacher: hidden width, epoch budget to reach zero training error, step size (batch as the students). */
  teacherWidth: number;
  teacherEpochs: number;
  teacherLr: number;
  /** Lazy-training distance (App. F): samples and full-batch GD steps of the comparison (0 = off). */
  lazySamples: number;
  lazySteps: number;
  /** Samples on which μ_Φ, ν_Φ, β_Φ are computed at init (μ_Φ applies when ≤ width). */
  quantitySamples: number;
  /** The lazy distance and μ_Φ, ν_Φ, β_Φ are computed for seeds 0 … diagnosticSeeds − 1 of every ω₂. */
  diagnosticSeeds: number;
  /** Seed of the teacher (init and batch order). */
  seed: number;
}

/** The paper's grid: 10 values log-spaced over [0.002, 0.1] (App. G), 4 significant digits. */
export const PAPER_OMEGA2S: number[] = Array.from({ length: 10 }, (_, i) =>
  Number((0.002 * 50 ** (i / 9)).toPrecision(4)),
);

const COMMON = {
  source: 'offline',
  dataDir: DEFAULT_DATA_DIR,
  width: 1000,
  omega2s: PAPER_OMEGA2S,
  batchSize: 128,
  lr: 0.01,
  teacherWidth: 1000,
  teacherLr: 0.01,
  seed: 0,
} as const;

/**
 * `paper`: App. G (full MNIST fetched, 60,000 / 10,000, width 1000, 10 ω₂ × 5 seeds, SGD batch
 * 128, step 0.01, 300 epochs). `default` (≈ 2.5 min on the quiet 2-core VM, README): 512 offline training
 * digits, 2,000 test digits, 40 epochs; same net, grid and seeds. `smoke`: seconds.
 */
export const SONG_SCALES: Record<ScaleName, SongSettings> = {
  paper: {
    scale: 'paper',
    ...COMMON,
    omega2s: [...PAPER_OMEGA2S],
    source: 'fetched',
    n: 60000,
    testN: 10000,
    seeds: 5,
    epochs: 300,
    teacherEpochs: 300,
    lazySamples: 128,
    lazySteps: 20,
    quantitySamples: 512,
    diagnosticSeeds: 5,
  },
  default: {
    scale: 'default',
    ...COMMON,
    omega2s: [...PAPER_OMEGA2S],
    n: 512,
    testN: 2000,
    seeds: 5,
    epochs: 40,
    teacherEpochs: 200,
    lazySamples: 16,
    lazySteps: 5,
    quantitySamples: 64,
    diagnosticSeeds: 1,
  },
  smoke: {
    scale: 'smoke',
    ...COMMON,
    omega2s: [0.002, 0.01, 0.05, 0.1],
    width: 64,
    teacherWidth: 64,
    teacherLr: 0.1,
    n: 64,
    testN: 64,
    seeds: 2,
    batchSize: 16,
    epochs: 3,
    teacherEpochs: 200,
    lazySamples: 8,
    lazySteps: 3,
    quantitySamples: 16,
    diagnosticSeeds: 2,
  },
};

/** Flags / config fields of the settings. */
export const SONG_OPTIONS: OptionDef[] = [
  SCALE_OPTION,
  ...mnistOptions('training digits'),
  { key: 'width', kind: 'int', min: 1, help: 'hidden width d1 of the students' },
  {
    key: 'omega2s',
    kind: 'numberList',
    min: 0,
    minExclusive: true,
    unique: true,
    help: 'the ω₂ grid (std of the output weights V)',
  },
  { key: 'seeds', kind: 'int', min: 1, max: 1000, help: 'seeds per ω₂' },
  { key: 'epochs', kind: 'int', min: 1, help: 'student SGD epochs' },
  {
    key: 'batchSize',
    kind: 'int',
    min: 1,
    help: 'SGD batch size (students and teacher)',
    check: (v, s) => ((v as number) > (s.n as number) ? `must be ≤ n (${s.n}), got ${v}` : undefined),
  },
  { key: 'lr', kind: 'number', min: 0, minExclusive: true, help: 'student SGD step size' },
  { key: 'teacherWidth', kind: 'int', min: 1, help: 'hidden width of the teacher' },
  {
    key: 'teacherEpochs',
    kind: 'int',
    min: 1,
    help: 'epoch budget of the teacher to reach zero training error',
  },
  { key: 'teacherLr', kind: 'number', min: 0, minExclusive: true, help: 'teacher SGD step size' },
  { key: 'lazySamples', kind: 'int', min: 1, help: 'samples of the lazy-training comparison' },
  {
    key: 'lazySteps',
    kind: 'int',
    min: 0,
    help: 'full-batch GD steps of the lazy-training comparison (0 = off)',
  },
  { key: 'quantitySamples', kind: 'int', min: 1, help: 'samples on which μ_Φ, ν_Φ, β_Φ are computed' },
  {
    key: 'diagnosticSeeds',
    kind: 'int',
    min: 0,
    help: 'seeds per ω₂ (the first ones) that also get the lazy distance and μ_Φ, ν_Φ, β_Φ',
  },
  { key: 'seed', kind: 'int', min: 0, max: SEED_MAX, help: 'seed of the teacher' },
];

/** Checks settings against {@link SONG_OPTIONS}; the message names the field. */
export function validateSongSettings(s: SongSettings): SongSettings {
  checkOptions(SONG_OPTIONS, s as unknown as Record<string, unknown>, {}, 'settings field');
  if (s.omega2s.length === 0) throw new UsageError('settings field "omega2s": needs at least one value');
  return s;
}

/** He's ω₁ = √(2/d0), ω₂ = √(2/d1) and their product 2/√(d0·d1) for the student [d0, d1, ·]. */
export function heInit(
  d0: number,
  d1: number,
): { omega1: number; omega2: number; product: number; ratio: number } {
  const omega1 = Math.sqrt(2 / d0);
  const omega2 = Math.sqrt(2 / d1);
  return { omega1, omega2, product: omega1 * omega2, ratio: omega2 / omega1 };
}
