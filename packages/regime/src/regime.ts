import { type InitSpec, validateInit } from '@narrownet/init';
import { LOSS_NAMES, type LossName, type ModelSpec, paramShapes, validateSpec } from '@narrownet/models';
import { type OptimizerSpec, validateOptimizerSpec } from '@narrownet/optim';

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
  throw new RangeError(`regime.${field}: ${msg}`);
}

/** Runs a sub-validator, prefixing its message with the regime's field path. */
function under(path: string, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    if (e instanceof Error) {
      const own = e.message.startsWith(`${path}.`) || e.message.startsWith(`${path}:`);
      throw new RangeError(`regime.${own ? e.message : `${path}: ${e.message}`}`);
    }
    throw e;
  }
}

/**
 * Checks every field of a regime against its range, in one place, and throws a RangeError naming
 * the field by its path, e.g. `regime.optimizer.groups[0].update.momentum: must be a finite number
 * in [0, 1), got -1`. The ranges live with the pieces: the model spec (`validateSpec` of
 * @narrownet/models), the init spec (`validateInit` of @narrownet/init) and the optimizer
 * (`validateOptimizerSpec` of @narrownet/optim: update, schedule and projection of every group,
 * every parameter in exactly one group); here: name, loss and stopping rules. Returns the regime.
 */
export function validateRegime(regime: RegimeSpec): RegimeSpec {
  if (regime === null || typeof regime !== 'object') throw new TypeError('regime: expected an object');
  if (typeof regime.name !== 'string' || regime.name.length === 0)
    bad('name', `must be a non-empty string, got ${JSON.stringify(regime.name)}`);
  under('model', () => validateSpec(regime.model));
  under('init', () => validateInit(regime.init, 'init'));
  if (!LOSS_NAMES.includes(regime.loss))
    bad('loss', `must be one of ${LOSS_NAMES.join(', ')}, got ${JSON.stringify(regime.loss)}`);
  under('optimizer', () =>
    validateOptimizerSpec(regime.optimizer, Object.keys(paramShapes(regime.model)), 'optimizer'),
  );
  const s = regime.stopping;
  if (s === null || typeof s !== 'object') bad('stopping', `must be an object, got ${JSON.stringify(s)}`);
  if (!Number.isInteger(s.maxSteps) || s.maxSteps < 0)
    bad('stopping.maxSteps', `must be an integer ≥ 0, got ${JSON.stringify(s.maxSteps)}`);
  if (
    s.lossTolerance !== undefined &&
    !(typeof s.lossTolerance === 'number' && Number.isFinite(s.lossTolerance) && s.lossTolerance >= 0)
  )
    bad('stopping.lossTolerance', `must be a finite number ≥ 0, got ${JSON.stringify(s.lossTolerance)}`);
  return regime;
}
