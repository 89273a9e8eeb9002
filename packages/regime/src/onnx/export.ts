import { cloneParams } from '@narrownet/models';
import type { TrainerConfig } from '../trainer.js';
import { buildFusedEval, buildFusedStep } from './fused.js';
import { planStep, singleDesc, stepsPerCallOf } from './trainer.js';

/** A runtime-neutral tensor: element type, row-major data and shape. */
export interface ExportedTensor {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: number[];
}

/** Options of {@link exportStepModel}. */
export interface ExportStepOptions {
  /** Optimizer steps fused into one call of the `loop` model through an ONNX Loop. Default 1 (no loop model). */
  stepsPerCall?: number;
}

/** What {@link exportStepModel} returns: the step models and everything needed to run them. */
export interface ExportedStepModel {
  /**
   * Serialised ONNX models (opset of @narrownet/models' OnnxGraph):
   * - `step`: one optimizer step, Loop-free. Outputs the new state (see `stateMap`) and `loss`,
   *   the loss at the INPUT iterate (before the step).
   * - `loop` (only when `stepsPerCall` K > 1): K steps in an ONNX Loop. Outputs the state after K
   *   steps, `losses` [K] (the loss at each step's input iterate) and `loss` (the full-data loss
   *   at the iterate reached).
   * - `loss`: inputs `X`, `Y`, `p.*`; output `loss` at that iterate (no step taken).
   */
  models: { step: Uint8Array; loop?: Uint8Array; loss: Uint8Array };
  /**
   * The feeds of the first call, by input name: `X` [n, d] and `Y` [n, k] (the data, constant),
   * `p.<param>` (the initial parameters, e.g. `p.W`, `p.v`), `s.<slot>.<param>` (optimizer
   * slots, zeros at the start: momentum buffers, Adam moments), `a.<param>` (anchors θ0 of the
   * Frobenius-ball projections, constant; only for projected parameters) and `step` (int64
   * scalar, the number of steps taken, 0). The step models take exactly these names.
   */
  feeds: Record<string, ExportedTensor>;
  /**
   * Output name → input name of the carried state: `P.<param>` → `p.<param>`, `S.<slot>` →
   * `s.<slot>`, `step_out` → `step`. After each call, feed these outputs back as those inputs;
   * `X`, `Y` and `a.*` stay as they were.
   */
  stateMap: Record<string, string>;
  /** K (1 when there is no loop model). */
  stepsPerCall: number;
  /**
   * With a mini-batch size b < n, each call also takes `idx`: int64 [b] (`step`) or [K, b]
   * (`loop`), the rows of each step — `batchIndices(n, b, seed, stepBefore)` gives the trainer's
   * order. Undefined for full batch.
   */
  batchSize?: number;
}

/**
 * Takes the fused training step out of narrownet: the ONNX models that {@link createOnnxTrainer}
 * runs for `config` (forward, analytic backward, update, schedule and projection in one graph),
 * with their initial feeds and the output→input map of the carried state, so that the step runs
 * in any ONNX runtime (onnxruntime-web in a browser, mobile, another language). Feeding the
 * outputs back as the map says reproduces the trainer's iterates exactly (same graph).
 *
 * @param config - model, loss, optimizer, initial parameters, anchors and data (as for the trainer)
 * @param options - `stepsPerCall` K: also export a K-step Loop model
 */
export function exportStepModel(config: TrainerConfig, options: ExportStepOptions = {}): ExportedStepModel {
  const where = 'exportStepModel';
  const K = stepsPerCallOf(options, where);
  const plan = planStep(config, where);
  const desc = singleDesc(plan);
  const f32 = (data: Float32Array, dims: readonly number[]): ExportedTensor => ({
    type: 'float32',
    data: data.slice(),
    dims: [...dims],
  });
  const feeds: Record<string, ExportedTensor> = {
    X: f32(config.data.X, [plan.n, plan.d]),
    Y: f32(config.data.Y, [plan.n, plan.k]),
  };
  const stateMap: Record<string, string> = {};
  for (const [name, shape] of Object.entries(plan.shapes)) {
    feeds[`p.${name}`] = f32(config.params[name]!.data, shape);
    stateMap[`P.${name}`] = `p.${name}`;
  }
  for (const [s, shape] of Object.entries(plan.slotShapes)) {
    feeds[`s.${s}`] = f32(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    stateMap[`S.${s}`] = `s.${s}`;
  }
  const anchors = cloneParams(config.anchors ?? config.params);
  for (const name of plan.anchorNames) feeds[`a.${name}`] = f32(anchors[name]!.data, plan.shapes[name]!);
  feeds.step = { type: 'int64', data: BigInt64Array.from([0n]), dims: [] };
  stateMap.step_out = 'step';
  return {
    models: {
      step: buildFusedStep(desc, 1),
      ...(K > 1 ? { loop: buildFusedStep(desc, K) } : {}),
      loss: buildFusedEval(desc, false),
    },
    feeds,
    stateMap,
    stepsPerCall: K,
    ...(plan.batchSize !== undefined ? { batchSize: plan.batchSize } : {}),
  };
}
