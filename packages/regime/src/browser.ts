/**
 * @narrownet/regime — the training loop and the papers' regimes as composable presets: the
 * browser entry (the `browser` export condition), everything but checkpoint files.
 * @packageDocumentation
 */
export type {
  BatchContext,
  RowSource,
  Trainer,
  TrainerConfig,
  TrainerInfo,
  TrainerState,
} from './trainer.js';
export { type RegimeSpec, type StoppingSpec, validateRegime } from './regime.js';
export {
  type CommonPresetOptions,
  type ShallowPresetOptions,
  type VConstraint,
  type Zhang2021Options,
  type KawaguchiHuangOptions,
  type SongOptions,
  type DeepPresetOptions,
  type Zhang2021DeepOptions,
  zhang2021,
  zhang2021Deep,
  regularDeep,
  regular,
  constrainedRegular,
  kawaguchiHuang,
  kawaguchiHuangCz,
  song,
} from './presets.js';
export { type TfModule, createTfjsTrainer } from './tfjs-trainer.js';
export { type BatchOrder, batchIndices, createBatchOrder } from './batches.js';
export {
  type EpochEvaluation,
  type SplitMetrics,
  EVAL_CHUNK_ROWS,
  evaluateSplit,
} from './evaluate.js';
export type {
  EvaluationOptions,
  TrainData,
  TrainerFactory,
  GroupMetrics,
  StepMetrics,
  TrainOptions,
  TrainResult,
} from './train.js';
export { train } from './train-browser.js';
export type { OnnxEngineLike, OrtTensorConstructor } from './onnx/engine.js';
export { type OnnxTrainerOptions, createOnnxTrainer } from './onnx/trainer.js';
export type { PlacementOptions } from './onnx/placement.js';
export {
  type ExportedTensor,
  type ExportStepOptions,
  type ExportedStepModel,
  exportStepModel,
} from './onnx/export.js';
export { type GridTrainer, type OnnxGridTrainerOptions, createOnnxGridTrainer } from './onnx/grid.js';
export { type ConvStepModel, buildConvStepModel } from './onnx/conv-step.js';
export { nchwcBlockSize } from './onnx/nchwc.js';
export { type OnnxResNetTrainerOptions, createOnnxResNetTrainer } from './onnx/resnet-trainer.js';
export { type ResNetOptimizerOptions, resnetOptimizer } from './resnet-presets.js';
