import { stepsPerEpoch } from '@narrownet/optim';
import { type RegimeSpec, regularDeep, zhang2021Deep } from '@narrownet/regime';
import {
  CLASSIFICATION_LOSS,
  type ClassificationFields,
  type OptimizerChoice,
  scheduleOf,
  trainClassificationRun,
} from '../../classification.js';
import { imageSplits } from '../../image-data.js';
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

/** The stored record of one run (accuracies and losses: softmax cross-entropy, at the final epoch). */
export interface MnistRecord
  extends SweepRecord,
    MnistKey,
    Omit<ClassificationFields, 'status' | 'engine' | 'wallMs' | 'finishedAt'> {
  /** Training and test samples, epochs. */
  n: number;
  nTest: number;
  epochs: number;
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
 * The regime of a run: a d-m₁-m₂-10 ReLU net without biases, softmax cross-entropy, the run's
 * optimizer with cosine annealing over the epochs (T_max = epochs, stepped per epoch).
 * `regular`: regime's `regularDeep` (LeCun init, every layer free). `alg2`: `zhang2021Deep`
 * (mirrored LeCun init, the output cut off to half, ‖W₂ − W₂⁰‖_F ≤ ε, V as `vConstraint`).
 */
export function mnistRegime(s: MnistWidthsSettings, k: MnistKey, d: number, classes: number): RegimeSpec {
  const perEpoch = stepsPerEpoch(s.trainN, s.batchSize);
  const opt = optimizerOf(s, k.optimizer);
  const common = {
    layers: [d, s.hiddenWidth, k.width, classes],
    activation: 'relu' as const,
    loss: CLASSIFICATION_LOSS,
    steps: s.epochs * perEpoch,
    optimizer: opt.kind,
    lr: opt.lr,
    weightDecay: opt.weightDecay,
    ...(opt.kind === 'sgd' ? { momentum: opt.momentum } : {}),
    schedule: scheduleOf({ kind: 'cosine' }, s.epochs, perEpoch),
  };
  if (k.arm === 'regular') return regularDeep(common);
  return zhang2021Deep({
    ...common,
    radius: k.radius!,
    vConstraint: s.vConstraint,
    zeta: s.zeta,
    kappa: s.kappa,
  });
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
  const fields = await trainClassificationRun(plan, ctx, { regime, splits, ...s });
  return fields && [{ ...baseMnistRecord(s, plan.key), ...fields }];
}
