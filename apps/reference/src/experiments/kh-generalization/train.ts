import { randomLabels, unitNormRows } from '@narrownet/datasets';
import type { Engine } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { featureRankM, lastLayerLipschitz, weightNorm } from '@narrownet/landscape';
import { type MlpSpec, type ParamTree, createRng } from '@narrownet/models';
import { type TrainerInfo, evaluateSplit, kawaguchiHuang, kawaguchiHuangCz } from '@narrownet/regime';
import { FORWARD_CHUNK, forwardRows } from '../../forward.js';
import { type LabelledDataset, type RawImageSplits, mnistSplits } from '../../image-data.js';
import type { RunPlan, SweepRecord, UnitContext } from '../../sweep/experiment.js';
import { type KhLabels, type KhSettings, khM1 } from './settings.js';

/** One evaluation of a run: the four panels of Fig. 2 plus the training loss. */
export interface KhPoint {
  step: number;
  /** Training loss (mse, the regime's L = (1/n)Σℓ_i / m_y). */
  loss: number;
  /** Accuracies in %. */
  trainAcc: number;
  testAcc: number;
  /** (train − test accuracy)/100, as Fig. 2c plots it. */
  gap: number;
  /** C‖W̄ᵀ‖₂,∞ of the last layer (Fig. 2d). */
  weightNorm: number;
}

/** Theorem 1's side conditions at the run's init and n (the same for both label kinds). */
export interface KhConditions {
  /** Layer sizes [784, m_1, m_H, 10]. */
  layers: number[];
  /** rank M(w̃, b̃) (null above rankMaxN) and whether it is n; float64, Gram method. */
  rank: number | null;
  fullRank: boolean | null;
  /** Smallest and largest singular value of M and the rank tolerance. */
  sigmaMin: number | null;
  sigmaMax: number | null;
  rankTolerance: number | null;
  /** c_z = (1/n)Σ‖z_i‖² from the engine's float32 features (what sets the step). */
  cz: number;
  /** The same from the float64 reference forward (null above rankMaxN). */
  cz64: number | null;
  /** ζ of the loss (2/m_y for mse) and Lemma 3's Lipschitz bound ζ·c_z. */
  zeta: number;
  lipschitzBound: number;
  /** The exact Lipschitz constant of ∇J̄ (largest Hessian eigenvalue (ζ/n)σ_max(M)²); null without the rank. */
  lipschitzExact: number | null;
  /** The step 1/(c_z ζ) used. */
  step: number;
}

/** The stored record of one label kind. */
export interface KhRecord extends SweepRecord {
  labels: KhLabels;
  n: number;
  testN: number;
  conditions: KhConditions | null;
  curve: KhPoint[];
  /** Final training loss (null when diverged). */
  finalLoss: number | null;
  /** `features` or `frozen` (settings.lastLayer). */
  lastLayer: 'features' | 'frozen';
  /** Seconds and bytes of computing the features of the training and test set once. */
  featureSeconds: number;
  featureBytes: number;
  /** Seconds of last-layer training (with evaluations). */
  trainSeconds: number;
  steps: number;
  /** Where the digits came from. */
  data: string;
}

/** Fig. 2's trainable net at the settings: softplus, H = 2, m_1 = ⌈16 log(H n²/δ)⌉, m_H = 4n. */
export function khRegime(s: KhSettings, cz: number) {
  return kawaguchiHuang({
    layers: [784, khM1(s.n, s.delta), 4 * s.n, 10],
    activation: { name: 'softplus', alpha: s.alpha },
    cw: s.cw,
    cb: s.cb,
    cz,
    steps: s.steps,
  });
}

/** What both label kinds share: the init, the fixed hidden layers' features, the side conditions. */
interface KhFeatures {
  spec: MlpSpec;
  params0: ParamTree;
  Ztrain: Float32Array;
  Ztest: Float32Array;
  mH: number;
  conditions: KhConditions;
  seconds: number;
  bytes: number;
}

let dataCache: { key: string; data: RawImageSplits } | undefined;

