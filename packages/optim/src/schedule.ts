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
      return;
    case 'multistep': {
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
 */
export function scheduleFactor(schedule: ScheduleSpec | undefined, step: number, baseLr = 1): number {
  if (!Number.isInteger(step) || step < 0) {
    throw new RangeError(`scheduleFactor: step must be an integer ≥ 0, got ${step}`);
  }
  validateSchedule(schedule);
  if (schedule === undefined || schedule.kind === 'constant') return 1;
  if (schedule.kind === 'cosine') {
    if (baseLr === 0) return 0;
    const etaMin = schedule.etaMin ?? 0;
    const c = (1 + Math.cos((Math.PI * step) / schedule.tMax)) / 2;
    return etaMin / baseLr + (1 - etaMin / baseLr) * c;
  }
  let k = 0;
  for (const m of schedule.milestones) if (m <= step) k++;
  return (schedule.gamma ?? 0.1) ** k;
}
