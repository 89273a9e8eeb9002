import { type RegimeSpec, constrainedRegular, zhang2021 } from '@narrownet/regime';
import { type OptionDef, SEED_MAX, checkOptions } from '../../options.js';
import type { RunKey } from '../../runs.js';
import { type ScaleName, SCALE_OPTION } from '../../sweep/experiment.js';

/** The two regimes of Zhang et al. Fig. 4. */
export const SYNTHETIC_REGIMES = ['zhang2021', 'constrainedRegular'] as const;

/** Everything that defines a synthetic sweep (stored as `config.json` in the run directory). */
export interface SyntheticSettings {
  scale: ScaleName;
  /** Hidden widths m. */
  widths: number[];
  /** Hidden-weight ball radii ε (1000 = unconstrained). */
  radii: number[];
  /** Step-size grid of the hidden weights W. */
  lrs1: number[];
  /** Step-size grid of the outer weights v. */
  lrs2: number[];
  regimes: (typeof SYNTHETIC_REGIMES)[number][];
  /** Optimizer steps per run. */
  steps: number;
  /** Sample size and input dimension of the synthetic set (App. H.2: 1000, 200). */
  n: number;
  d: number;
  /** Seed of the data and of every init. */
  seed: number;
  momentum: number;
  vConstraint: 'none' | 'exact' | 'paperHeuristic';
  /** Metrics (and the stopping test) every this many steps. */
  evalEvery: number;
  /** Stop a run once its loss is ≤ this. */
  lossTolerance: number;
  /** λ_min(J) at the end of: every run, the runs that are best of their cell when they finish, none. */
  lambdaMin: 'all' | 'best' | 'none';
  /** Checkpoint an unfinished run every this many steps (0 = never); resumed runs continue from it. */
  checkpointEvery: number;
  /**
   * Update rule of both groups: `sgd` (default; App. H.2's heavy ball with `momentum`) or `adam`
   * (β = 0.9, 0.999, ε = 1e-8; lrs1/lrs2 are its step sizes) — an extension, not the paper's.
   */
  update?: 'sgd' | 'adam';
  /**
   * Step-size schedule of both groups: `constant` (default; App. H.2) or `cosine` (annealing to 0
   * over `steps`, PyTorch's CosineAnnealingLR) — an extension for the synthetic task.
   */
  schedule?: 'constant' | 'cosine';
}

