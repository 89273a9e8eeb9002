import { relabelByTeacher } from '@narrownet/datasets';
import { initParams } from '@narrownet/init';
import { lazyTrainingDistance, songQuantities } from '@narrownet/landscape';
import { type LossName, type MlpSpec, type ParamTree, createRng } from '@narrownet/models';
import { type Trainer, type TrainerConfig, type TrainerFactory, evaluateSplit } from '@narrownet/regime';
import { type LabelledDataset, type RawImageSplits, mnistSplits } from '../../image-data.js';
import type { RunPlan, SweepRecord, UnitContext } from '../../sweep/experiment.js';
import { type SongSettings, heInit } from './settings.js';

/** One run: an ω₂ of the grid and a seed. */
export interface SongKey {
  omega2: number;
  seed: number;
}

/** The stable id of a run, e.g. `w2=0.002/s0`. */
export function songId(k: SongKey): string {
  return `w2=${k.omega2}/s${k.seed}`;
}

/** The teacher's outcome (the same in every record of a sweep). */
export interface TeacherInfo {
  width: number;
  /** Training error (%) when it stopped, epochs it took. */
  trainError: number;
  epochs: number;
  /** Test digits whose teacher label differs from the true digit (%). */
  testDisagreement: number;
}

/** The stored record of one student. */
export interface SongRecord extends SweepRecord, SongKey {
  omega1: number;
  /** ω₂/ω₁ and ω₁ω₂ (fixed at He's 2/√(d0·d1)). */
  ratio: number;
  product: number;
  /** Errors (%) against the teacher's labels; null when not finished. */
  trainError: number | null;
  testError: number | null;
  finalLoss: number | null;
  /** `[epoch, training loss]` after every epoch (epoch 0 = init). */
  curve: [number, number][];
  /** ‖W_T − W_0‖_F/‖W_0‖_F and ‖V_T − V_0‖_F/‖V_0‖_F of the SGD run. */
  relMoveW: number | null;
  relMoveV: number | null;
  /**
   * App. F on the first `samples` digits: ‖F − F̃‖ after `steps` GD steps, relative to ‖F − F_0‖;
   * the distances are null when that GD left the finite range (`diverged`).
   */
  lazy: {
    samples: number;
    steps: number;
    lr: number;
    diverged: boolean;
    finalDistance: number | null;
    maxDistance: number | null;
    outputMovement: number | null;
    relative: number | null;
  } | null;
  /** Lemma 3 at init on the first `samples` digits. */
  quantities: {
    samples: number;
    muPhi: number;
    nuPhi: number;
    betaPhi: number | null;
    rhoPhi: number | null;
    notes: string[];
  } | null;
  teacher: TeacherInfo | null;
  n: number;
  testN: number;
  epochs: number;
  data: string;
}

/** The student [784, d1, 10] (GeLU, no biases: Song et al.'s Φ(Θ) = Vφ(WX)). */
export function studentSpec(s: SongSettings): MlpSpec {
  return { kind: 'mlp', layers: [784, s.width, 10], activation: 'gelu' };
}

/** ω₁ for an ω₂ at He's product, and the init spec of the init package's Song family. */
export function omegasOf(s: SongSettings, omega2: number) {
  const he = heInit(784, s.width);
  const omega1 = he.product / omega2;
  // the song init draws ω1 = √(c/(r√(d0 d1))), ω2 = r·ω1: c = ω1ω2·√(d0 d1) = 2 (He), r = ω2/ω1
  const c = he.product * Math.sqrt(784 * s.width);
  return {
    omega1,
    ratio: omega2 / omega1,
    product: he.product,
    init: { kind: 'song', ratio: omega2 / omega1, c } as const,
  };
}

/** Every run: ω₂ values, then seeds. */
export function songRuns(s: SongSettings): RunPlan<SongKey>[] {
  const steps = s.epochs * Math.floor(s.n / s.batchSize);
  return s.omega2s.flatMap((omega2) =>
    Array.from({ length: s.seeds }, (_, seed) => ({
      id: songId({ omega2, seed }),
      key: { omega2, seed },
      cost: steps * s.batchSize * s.width,
    })),
  );
}

/** The fields of a record that only depend on the run and the settings. */
export function baseSongRecord(s: SongSettings, k: SongKey) {
  const o = omegasOf(s, k.omega2);
  return {
    id: songId(k),
    ...k,
    omega1: o.omega1,
    ratio: o.ratio,
    product: o.product,
    n: s.n,
    testN: s.testN,
    epochs: s.epochs,
  };
}

