import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HostTensor, ParamTree } from '@narrownet/models';
import { loadCheckpoint, saveCheckpoint } from '@narrownet/models/node';
import type { RegimeSpec } from './regime.js';
import { type TrainData, type TrainOptions, type TrainResult, trainLoop } from './train.js';
import type { TrainerState } from './trainer.js';

const META = 'narrownet-train';

/** Writes a checkpoint of a trainer state that {@link train} can resume from. */
export function saveTrainCheckpoint(
  path: string,
  regime: RegimeSpec,
  state: TrainerState,
  seed: number,
): void {
  const extra: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(state.slots)) extra[`slots/${k}`] = t;
  for (const [k, t] of Object.entries(state.anchors)) extra[`anchors/${k}`] = t;
  for (const [k, t] of Object.entries(state.buffers ?? {})) extra[`buffers/${k}`] = t;
  saveCheckpoint(path, {
    spec: regime.model,
    params: state.params,
    state: { format: META, step: state.step, seed, regime: JSON.parse(JSON.stringify(regime)) },
    extra,
  });
}

/** Reads a checkpoint written by {@link saveTrainCheckpoint}. */
export function loadTrainCheckpoint(path: string): { state: TrainerState; regime: RegimeSpec; seed: number } {
  const ck = loadCheckpoint(path);
  if (ck.state.format !== META || typeof ck.state.step !== 'number')
    throw new RangeError(`train: ${path} is not a training checkpoint (state.format/state.step missing)`);
  const slots: ParamTree = {};
  const anchors: ParamTree = {};
  const buffers: ParamTree = {};
  for (const [k, t] of Object.entries(ck.extra)) {
    if (k.startsWith('slots/')) slots[k.slice(6)] = t;
    else if (k.startsWith('anchors/')) anchors[k.slice(8)] = t;
    else if (k.startsWith('buffers/')) buffers[k.slice(8)] = t;
  }
  return {
    state: {
      step: ck.state.step,
      params: ck.params,
      slots,
      anchors,
      ...(Object.keys(buffers).length > 0 ? { buffers } : {}),
    },
    regime: ck.state.regime as RegimeSpec,
    seed: Number(ck.state.seed ?? 0),
  };
}

/**
 * Trains a regime on data: draws the init (seeded), makes a trainer, runs it in chunks of
 * `evalEvery` steps, records metrics (loss, ‖θ − θ0‖_F, KKT residual and active constraints,
 * λ_min(J) when asked), and stops at the loss tolerance, the step budget or a non-finite loss
 * (status `diverged`, with the exact first step whose loss is non-finite). With `checkpointPath`
 * it checkpoints every `checkpointEvery` steps and at the end; `resumeFrom` continues from such a
 * checkpoint exactly where it stopped (same iterates as an uninterrupted run).
 */
export function train(regime: RegimeSpec, data: TrainData, options: TrainOptions): Promise<TrainResult> {
  return trainLoop(regime, data, options, {
    save: saveTrainCheckpoint,
    load: loadTrainCheckpoint,
    prepare: (path) => mkdirSync(dirname(path), { recursive: true }),
  });
}
