/**
 * What the classification experiments (mnist-widths, random-labels) share besides their data
 * (`image-data.ts`): the optimizers of App. H.2 / H.6 as optimizer groups with their
 * epoch-counted schedules, and one mini-batch training run with held-out evaluation at chosen epochs.
 */
import type { Dataset } from '@narrownet/datasets';
import type { LossName } from '@narrownet/models';
import { type ScheduleSpec, epochSchedule, stepsPerEpoch } from '@narrownet/optim';
import {
  type EpochEvaluation,
  type RegimeSpec,
  type RowSource,
  type SplitMetrics,
  type TrainerFactory,
  train,
} from '@narrownet/regime';
import type { RunPlan, SweepRecord, UnitContext } from './sweep/experiment.js';

/** App. H.2's two optimizers for MNIST (and H.6's SGD), as data. */
export type OptimizerChoice =
  | { kind: 'adam'; lr: number; weightDecay: number }
  | { kind: 'sgd'; lr: number; momentum: number; weightDecay: number };

/** Schedules counted in epochs: cosine with T_max = the epochs of the run, or ×0.1 at milestone epochs. */
export type EpochSchedule = { kind: 'cosine' } | { kind: 'multistep'; milestones: number[]; gamma: number };

/** The step-counted schedule of an epoch schedule for a run of `epochs` epochs of `perEpoch` steps. */
export function scheduleOf(s: EpochSchedule, epochs: number, perEpoch: number): ScheduleSpec {
  return s.kind === 'cosine'
    ? epochSchedule({ kind: 'cosine', tMax: epochs }, perEpoch)
    : epochSchedule({ kind: 'multistep', milestones: s.milestones, gamma: s.gamma }, perEpoch);
}

/** Loss, accuracy and per-class counts of a split at one evaluation (a plain JSON record). */
export interface SplitPoint {
  loss: number | null;
  accuracy: number | null;
  perClassCorrect?: number[];
}

/** One evaluation of a run: epoch, and train and test metrics. */
export interface EpochPoint {
  epoch: number;
  train: SplitPoint;
  test: SplitPoint;
}

/** The fields of a classification run's record that come from training it. */
export interface ClassificationFields {
  status: 'converged' | 'budget' | 'diverged';
  steps: number;
  divergedAt?: number;
  /** Accuracy and loss (the regime's loss) at the final iterate; null when diverged. */
  trainAccuracy: number | null;
  testAccuracy: number | null;
  trainLoss: number | null;
  testLoss: number | null;
  /** Correct test samples per class at the end, and samples per class. */
  testPerClassCorrect?: number[];
  testPerClassTotal?: number[];
  /** Evaluations every `evalEveryEpochs` epochs and at the end. */
  curve: EpochPoint[];
  wallMs: number;
  engine: { engine: string; backend: string; device: string };
  finishedAt: string;
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);
function point(m: SplitMetrics): SplitPoint {
  return {
    loss: finite(m.loss),
    accuracy: finite(m.accuracy),
    ...(m.perClassCorrect ? { perClassCorrect: m.perClassCorrect } : {}),
  };
}
function epochPoint(e: EpochEvaluation): EpochPoint {
  return { epoch: e.epoch, train: point(e.train), test: point(e.test!) };
}

/** A split as `train` reads it: X [n, d] and Y [n, k], or X empty and the input rows from `rows`. */
export type SplitRows = Pick<Dataset, 'X' | 'Y' | 'n'> & { rows?: RowSource };

const trainData = (d: SplitRows) => ({ X: d.X, Y: d.Y, n: d.n, ...(d.rows ? { rows: d.rows } : {}) });