/**
 * Runs SGD epochs on a trainer, the loss after each: stops early when `done(epoch)` says so; a
 * non-finite loss ends it as diverged.
 */
async function epochs(
  trainer: Trainer,
  count: number,
  perEpoch: number,
  each: (epoch: number, loss: number) => Promise<boolean>,
  signal?: AbortSignal,
): Promise<'done' | 'budget' | 'diverged' | 'aborted'> {
  for (let e = 1; e <= count; e++) {
    if (signal?.aborted) return 'aborted';
    const loss = await trainer.run(perEpoch);
    if (!Number.isFinite(loss)) return 'diverged';
    if (await each(e, loss)) return 'done';
  }
  return 'budget';
}

interface Relabelled {
  splits: RawImageSplits;
  train: LabelledDataset;
  test: LabelledDataset;
  teacher: TeacherInfo;
}

/** Error (%) of a trainer's current iterate on a split: its arg-max predictions against the one-hot targets'. */
async function errorOn(trainer: Trainer, loss: LossName, ds: LabelledDataset, n: number): Promise<number> {
  return 100 - 100 * (await evaluateSplit(trainer, loss, { X: ds.X, Y: ds.Y, n }, 10)).accuracy!;
}

let teacherCache: { key: string; result: Relabelled | Error } | undefined;

/**
 * The teacher of App. G: a two-layer net [784, teacherWidth, 10] (GeLU, no biases), He init,
 * softmax cross-entropy, SGD with the students' batch size, trained on the training digits until
 * its training error is 0 (checked after every epoch). Its arg-max predictions relabel the
 * training and the test digits. A teacher that does not reach zero training error within
 * `teacherEpochs` is an error (memoized: every run of the sweep fails with it).
 */
async function teacherOf(s: SongSettings, createTrainer: TrainerFactory): Promise<Relabelled> {
  const key = JSON.stringify([
    s.source,
    s.n,
    s.testN,
    s.dataDir,
    s.teacherWidth,
    s.teacherEpochs,
    s.teacherLr,
    s.batchSize,
    s.seed,
  ]);
  if (teacherCache?.key === key) {
    if (teacherCache.result instanceof Error) throw teacherCache.result;
    return teacherCache.result;
  }
  const splits = await mnistSplits(s, true);
  const spec: MlpSpec = { kind: 'mlp', layers: [784, s.teacherWidth, 10], activation: 'gelu' };
  const params = initParams(spec, { kind: 'he' }, createRng(s.seed));
  const trainer = await createTrainer({
    spec,
    loss: 'softmaxCrossEntropy',
    optimizer: { groups: [{ params: ['W1', 'W2'], lr: s.teacherLr, update: { kind: 'sgd' } }] },
    params,
    data: { X: splits.train.X, Y: splits.train.Y, n: s.n },
    batchSize: s.batchSize,
    seed: s.seed,
  });
  let trainError = 100;
  let used = 0;
  let final: ParamTree = params;
  let outcome: string;
  try {
    outcome = await epochs(trainer, s.teacherEpochs, Math.floor(s.n / s.batchSize), async (e) => {
      used = e;
      trainError = await errorOn(trainer, 'softmaxCrossEntropy', splits.train, s.n);
      return trainError === 0;
    });
    if (outcome === 'done') final = (await trainer.state()).params;
  } finally {
    await trainer.dispose();
  }
  if (outcome !== 'done') {
    const err = new Error(
      `the teacher did not reach zero training error within teacherEpochs = ${s.teacherEpochs} epochs (${outcome === 'diverged' ? 'its loss diverged' : `training error ${trainError.toFixed(2)}% after ${used} epochs`}); its labels are not used — raise --teacher-epochs or change --teacher-lr`,
    );
    teacherCache = { key, result: err };
    throw err;
  }
  const relabel = (ds: LabelledDataset) =>
    relabelByTeacher(ds, spec, final, { mode: 'argmax' }) as LabelledDataset;
  const train = relabel(splits.train);
  const test = relabel(splits.test);
  let differ = 0;
  for (let i = 0; i < s.testN; i++) if (test.labels[i] !== splits.test.labels[i]) differ++;
  const result: Relabelled = {
    splits,
    train,
    test,
    teacher: { width: s.teacherWidth, trainError, epochs: used, testDisagreement: (100 * differ) / s.testN },
  };
  teacherCache = { key, result };
  return result;
}

const frobRel = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    r += b[i]! ** 2;
  }
  return Math.sqrt(d / r);
};

const firstRows = (X: Float32Array, d: number, m: number) => X.subarray(0, m * d);

