import type { InitSpec } from '@narrownet/init';
import { LOSS_NAMES, type LossName, type ModelSpec, paramShapes, validateSpec } from '@narrownet/models';
import type { OptimizerSpec } from '@narrownet/optim';

/** When a run stops (whichever comes first). */
export interface StoppingSpec {
  /** Step budget: the run ends with status `budget` after this many optimizer steps. */
  readonly maxSteps: number;
  /** The run ends with status `converged` once the training loss is ≤ this. Default 0 (never). */
  readonly lossTolerance?: number;
}

/**
 * A training regime as plain, JSON-serialisable data: model, initialization, loss, optimizer
 * (per-group update rule, step size, schedule and constraint set / projection) and stopping
 * rules. Every piece is replaceable: take a preset and spread in what you want to change.
 */
export interface RegimeSpec {
  /** Short name, e.g. `zhang2021`. */
  readonly name: string;
  /** One line saying what the regime is and where it comes from. */
  readonly description: string;
  readonly model: ModelSpec;
  readonly init: InitSpec;
  readonly loss: LossName;
  /**
   * Parameter groups with their update rule, step size, schedule and projection (constraint
   * set). Frobenius balls are anchored at the initial parameters.
   */
  readonly optimizer: OptimizerSpec;
  readonly stopping: StoppingSpec;
}

function bad(field: string, msg: string): never {
  throw new RangeError(`regime: ${field} ${msg}`);
}

/**
 * Checks a regime and throws a RangeError naming the offending field (unknown loss, a parameter
 * in no group or in two groups, negative step sizes, non-positive radii, a bad step budget).
 * Returns the regime.
 */
export function validateRegime(regime: RegimeSpec): RegimeSpec {
  if (regime === null || typeof regime !== 'object') throw new TypeError('regime: expected an object');
  if (typeof regime.name !== 'string' || regime.name.length === 0) bad('name', 'must be a non-empty string');
  validateSpec(regime.model);
  if (!regime.init || typeof regime.init !== 'object') bad('init', 'must be an InitSpec object');
  if (!LOSS_NAMES.includes(regime.loss))
    bad('loss', `must be one of ${LOSS_NAMES.join(', ')}, got ${JSON.stringify(regime.loss)}`);
  const shapes = paramShapes(regime.model);
  const seen = new Set<string>();
  const groups = regime.optimizer?.groups;
  if (!Array.isArray(groups) || groups.length === 0) bad('optimizer.groups', 'must be a non-empty array');
  for (const [i, g] of groups.entries()) {
    const at = `optimizer.groups[${i}]`;
    if (!Array.isArray(g.params) || g.params.length === 0) bad(`${at}.params`, 'must list parameter names');
    for (const p of g.params) {
      if (!(p in shapes))
        bad(
          `${at}.params`,
          `names "${p}", which is not a parameter of the model (${Object.keys(shapes).join(', ')})`,
        );
      if (seen.has(p)) bad(`${at}.params`, `names "${p}", which is already in an earlier group`);
      seen.add(p);
    }
    if (typeof g.lr !== 'number' || !Number.isFinite(g.lr) || g.lr < 0)
      bad(`${at}.lr`, `must be a finite number ≥ 0, got ${JSON.stringify(g.lr)}`);
    const pr = g.projection;
    if (pr?.kind === 'frobeniusBall' && !(pr.radius > 0))
      bad(`${at}.projection.radius`, `must be > 0, got ${JSON.stringify(pr.radius)}`);
    if (pr?.kind === 'zetaKappa' && (!(pr.zeta > 0) || !(pr.kappa >= 1)))
      bad(`${at}.projection`, `needs zeta > 0 and kappa ≥ 1, got zeta=${pr.zeta}, kappa=${pr.kappa}`);
  }
  for (const p of Object.keys(shapes))
    if (!seen.has(p)) bad('optimizer.groups', `leave parameter "${p}" in no group`);
  const s = regime.stopping;
  if (!s || !Number.isInteger(s.maxSteps) || s.maxSteps < 0)
    bad('stopping.maxSteps', `must be an integer ≥ 0, got ${JSON.stringify(s?.maxSteps)}`);
  if (s.lossTolerance !== undefined && !(s.lossTolerance >= 0))
    bad('stopping.lossTolerance', `must be ≥ 0, got ${JSON.stringify(s.lossTolerance)}`);
  return regime;
}
