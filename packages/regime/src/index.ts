/**
 * @narrownet/regime — the training loop and the papers' regimes as composable presets.
 * @packageDocumentation
 */
export type { Trainer, TrainerConfig, TrainerInfo, TrainerState } from './trainer.js';
export { type RegimeSpec, type StoppingSpec, validateRegime } from './regime.js';
export {
  type CommonPresetOptions,
  type ShallowPresetOptions,
  type VConstraint,
  type Zhang2021Options,
  type KawaguchiHuangOptions,
  type SongOptions,
  zhang2021,
  regular,
  constrainedRegular,
  kawaguchiHuang,
  kawaguchiHuangCz,
  song,
} from './presets.js';
export { type TfModule, batchIndices, createTfjsTrainer } from './tfjs-trainer.js';
export {
  type TrainData,
  type TrainerFactory,
  type GroupMetrics,
  type StepMetrics,
  type TrainOptions,
  type TrainResult,
  train,
  saveTrainCheckpoint,
  loadTrainCheckpoint,
} from './train.js';
export type { OnnxEngineLike, OrtTensorConstructor } from './onnx/engine.js';
export { type OnnxTrainerOptions, createOnnxTrainer } from './onnx/trainer.js';
export type { PlacementOptions } from './onnx/placement.js';
export { type GridTrainer, type OnnxGridTrainerOptions, createOnnxGridTrainer } from './onnx/grid.js';