/**
 * Trains one student: init W ~ N(0, ω₁²), V ~ N(0, ω₂²) at He's product, SGD on the mean squared
 * error against the teacher's one-hot labels for `epochs` epochs; then its training and test error,
 * how far W and V moved, the lazy-training distance (App. F) and μ_Φ, ν_Φ, β_Φ at init (Lemma 3)
 * on a prefix of the training digits.
 */
export async function trainSong(
  plan: RunPlan<SongKey>,
  ctx: UnitContext<SongSettings, SongRecord>,
): Promise<SongRecord[] | undefined> {
  const s = ctx.settings;
  const k = plan.key;
  const data = await teacherOf(s, ctx.engine.createTrainer);
  const spec = studentSpec(s);
  const o = omegasOf(s, k.omega2);
  const params0 = initParams(spec, o.init, createRng(k.seed));
  const t0 = performance.now();
  const config: TrainerConfig = {
    spec,
    loss: 'mse',
    optimizer: { groups: [{ params: ['W1', 'W2'], lr: s.lr, update: { kind: 'sgd' } }] },
    params: params0,
    data: { X: data.train.X, Y: data.train.Y, n: s.n },
    batchSize: s.batchSize,
    seed: k.seed,
  };
  const trainer = await ctx.engine.createTrainer(config);
  const info = trainer.info;
  const perEpoch = Math.floor(s.n / s.batchSize);
  const curve: [number, number][] = [[0, (await trainer.evaluate()).loss]];
  let outcome: string;
  let final: ParamTree = params0;
  // errors against the teacher's labels, of the trained student (null when diverged)
  let trainError: number | null = null;
  let testError: number | null = null;
  try {
    outcome = await epochs(
      trainer,
      s.epochs,
      perEpoch,
      async (e, loss) => {
        curve.push([e, loss]);
        ctx.progress(plan.cost / s.epochs, plan.id);
        return false;
      },
      ctx.signal,
    );
    if (outcome === 'aborted') return undefined;
    final = (await trainer.state()).params;
    if (outcome !== 'diverged') {
      trainError = await errorOn(trainer, 'mse', data.train, s.n);
      testError = await errorOn(trainer, 'mse', data.test, s.testN);
    }
  } finally {
    await trainer.dispose();
  }
  const ok = outcome !== 'diverged';
  const diagnose = k.seed < s.diagnosticSeeds;
  const m = Math.min(s.lazySamples, s.n);
  let lazy: SongRecord['lazy'] = null;
  if (diagnose && s.lazySteps > 0) {
    // GD on Song's h = ‖F − Y‖² with the step that makes it GD on the mean squared error at lr
    const lr = s.lr / (m * 10);
    const r = lazyTrainingDistance(
      spec,
      params0,
      firstRows(data.train.X, 784, m),
      firstRows(data.train.Y, 10, m),
      m,
      {
        lr,
        steps: s.lazySteps,
      },
    );
    const finite = [r.finalDistance, r.maxDistance, r.outputMovement, r.finalLoss].every(Number.isFinite);
    lazy = {
      samples: m,
      steps: s.lazySteps,
      lr,
      diverged: !finite,
      finalDistance: finite ? r.finalDistance : null,
      maxDistance: finite ? r.maxDistance : null,
      outputMovement: finite ? r.outputMovement : null,
      relative: finite ? (r.outputMovement > 0 ? r.finalDistance / r.outputMovement : 0) : null,
    };
  }
  const q = Math.min(s.quantitySamples, s.n);
  const sq = diagnose ? songQuantities(spec, params0, firstRows(data.train.X, 784, q), q) : null;
  return [
    {
      ...baseSongRecord(s, k),
      status: ok ? 'budget' : 'diverged',
      trainError,
      testError,
      finalLoss: ok ? (curve.at(-1)?.[1] ?? null) : null,
      curve: curve.filter(([, l]) => Number.isFinite(l)),
      relMoveW: ok ? frobRel(final.W1!.data, params0.W1!.data) : null,
      relMoveV: ok ? frobRel(final.W2!.data, params0.W2!.data) : null,
      lazy,
      quantities: sq
        ? {
            samples: q,
            muPhi: sq.muPhi,
            nuPhi: sq.nuPhi,
            betaPhi: sq.betaPhi,
            rhoPhi: sq.rhoPhi,
            notes: sq.notes,
          }
        : null,
      teacher: data.teacher,
      data: `${data.splits.description}; pixels standardised by the training set's mean and std; labels: the teacher's`,
      wallMs: Math.round(performance.now() - t0),
      engine: { engine: info.engine, backend: info.backend, device: info.device },
      finishedAt: new Date().toISOString(),
    },
  ];
}
