import type { MlpSpec } from '@narrownet/models';
import { stepsPerEpoch } from '@narrownet/optim';
import type { RegimeSpec } from '@narrownet/regime';
import {
  CLASSIFICATION_LOSS,
  type EpochPoint,
  type OptimizerChoice,
  groupOf,
  imageSplits,
  scheduleOf,
  trainClassifier,
} from '../../classification.js';
import type { RunPlan, SweepRecord, UnitContext } from '../../sweep/experiment.js';
import type { MnistArm, MnistWidthsSettings } from './settings.js';

/** One run: an arm, a width m₂, a radius ε (Alg. 2 only) and an optimizer. */
export interface MnistKey {
  arm: MnistArm;
  width: number;
  /** ε of Alg. 2's ball; null for regular training. */
  radius: number | null;
  optimizer: 'adam' | 'sgd';
}

/** `regular/m64/adam`, `alg2/m64/eps0.1/sgd`. */
export function mnistRunId(k: MnistKey): string {
  return `${k.arm}/m${k.width}${k.radius === null ? '' : `/eps${k.radius}`}/${k.optimizer}`;
}

/** The stored record of one run. */
export interface MnistRecord extends SweepRecord, MnistKey {
  /** Training and test samples, epochs and optimizer steps taken. */
  n: number;
  nTest: number;
  epochs: number;
  steps: number;
  divergedAt?: number;
  /** Accuracy and loss (softmax cross-entropy, mean) at the final iterate; null when diverged or failed. */
  trainAccuracy: number | null;
  testAccuracy: number | null;
  trainLoss: number | null;
  testLoss: number | null;
  /** Correct test samples per class at the end, and samples per class. */
  testPerClassCorrect?: number[];
  testPerClassTotal?: number[];
  /** Evaluations every `evalEveryEpochs` epochs and at the end. */
  curve: EpochPoint[];
}

/** Every run: widths ascending, then regular training, then Alg. 2 per radius, each optimizer. */
export function mnistRuns(s: MnistWidthsSettings): RunPlan<MnistKey>[] {
  const out: RunPlan<MnistKey>[] = [];
  for (const width of s.widths)
    for (const arm of s.arms)
      for (const radius of arm === 'alg2' ? s.radii : [null])
        for (const optimizer of s.optimizers) {
          const key: MnistKey = { arm, width, radius, optimizer };
          // ∝ multiply-adds of the epochs: n × (784·m₁ + m₁·m₂ + 10·m₂)
          const macs = 784 * s.hiddenWidth + s.hiddenWidth * width + 10 * width;
          out.push({ id: mnistRunId(key), key, cost: s.epochs * s.trainN * macs * 1e-9 });
        }
  return out;
}

/** The optimizer a run uses, from the settings. */
export function optimizerOf(s: MnistWidthsSettings, o: MnistKey['optimizer']): OptimizerChoice {
  return o === 'adam'
    ? { kind: 'adam', lr: s.adamLr, weightDecay: s.adamWeightDecay }
    : { kind: 'sgd', lr: s.sgdLr, momentum: s.sgdMomentum, weightDecay: s.sgdWeightDecay };
}

/**
 * The regime of a run: a 784-m₁-m₂-10 ReLU net without biases, softmax cross-entropy, the run's
 * optimizer with cosine annealing over the epochs (T_max = epochs, stepped per epoch). `regular`:
 * LeCun init, every layer in one group.
 */
export function mnistRegime(s: MnistWidthsSettings, k: MnistKey, d: number, classes: number): RegimeSpec {
  const model: MlpSpec = { kind: 'mlp', layers: [d, s.hiddenWidth, k.width, classes], activation: 'relu' };
  const schedule = scheduleOf({ kind: 'cosine' }, s.epochs, stepsPerEpoch(s.trainN, s.batchSize));
  const opt = optimizerOf(s, k.optimizer);
  if (k.arm !== 'regular') throw new Error(`mnist-widths: arm ${k.arm} is not available in this build`);
  return {
    name: 'regular',
    description: `regular training (LeCun init) of a ${model.layers.join('-')} ReLU net, ${opt.kind}, cosine over ${s.epochs} epochs`,
    model,
    init: { kind: 'lecun' },
    loss: CLASSIFICATION_LOSS,
    optimizer: { groups: [groupOf(['W1', 'W2', 'W3'], opt, schedule)] },
    stopping: { maxSteps: s.epochs * stepsPerEpoch(s.trainN, s.batchSize) },
  };
}

/** The fields of a record that depend only on the run and the settings. */
export function baseMnistRecord(s: MnistWidthsSettings, k: MnistKey) {
  return { id: mnistRunId(k), ...k, n: s.trainN, nTest: s.testN, epochs: s.epochs };
}

/** Trains one run and makes its record; undefined when aborted. */
export async function trainMnistRun(
  plan: RunPlan<MnistKey>,
  ctx: UnitContext<MnistWidthsSettings, MnistRecord>,
): Promise<MnistRecord[] | undefined> {
  const s = ctx.settings;
  const splits = imageSplits(s.data, s);
  const regime = mnistRegime(s, plan.key, splits.train.d, splits.train.k);
  let done = 0;
  const out = await trainClassifier({
    regime,
    splits,
    epochs: s.epochs,
    batchSize: s.batchSize,
    evalEveryEpochs: s.evalEveryEpochs,
    seed: s.seed,
    createTrainer: ctx.engine.createTrainer,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onProgress: (f) => {
      ctx.progress(plan.cost * (f - done), plan.id);
      done = f;
    },
  });
  if (out.status === 'aborted') return undefined;
  ctx.progress(plan.cost * (1 - done), plan.id);
  // a diverged run has no trained model to score (its last evaluation is of a non-finite iterate)
  const fin = out.status === 'diverged' ? null : out.final;
  return [
    {
      ...baseMnistRecord(s, plan.key),
      status: out.status,
      steps: out.steps,
      ...(out.divergedAt !== undefined ? { divergedAt: out.divergedAt } : {}),
      trainAccuracy: fin?.train.accuracy ?? null,
      testAccuracy: fin?.test.accuracy ?? null,
      trainLoss: fin?.train.loss ?? null,
      testLoss: fin?.test.loss ?? null,
      ...(fin?.test.perClassCorrect ? { testPerClassCorrect: fin.test.perClassCorrect } : {}),
      ...(out.testPerClassTotal ? { testPerClassTotal: out.testPerClassTotal } : {}),
      curve: out.curve,
      wallMs: Math.round(out.wallMs),
      engine: { engine: out.engine.engine, backend: out.engine.backend, device: out.engine.device },
      finishedAt: new Date().toISOString(),
    },
  ];
}