/**
 * The digits of the settings with every input scaled to ‖x_i‖₂ = 1: Theorem 1's data sets S_n
 * are normalized so (Sec. 3), and its init keeps ‖x⁽ˡ⁾‖² = O(1) only for such inputs.
 */
async function khData(s: KhSettings): Promise<RawImageSplits> {
  const key = JSON.stringify([s.source, s.n, s.testN, s.dataDir]);
  if (dataCache?.key !== key) {
    const raw = await mnistSplits(s, false);
    dataCache = {
      key,
      data: {
        train: unitNormRows(raw.train) as LabelledDataset,
        test: unitNormRows(raw.test) as LabelledDataset,
        description: `${raw.description}; every image scaled to unit norm ‖x_i‖₂ = 1 (Theorem 1's S_n)`,
      },
    };
  }
  return dataCache.data;
}

let featureCache: { key: string; f: KhFeatures } | undefined;

/**
 * The hidden layers are fixed (GD moves only the last layer): their outputs z_i = x_i⁽ᴴ⁾ on the
 * training and test digits are computed once, in chunks on the engine, and Theorem 1's side
 * conditions are computed at the same init (memoized per data set and init).
 */
async function featuresOf(s: KhSettings, runtime: Engine | undefined): Promise<KhFeatures> {
  const key = JSON.stringify([
    s.source,
    s.n,
    s.testN,
    s.dataDir,
    s.delta,
    s.cw,
    s.cb,
    s.alpha,
    s.seed,
    s.rankMaxN,
    s.lastLayer,
  ]);
  if (featureCache?.key === key) return featureCache.f;
  const data = await khData(s);
  const pre = khRegime(s, 1);
  const spec = pre.model as MlpSpec;
  const params0 = initParams(spec, pre.init, createRng(s.seed));
  const t0 = performance.now();
  // frozen mode keeps no features: the training ones only give c_z (the step), then are dropped
  const frozen = s.lastLayer === 'frozen';
  let Ztrain = await forwardRows(runtime, spec, params0, data.train.X, s.n, 'lastHidden');
  const Ztest = frozen
    ? new Float32Array(0)
    : await forwardRows(runtime, spec, params0, data.test.X, s.testN, 'lastHidden');
  const seconds = (performance.now() - t0) / 1000;
  const mH = 4 * s.n;
  const cz = kawaguchiHuangCz(Ztrain, s.n);
  if (frozen) Ztrain = new Float32Array(0);
  const regime = khRegime(s, cz);
  const step = regime.optimizer.groups.at(-1)!.lr as number;
  const zeta = 1 / (cz * step);
  const small = s.n <= s.rankMaxN;
  const rank = small ? featureRankM(spec, params0, data.train.X, s.n, { method: 'gram' }) : null;
  const lip = small ? lastLayerLipschitz(spec, params0, data.train.X, s.n, { zeta }) : null;
  const sigmaMax = rank ? rank.singularValues[0]! : null;
  const conditions: KhConditions = {
    layers: [...spec.layers],
    rank: rank?.rank ?? null,
    fullRank: rank ? rank.fullRowRank : null,
    sigmaMin: rank ? rank.singularValues.at(-1)! : null,
    sigmaMax,
    rankTolerance: rank?.tolerance ?? null,
    cz,
    cz64: lip?.cz ?? null,
    zeta,
    lipschitzBound: zeta * cz,
    lipschitzExact: sigmaMax === null ? null : (zeta * sigmaMax ** 2) / s.n,
    step,
  };
  const f: KhFeatures = {
    spec,
    params0,
    Ztrain,
    Ztest,
    mH,
    conditions,
    seconds,
    bytes: (Ztrain.byteLength + Ztest.byteLength) as number,
  };
  featureCache = { key, f };
  return f;
}

/** The runs: one per label kind. */
export function khRuns(s: KhSettings): RunPlan<KhLabels>[] {
  return s.labels.map((l) => ({ id: l, key: l, cost: s.steps * s.n * 4 * s.n }));
}

/** The fields of a record that only depend on the run and the settings. */
export function baseKhRecord(s: KhSettings, labels: KhLabels) {
  return { id: labels, labels, n: s.n, testN: s.testN };
}

