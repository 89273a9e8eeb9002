/**
 * @narrownet/optim — update rules, schedules, projections and PGD as data, lowered to host,
 * tfjs and ONNX.
 * @packageDocumentation
 */
export type { UpdateSpec, ScheduleSpec, ProjectionSpec, GroupSpec, OptimizerSpec } from './spec.js';
