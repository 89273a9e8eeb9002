import { type TrainData, type TrainOptions, type TrainResult, trainLoop } from './train.js';
import type { RegimeSpec } from './regime.js';

/**
 * Trains a regime on data: draws the init (seeded), makes a trainer, runs it in chunks of
 * `evalEvery` steps, records metrics (loss, ‖θ − θ0‖_F, KKT residual and active constraints,
 * λ_min(J) when asked), and stops at the loss tolerance, the step budget or a non-finite loss
 * (status `diverged`). The browser build: it writes no files, so `checkpointPath` and
 * `resumeFrom` are refused (a RangeError); Node's build (the package index) has them.
 */
export function train(regime: RegimeSpec, data: TrainData, options: TrainOptions): Promise<TrainResult> {
  return trainLoop(regime, data, options, undefined);
}
