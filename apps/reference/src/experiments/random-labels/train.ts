import { randomLabels } from '@narrownet/datasets';
import { stepsPerEpoch } from '@narrownet/optim';
import { type RegimeSpec, regularDeep, zhang2021Deep } from '@narrownet/regime';
import {
  CLASSIFICATION_LOSS,
  type ClassificationFields,
  scheduleOf,
  trainClassificationRun,
} from '../../classification.js';
import { type ImageSplits, type LabelledDataset, imageSplits } from '../../image-data.js';
import type { RunPlan, SweepRecord, UnitContext } from '../../sweep/experiment.js';
import type { RandomLabelArm, RandomLabelsSettings } from './settings.js';

/** One run (one cell of Table 3): an arm, an activation and a width. */
export interface RandomLabelsKey {
  arm: RandomLabelArm;
  activation: 'relu' | 'tanh';
  width: number;
}

/** `alg2/relu/m1024`. */
export function randomLabelsRunId(k: RandomLabelsKey): string {
  return `${k.arm}/${k.activation}/m${k.width}`;
}

/**
 * The stored record of one run: accuracy on the random training labels and on the true test
 * labels at the final epoch.
 */
export interface RandomLabelsRecord
  extends SweepRecord,
    RandomLabelsKey,
    Omit<ClassificationFields, 'status' | 'engine' | 'wallMs' | 'finishedAt'> {
  n: number;
  nTest: number;
  epochs: number;
}

/** Every run: arms, then activations, then widths ascending. */
export function randomLabelsRuns(s: RandomLabelsSettings): RunPlan<RandomLabelsKey>[] {
  const out: RunPlan<RandomLabelsKey>[] = [];
  const d = s.data === 'cifar10' ? 3072 : 784;
  for (const arm of s.arms)
    for (const activation of s.activations)
      for (const width of s.widths) {
        const key: RandomLabelsKey = { arm, activation, width };
        out.push({ id: randomLabelsRunId(key), key, cost: s.epochs * s.trainN * width * (d + 10) * 1e-9 });
      }
  return out;
}

let labelled: { key: string; splits: ImageSplits } | undefined;
/** The standardised splits with the training labels replaced by uniform random classes (memoized). */
export function randomLabelSplits(s: RandomLabelsSettings): ImageSplits {
  const splits = imageSplits(s.data, s);
  const key = JSON.stringify([s.data, s.trainN, s.testN, s.dataDir ?? '', s.labelSeed]);
  if (labelled?.key !== key)
    labelled = {
      key,
      splits: { ...splits, train: randomLabels(splits.train, s.labelSeed, 'uniform') as LabelledDataset },
    };
  return labelled.splits;
}

/**
 * The regime of a run: one hidden layer of the run's width and activation, 10 outputs, softmax
 * cross-entropy, SGD with the step size multiplied by `gamma` at the milestone epochs. `alg2`:
 * regime's `zhang2021Deep` on [d, m, 10] (the paired net with the output cut off to half,
 * mirrored init, ‖W − W⁰‖_F ≤ ε, V as `vConstraint`); `regular`: `regularDeep` (LeCun, free).
 */
export function randomLabelsRegime(
  s: RandomLabelsSettings,
  k: RandomLabelsKey,
  d: number,
  classes: number,
): RegimeSpec {
  const perEpoch = stepsPerEpoch(s.trainN, s.batchSize);
  const common = {
    layers: [d, k.width, classes],
    activation: k.activation,
    loss: CLASSIFICATION_LOSS,
    steps: s.epochs * perEpoch,
    optimizer: 'sgd' as const,
    lr: s.lr,
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    schedule: scheduleOf({ kind: 'multistep', milestones: s.milestones, gamma: s.gamma }, s.epochs, perEpoch),
  };
  if (k.arm === 'regular') return regularDeep(common);
  return zhang2021Deep({
    ...common,
    radius: s.radius,
    vConstraint: s.vConstraint,
    zeta: s.zeta,
    kappa: s.kappa,
  });
}

/** The fields of a record that depend only on the run and the settings. */
export function baseRandomLabelsRecord(s: RandomLabelsSettings, k: RandomLabelsKey) {
  return { id: randomLabelsRunId(k), ...k, n: s.trainN, nTest: s.testN, epochs: s.epochs };
}

/** Trains one run and makes its record; undefined when aborted. */
export async function trainRandomLabelsRun(
  plan: RunPlan<RandomLabelsKey>,
  ctx: UnitContext<RandomLabelsSettings, RandomLabelsRecord>,
): Promise<RandomLabelsRecord[] | undefined> {
  const s = ctx.settings;
  const splits = randomLabelSplits(s);
  const regime = randomLabelsRegime(s, plan.key, splits.train.d, splits.train.k);
  const fields = await trainClassificationRun(plan, ctx, { regime, splits, ...s });
  return fields && [{ ...baseRandomLabelsRecord(s, plan.key), ...fields }];
}