/** Adam as the `--update adam` extension uses it (PyTorch's defaults). */
export const ADAM_UPDATE = { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const;

/**
 * App. H.2's step-size grid {1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1, 5e-1} is on App. H.1's
 * `nn.MSELoss` (the mean over n); narrownet's loss is eq. (2)'s ½Σ, whose gradient is n/2 times
 * larger, so the same steps are lr · 2/n on ½Σ: with n = 1000 this list.
 */
export const PAPER_LRS_HALF_SSE = [2e-7, 2e-6, 1e-5, 2e-5, 1e-4, 2e-4, 1e-3];

/**
 * The three scales. `smoke`: 16 runs of 40 steps on n = 24, d = 5 (seconds; for tests). `paper`: App. H.2 (widths with the second "100" read as 1000, ten radii, the
 * 7 × 7 step-size grid converted from the mean to ½Σ: {@link PAPER_LRS_HALF_SSE}, 200,000 iterations). `default`: the reduction that finishes in about ten
 * minutes on a 2-core CPU (see the README for what is reduced and the measured time).
 */
export const SCALES: Record<ScaleName, SyntheticSettings> = {
  paper: {
    scale: 'paper',
    widths: [20, 40, 80, 100, 200, 400, 800, 1000, 1200],
    radii: [0.1, 0.2, 0.4, 0.8, 1, 2, 4, 8, 10, 1000],
    lrs1: PAPER_LRS_HALF_SSE,
    lrs2: PAPER_LRS_HALF_SSE,
    regimes: [...SYNTHETIC_REGIMES],
    steps: 200_000,
    n: 1000,
    d: 200,
    seed: 0,
    momentum: 0.9,
    vConstraint: 'none',
    evalEvery: 1000,
    lossTolerance: 0,
    lambdaMin: 'best',
    checkpointEvery: 20_000,
  },
  smoke: {
    scale: 'smoke',
    widths: [4, 6],
    radii: [0.3, 1000],
    lrs1: [0.01],
    lrs2: [0.01, 0.05],
    regimes: [...SYNTHETIC_REGIMES],
    steps: 40,
    n: 24,
    d: 5,
    seed: 2,
    momentum: 0.9,
    vConstraint: 'none',
    evalEvery: 10,
    lossTolerance: 0,
    lambdaMin: 'best',
    checkpointEvery: 0,
  },
  default: {
    scale: 'default',
    // the paper's three smallest widths, four of its ten radii (incl. 1000 = unconstrained), the
    // step sizes {1e-4, 1e-3} on ½Σ, which are the paper's MSE-mean 0.05 and 0.5 (×2/n, n = 1000),
    // 8000 of its 200,000 iterations: about 8-9 minutes on this 2-core CPU (README)
    widths: [20, 40, 80],
    radii: [0.1, 1, 10, 1000],
    lrs1: [1e-4, 1e-3],
    lrs2: [1e-4, 1e-3],
    regimes: [...SYNTHETIC_REGIMES],
    steps: 8000,
    n: 1000,
    d: 200,
    seed: 0,
    momentum: 0.9,
    vConstraint: 'none',
    evalEvery: 500,
    lossTolerance: 0,
    lambdaMin: 'best',
    checkpointEvery: 0,
  },
};

/**
 * Checks settings against {@link SYNTHETIC_OPTIONS} (every field's range and the cross-field rules,
 * e.g. even widths for zhang2021); the message names the field.
 */
export function validateSettings(s: SyntheticSettings): SyntheticSettings {
  checkOptions(SYNTHETIC_OPTIONS, s as unknown as Record<string, unknown>, {}, 'settings field');
  return s;
}

/** Every run of the sweep, in the order they are run (widths ascending, then radii, regimes, lrs). */
export function sweepRuns(s: SyntheticSettings): RunKey[] {
  const out: RunKey[] = [];
  for (const width of s.widths)
    for (const radius of s.radii)
      for (const regime of s.regimes)
        for (const lr1 of s.lrs1) for (const lr2 of s.lrs2) out.push({ regime, width, radius, lr1, lr2 });
  return out;
}

/** The regime of one run. */
export function regimeOf(s: SyntheticSettings, k: RunKey): RegimeSpec {
  const common = {
    inputDim: s.d,
    width: k.width,
    lr1: k.lr1,
    lr2: k.lr2,
    momentum: s.momentum,
    steps: s.steps,
    lossTolerance: s.lossTolerance,
    radius: k.radius,
  };
  const r =
    k.regime === 'zhang2021'
      ? zhang2021({ ...common, vConstraint: s.vConstraint })
      : constrainedRegular(common);
  const adam = (s.update ?? 'sgd') === 'adam';
  const cosine = (s.schedule ?? 'constant') === 'cosine';
  if (!adam && !cosine) return r;
  return {
    ...r,
    description: `${r.description}${adam ? '; Adam instead of SGD with momentum' : ''}${cosine ? '; cosine step-size schedule' : ''}`,
    optimizer: {
      ...r.optimizer,
      groups: r.optimizer.groups.map((g) => ({
        ...g,
        ...(adam ? { update: ADAM_UPDATE } : {}),
        ...(cosine ? { schedule: { kind: 'cosine', tMax: s.steps, etaMin: 0 } as const } : {}),
      })),
    },
  };
}

/** Flags / config fields of the synthetic settings (`scale` picks the preset the others override). */
export const SYNTHETIC_OPTIONS: OptionDef[] = [
  SCALE_OPTION,
  {
    key: 'widths',
    kind: 'intList',
    min: 2,
    unique: true,
    help: 'hidden widths m, comma-separated',
    check: (w, s) =>
      (s.regimes as string[]).includes('zhang2021') && (w as number[]).some((m) => m % 2 !== 0)
        ? `the paired net of zhang2021 needs even widths, got ${(w as number[]).filter((m) => m % 2 !== 0).join(', ')}`
        : undefined,
  },
  {
    key: 'radii',
    kind: 'numberList',
    min: 0,
    minExclusive: true,
    unique: true,
    help: 'ball radii ε (1000 = unconstrained)',
  },
  { key: 'lrs1', kind: 'numberList', min: 0, minExclusive: true, unique: true, help: 'step-size grid of W' },
  { key: 'lrs2', kind: 'numberList', min: 0, minExclusive: true, unique: true, help: 'step-size grid of v' },
  { key: 'regimes', kind: 'enumList', values: SYNTHETIC_REGIMES, unique: true, help: 'regimes to run' },
  { key: 'steps', kind: 'int', min: 1, help: 'optimizer steps per run' },
  { key: 'n', kind: 'int', min: 1, help: 'sample size of the synthetic set' },
  { key: 'd', kind: 'int', min: 1, help: 'input dimension of the synthetic set' },
  { key: 'seed', kind: 'int', min: 0, max: SEED_MAX, help: 'seed of the data and the inits' },
  {
    key: 'momentum',
    kind: 'number',
    min: 0,
    max: 1,
    maxExclusive: true,
    help: 'heavy-ball momentum (with --update sgd)',
  },
  {
    key: 'update',
    kind: 'string',
    values: ['sgd', 'adam'],
    help: 'update rule of W and v: sgd = heavy ball (the paper), adam = Adam with lrs1/lrs2 (an extension)',
    defaultText: 'sgd',
  },
  {
    key: 'schedule',
    kind: 'string',
    values: ['constant', 'cosine'],
    help: 'step-size schedule of W and v: constant (the paper) or cosine annealing to 0 over --steps (an extension)',
    defaultText: 'constant',
  },
  {
    key: 'vConstraint',
    kind: 'string',
    values: ['none', 'exact', 'paperHeuristic'],
    help: 'B_{ζ,κ} constraint on v (zhang2021)',
  },
  { key: 'evalEvery', kind: 'int', min: 1, help: 'metrics every this many steps' },
  { key: 'lossTolerance', kind: 'number', min: 0, help: 'stop a run at this loss' },
  {
    key: 'lambdaMin',
    kind: 'string',
    values: ['best', 'all', 'none'],
    help: 'which runs get λ_min(J) at their end',
  },
  {
    key: 'checkpointEvery',
    kind: 'int',
    min: 0,
    help: 'checkpoint unfinished runs (grid mode: whole batches) every this many steps; --resume continues from there',
  },
];
