import { type ResNetSpec, resnetParamShapes, resnetStageParams } from '@narrownet/models';
import type { GroupSpec, OptimizerSpec, ScheduleSpec, UpdateSpec } from '@narrownet/optim';
import { type VConstraint, vProjection } from './presets.js';

/** Options of {@link resnetOptimizer}. */
export interface ResNetOptimizerOptions {
  /** Base step size. Default 0.1 (App. H.2). */
  lr?: number;
  /** Heavy-ball momentum. Default 0.9. */
  momentum?: number;
  /** L2 weight decay on every parameter (PyTorch SGD). Default 5e-4. */
  weightDecay?: number;
  /** Step-size schedule of every group: App. H.2 uses cosine (CIFAR) and ×0.1 at epochs 30, 60, 90 (R-ImageNet). */
  schedule?: ScheduleSpec;
  /**
   * Alg. 2 on the final block: the radius ε of ‖W₄ − W₄⁰‖_F ≤ ε, jointly over every parameter of
   * the final stage (App. H.2's "B_ε(w⁰) constraint on the 4th block", projected after every
   * mini-batch). Omitted: regular training, no projection anywhere.
   */
  radius?: number;
  /**
   * Constraint on the output layer (the paired head's weight) in the Alg. 2 regime: `none`
   * (default), or B_{ζ,κ} by `exact` Euclidean projection or App. H.1's `paperHeuristic`, applied
   * to each row (the half of one class) on its own, as `zhang2021Deep` does: with κ = 1 each class
   * gets its own common value ≥ ζ (on the whole [classes, m/2] weight at once it would force one
   * value for every class, i.e. equal logits).
   */
  vConstraint?: VConstraint;
  /** ζ of B_{ζ,κ}. Default 0.001 (App. H.2). */
  zeta?: number;
  /** κ of B_{ζ,κ}. Default 1 (App. H.2). */
  kappa?: number;
}

/**
 * The optimizer of Zhang et al.'s ResNet-18 experiments (Sec. 5.2, App. H.2) for a conv net:
 * SGD with momentum and weight decay on every parameter; with `radius`, Alg. 2 on the final
 * block — the final stage's parameters in one group projected onto the Frobenius ball around
 * their initial values, the head weight in a group of its own (with `vConstraint`'s projection),
 * everything before the final stage free. Pair it with `initResNet(spec, { mirrorFinalStage:
 * true })` and `head: 'paired'` for Alg. 2; plain LeCun (`initResNet(spec, {})`) for regular training.
 */
export function resnetOptimizer(spec: ResNetSpec, options: ResNetOptimizerOptions = {}): OptimizerSpec {
  const update: UpdateSpec = {
    kind: 'sgd',
    momentum: options.momentum ?? 0.9,
    weightDecay: options.weightDecay ?? 5e-4,
  };
  const lr = options.lr ?? 0.1;
  const schedule = options.schedule;
  const all = Object.keys(resnetParamShapes(spec));
  const group = (params: string[], projection?: GroupSpec['projection']): GroupSpec => ({
    params,
    lr,
    update,
    ...(schedule ? { schedule } : {}),
    ...(projection ? { projection } : {}),
  });
  if (options.radius === undefined) {
    if (options.vConstraint !== undefined && options.vConstraint !== 'none')
      throw new RangeError('resnetOptimizer: vConstraint needs the Alg. 2 regime (give radius)');
    return { groups: [group(all)] };
  }
  if (!(options.radius > 0))
    throw new RangeError(`resnetOptimizer: radius must be > 0, got ${options.radius}`);
  if (spec.head !== 'paired')
    throw new RangeError(
      "resnetOptimizer: the Alg. 2 regime needs spec.head = 'paired' (output layer cut in half)",
    );
  const vProj = vProjection('resnetOptimizer', options, true);
  const final = resnetStageParams(spec);
  const head = ['linear.weight'];
  const rest = all.filter((k) => !final.includes(k) && !head.includes(k));
  return {
    groups: [
      group(rest),
      group(final, { kind: 'frobeniusBall', radius: options.radius }),
      group(head, vProj),
    ],
  };
}