/**
 * Trains the last layer of one label kind: a linear model [m_H → 10] with bias on the fixed
 * features (the trainer's MLP with no hidden layer), plain full-batch GD with the preset's step
 * 1/(c_z ζ) on the mse loss; every `evalEvery` steps the accuracies and the weight norm.
 */
export async function trainKh(
  plan: RunPlan<KhLabels>,
  ctx: UnitContext<KhSettings, KhRecord>,
): Promise<KhRecord[] | undefined> {
  const s = ctx.settings;
  const runtime = ctx.engine.runtime;
  const data = await khData(s);
  const f = await featuresOf(s, runtime);
  const train = plan.key === 'natural' ? data.train : randomLabels(data.train, s.seed);
  const L = f.spec.layers.length - 1;
  const linear: MlpSpec = { kind: 'mlp', layers: [f.mH, 10], activation: 'identity', bias: true };
  // features: a linear model [m_H → 10] on Z; frozen: the whole net with the preset's step-0 groups
  const frozen = s.lastLayer === 'frozen';
  const spec = frozen ? f.spec : linear;
  const Xtrain = frozen ? data.train.X : f.Ztrain;
  const Xtest = frozen ? data.test.X : f.Ztest;
  const t0 = performance.now();
  const trainer = await ctx.engine.createTrainer({
    spec,
    loss: 'mse',
    optimizer: frozen
      ? khRegime(s, f.conditions.cz).optimizer
      : { groups: [{ params: ['W1', 'b1'], lr: f.conditions.step, update: { kind: 'sgd' } }] },
    params: frozen ? f.params0 : { W1: f.params0[`W${L}`]!, b1: f.params0[`b${L}`]! },
    data: { X: Xtrain, Y: train.Y, n: s.n },
    seed: s.seed,
  });
  const info: TrainerInfo = trainer.info;
  const curve: KhPoint[] = [];
  let status: KhRecord['status'] = 'budget';
  let finalLoss: number | null = null;
  let step = 0;
  try {
    // accuracy (%) of the trainer's iterate (its own predict) against the arg-max of the one-hot
    // targets, in chunks of FORWARD_CHUNK rows as the features were computed
    const accuracy = async (X: Float32Array, Y: Float32Array, n: number) =>
      100 * (await evaluateSplit(trainer, 'mse', { X, Y, n }, 10, FORWARD_CHUNK)).accuracy!;
    const evaluate = async (loss: number) => {
      const p = (await trainer.state()).params;
      const trainAcc = await accuracy(Xtrain, train.Y, s.n);
      const testAcc = await accuracy(Xtest, data.test.Y, s.testN);
      curve.push({
        step,
        loss,
        trainAcc,
        testAcc,
        gap: (trainAcc - testAcc) / 100,
        weightNorm: weightNorm(spec, p, { C: s.normC }),
      });
    };
    await evaluate((await trainer.evaluate()).loss);
    while (step < s.steps) {
      if (ctx.signal?.aborted) return undefined;
      const k = Math.min(s.evalEvery, s.steps - step);
      const loss = await trainer.run(k);
      step += k;
      ctx.progress((plan.cost * k) / s.steps, `${plan.id} step ${step}`);
      if (!Number.isFinite(loss)) {
        status = 'diverged';
        break;
      }
      finalLoss = loss;
      await evaluate(loss);
    }
  } finally {
    await trainer.dispose();
  }
  return [
    {
      ...baseKhRecord(s, plan.key),
      status,
      conditions: f.conditions,
      curve,
      finalLoss: status === 'diverged' ? null : finalLoss,
      lastLayer: s.lastLayer,
      featureSeconds: f.seconds,
      featureBytes: f.bytes,
      trainSeconds: (performance.now() - t0) / 1000,
      steps: step,
      data: data.description,
      wallMs: Math.round(performance.now() - t0),
      engine: { engine: info.engine, backend: info.backend, device: info.device },
      finishedAt: new Date().toISOString(),
    },
  ];
}
