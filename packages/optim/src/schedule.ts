import { checkNumber, checkObject } from './check.js';
import type { ScheduleSpec } from './spec.js';

/**
 * Checks a schedule spec and throws a RangeError naming the field by its path (`path` is where the
 * spec sits, e.g. `optimizer.groups[0].schedule`).
 */
export function validateSchedule(spec: ScheduleSpec | undefined, path = 'schedule'): void {
  if (spec === undefined) return;
  checkObject(spec, path);
  switch (spec.kind) {
    case 'constant':
      return;
    case 'cosine':
      checkNumber(spec.tMax, `${path}.tMax`, { min: 1, integer: true });
      if (spec.etaMin !== undefined) checkNumber(spec.etaMin, `${path}.etaMin`, { min: 0 });
      if (spec.stepsPerEpoch !== undefined)
        checkNumber(spec.stepsPerEpoch, `${path}.stepsPerEpoch`, { min: 1, integer: true });
      return;
    case 'multistep': {
      if (spec.stepsPerEpoch !== undefined)
        checkNumber(spec.stepsPerEpoch, `${path}.stepsPerEpoch`, { min: 1, integer: true });
      if (!Array.isArray(spec.milestones))
        throw new RangeError(`${path}.milestones: must be an array of step numbers`);
      for (const [i, m] of spec.milestones.entries())
        checkNumber(m, `${path}.milestones[${i}]`, { min: 0, integer: true });
      if (spec.gamma !== undefined) checkNumber(spec.gamma, `${path}.gamma`, { min: 0 });
      return;
    }
    default:
      throw new RangeError(
        `${path}.kind: unknown schedule kind ${JSON.stringify((spec as { kind?: unknown }).kind)}; expected constant, cosine or multistep`,
      );
  }
}

/**
 * Factor of the base step size at optimizer step `step` (counting from 0: the step size used by
 * the (step+1)-th update is lr·factor), matching PyTorch schedulers stepped once after every
 * optimizer step.
 * - `constant`: 1.
 * - `cosine`: PyTorch CosineAnnealingLR closed form, lr_t = ηmin + (lr − ηmin)(1 + cos(πt/tMax))/2,
 *   so factor = ηmin/lr + (1 − ηmin/lr)(1 + cos(πt/tMax))/2. `etaMin` is ABSOLUTE (as in PyTorch),
 *   hence the `baseLr` argument (default 1); with baseLr 0 the factor is 0 (a frozen group stays
 *   frozen). Beyond tMax the closed form continues periodically.
 * - `multistep`: gamma^(number of milestones ≤ step), duplicates counted (PyTorch MultiStepLR).
 *
 * With `stepsPerEpoch` the formulas above read t = ⌊step / stepsPerEpoch⌋ (the epoch), so the
 * factor is constant within an epoch (a PyTorch scheduler stepped after every epoch).
 */
export function scheduleFactor(schedule: ScheduleSpec | undefined, step: number, baseLr = 1): number {
  if (!Number.isInteger(step) || step < 0) {
    throw new RangeError(`scheduleFactor: step must be an integer ≥ 0, got ${step}`);
  }
  validateSchedule(schedule);
  if (schedule === undefined || schedule.kind === 'constant') return 1;
  const t = schedule.stepsPerEpoch === undefined ? step : Math.floor(step / schedule.stepsPerEpoch);
  if (schedule.kind === 'cosine') {
    if (baseLr === 0) return 0;
    const etaMin = schedule.etaMin ?? 0;
    const c = (1 + Math.cos((Math.PI * t) / schedule.tMax)) / 2;
    return etaMin / baseLr + (1 - etaMin / baseLr) * c;
  }
  let k = 0;
  for (const m of schedule.milestones) if (m <= t) k++;
  return (schedule.gamma ?? 0.1) ** k;
}

/**
 * Optimizer steps per epoch of mini-batch training: ⌊n / batchSize⌋ (a last partial batch is
 * dropped, as the trainers do); 1 for full batch (`batchSize` undefined or ≥ n).
 *
 * @param n - number of training samples (positive integer)
 * @param batchSize - mini-batch size (positive integer), or undefined for full batch
 */
export function stepsPerEpoch(n: number, batchSize?: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`stepsPerEpoch: n must be an integer ≥ 1, got ${n}`);
  if (batchSize === undefined || batchSize >= n) {
    if (batchSize !== undefined && !Number.isInteger(batchSize))
      throw new RangeError(`stepsPerEpoch: batchSize must be an integer ≥ 1, got ${batchSize}`);
    return 1;
  }
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`stepsPerEpoch: batchSize must be an integer ≥ 1, got ${batchSize}`);
  return Math.floor(n / batchSize);
}

/** A schedule counted in epochs (see {@link epochSchedule}). */
export type EpochScheduleSpec =
  | { readonly kind: 'constant' }
  /** Cosine annealing over `tMax` epochs (PyTorch CosineAnnealingLR stepped per epoch; T_max = epochs). */
  | { readonly kind: 'cosine'; readonly tMax: number; readonly etaMin?: number }
  /** ×gamma (default 0.1) at each milestone epoch (PyTorch MultiStepLR stepped per epoch). */
  | { readonly kind: 'multistep'; readonly milestones: readonly number[]; readonly gamma?: number };

/**
 * Converts a schedule counted in epochs into the step-counted {@link ScheduleSpec} the optimizers
 * read: the same spec with `stepsPerEpoch` set, so lr changes only at epoch boundaries, exactly
 * as a PyTorch scheduler stepped after each epoch. Example (Zhang et al. App. H.2): cosine with
 * T_max = 200 epochs at batch 64 on n samples is
 * `epochSchedule({ kind: 'cosine', tMax: 200 }, stepsPerEpoch(n, 64))`.
 *
 * @param spec - the schedule in epochs
 * @param perEpoch - optimizer steps per epoch (see {@link stepsPerEpoch})
 */
export function epochSchedule(spec: EpochScheduleSpec, perEpoch: number): ScheduleSpec {
  const out = spec.kind === 'constant' ? spec : { ...spec, stepsPerEpoch: perEpoch };
  validateSchedule(out, 'epochSchedule');
  return out;
}
