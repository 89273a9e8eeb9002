/**
 * @narrownet/optim — update rules, schedules, projections and PGD as data, lowered to host,
 * tfjs and ONNX.
 * @packageDocumentation
 */
export type { UpdateSpec, ScheduleSpec, ProjectionSpec, GroupSpec, OptimizerSpec } from './spec.js';
export { type NumArray, projectOnto, zetaKappaLevel } from './projection.js';
export { type EpochScheduleSpec, epochSchedule, scheduleFactor, stepsPerEpoch } from './schedule.js';
export { type HostOptimizer, createHostOptimizer } from './host.js';
export { type TfOptimizer, createTfOptimizer } from './tf.js';
export {
  type GroupStationarity,
  type RelativeStationarity,
  kktResidual,
  relativeStationarity,
} from './kkt.js';
export { type ResolvedUpdate, validateOptimizerSpec } from './validate.js';
export {
  type OptimizerLoweringIO,
  type OptimizerLoweringOptions,
  type OptimizerLoweringOutputs,
  lowerOptimizerOnnx,
  onnxSlotShapes,
} from './onnx.js';