/** How one classification run trains (see {@link trainClassificationRun}). */
export interface ClassificationSetup {
  regime: RegimeSpec;
  /**
   * The training and the held-out split (e.g. `imageSplits`' of image-data.ts): float rows X, or X
   * empty and a `RowSource` `rows` (streamed per batch and per evaluation chunk).
   */
  splits: { train: SplitRows; test: SplitRows };
  epochs: number;
  batchSize: number;
  evalEveryEpochs: number;
  seed: number;
  /**
   * Rows per evaluation chunk (`EvaluationOptions.chunkRows`; default `train`'s 4096). Streamed
   * splits want a batch's worth: each chunk is made as float32 at once.
   */
  evalChunkRows?: number;
  /** The trainer of the run; default the engine's (`ctx.engine.createTrainer`). */
  createTrainer?: TrainerFactory;
}

/**
 * Trains one run of a classification sweep: the regime on the train split for `epochs` epochs of
 * mini-batches (one seeded permutation per epoch, a last partial batch dropped), evaluating train
 * and test loss and accuracy every `evalEveryEpochs` epochs and at the end (no stationarity pass and
 * no loss record between evaluations), reporting progress in units of the plan's cost. Resolves to
 * the record fields, or undefined when aborted. A diverged run has no trained model to score: its
 * accuracies and losses are null.
 */
export async function trainClassificationRun(
  plan: RunPlan<unknown>,
  ctx: Pick<UnitContext<unknown, SweepRecord>, 'engine' | 'signal' | 'progress'>,
  o: ClassificationSetup,
): Promise<ClassificationFields | undefined> {
  const { train: tr, test } = o.splits;
  const budget = o.epochs * stepsPerEpoch(tr.n, o.batchSize);
  let done = 0;
  const res = await train(o.regime, trainData(tr), {
    createTrainer: o.createTrainer ?? ctx.engine.createTrainer,
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
    // metrics only at the start and the end: the evaluations carry the curve
    evalEvery: Math.max(1, budget),
    stationarity: false,
    evaluation: {
      test: trainData(test),
      everyEpochs: o.evalEveryEpochs,
      ...(o.evalChunkRows !== undefined ? { chunkRows: o.evalChunkRows } : {}),
    },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onStep: (step) => {
      const f = step / Math.max(1, budget);
      ctx.progress(plan.cost * (f - done), plan.id);
      done = f;
    },
  });
  if (res.status === 'aborted') return undefined;
  ctx.progress(plan.cost * (1 - done), plan.id);
  const curve = res.evaluations.map(epochPoint);
  const last = res.status === 'diverged' ? undefined : res.evaluations.at(-1);
  const fin = last ? epochPoint(last) : undefined;
  return {
    status: res.status,
    steps: res.steps,
    ...(res.divergedAt !== undefined ? { divergedAt: res.divergedAt } : {}),
    trainAccuracy: fin?.train.accuracy ?? null,
    testAccuracy: fin?.test.accuracy ?? null,
    trainLoss: fin?.train.loss ?? null,
    testLoss: fin?.test.loss ?? null,
    ...(fin?.test.perClassCorrect ? { testPerClassCorrect: fin.test.perClassCorrect } : {}),
    ...(last?.test?.perClassTotal ? { testPerClassTotal: last.test.perClassTotal } : {}),
    curve,
    wallMs: Math.round(res.wallMs),
    engine: { engine: res.engine.engine, backend: res.engine.backend, device: res.engine.device },
    finishedAt: new Date().toISOString(),
  };
}

/** The fields of the record of a run whose training threw on every attempt. */
export function failedClassificationFields(error: string, attempts: number) {
  return {
    status: 'failed' as const,
    error,
    attempts,
    steps: 0,
    trainAccuracy: null,
    testAccuracy: null,
    trainLoss: null,
    testLoss: null,
    curve: [],
    wallMs: 0,
    engine: { engine: 'none', backend: 'none', device: 'none' },
    finishedAt: new Date().toISOString(),
  };
}

/** Softmax cross-entropy, App. H.2's loss for every classification set. */
export const CLASSIFICATION_LOSS: LossName = 'softmaxCrossEntropy';

/** The binomial standard error √(p(1 − p)/n) of an accuracy p measured on n samples. */
export function accuracySe(p: number, n: number): number {
  return Math.sqrt(Math.max(p * (1 - p), 0) / Math.max(1, n));
}
