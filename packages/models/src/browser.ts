/**
 * @narrownet/models — architectures as data, parameter trees, pure forward functions,
 * activations, losses, ONNX graphs with analytic gradients, and safetensors encoding: the
 * browser entry (the `browser` export condition) — everything but file I/O. Node's entry (the
 * index) adds the checkpoint files of `./node`.
 * @packageDocumentation
 */
export { type HostTensor, type ParamTree, hostTensor, sizeOf, cloneParams } from './tensor.js';
export { type Rng, createRng } from './rng.js';
export { type Activation, type ActivationName, type ActivationSpec, activation, erf } from './activations.js';
export { type LossName, type LossResult, LOSS_NAMES, loss64 } from './losses.js';
export { type ClassificationMetrics, classificationMetrics, labelsFromTargets } from './metrics.js';
export {
  type ModelSpec,
  type ShallowSpec,
  type PairedSpec,
  type MlpSpec,
  type PairedMlpSpec,
  type MlpLikeSpec,
  requireMlpLike,
  validateSpec,
  inputDim,
  outputDim,
  hiddenLayerCount,
  paramShapes,
  paramCount,
} from './spec.js';
export { type ParamArrays, forward64, hiddenOutputs64, lossAndGrad64 } from './reference.js';
export { OnnxGraph, type OnnxDType, type OnnxAttr, type OnnxConstant, attr } from './onnx/builder.js';
export { type TfParams, activateTf, forwardTf, lossTf, toTfParams, fromTfParams } from './tfjs.js';
export { type SafetensorsDType, decodeSafetensors, encodeSafetensors } from './safetensors.js';
export {
  type LoweringInputs,
  type LoweringOutputs,
  type LoweringOptions,
  type LoweredActivation,
  lowerActivationOnnx,
  lowerModelOnnx,
  buildLossGradModel,
} from './onnx/lower.js';
export {
  type ResNetSpec,
  type ResNetStage,
  type ResNetStem,
  type MaxPool2d,
  type ResNet18Options,
  type ConvPlan,
  type ConvLayer,
  type ConvValueShape,
  resnet18,
  planResNet,
  validateResNetSpec,
  convOutputSize,
  resnetParamShapes,
  resnetBufferShapes,
  resnetStageParams,
  initialBuffers,
  type ResNetSplit,
  splitResNet,
  planParamShapes,
  planBufferShapes,
} from './conv/spec.js';
export {
  type ConvRunOptions,
  type ConvForwardResult,
  type ConvLossGradResult,
  convForward64,
  convLossAndGrad64,
  convFeatures64,
} from './conv/reference.js';
export {
  type ConvLoweringInputs,
  type ConvLoweringOutputs,
  type Conv2dGeometry,
  type ConvLoweringOptions,
  lowerConv2dOnnx,
  lowerConvNetOnnx,
  buildConvLossGradModel,
  buildConvFeaturesModel,
} from './conv/lower.js';
export { type ConvForwardTf, convForwardTf } from './conv/tfjs.js';
