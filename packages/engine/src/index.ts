/**
 * @narrownet/engine — the one place that starts compute and picks a device: onnxruntime-node
 * for the training hot path, tfjs for the general path.
 * @packageDocumentation
 */
export { EngineUnavailableError } from './errors.js';
export { type ElfDynamicInfo, readElfDynamic } from './elf.js';
export {
  type CudaCheckOptions,
  type CudaProviderReport,
  CUDA_PROVIDER_FILES,
  checkCudaProvider,
  librarySearchPath,
  onnxruntimeNodeDir,
} from './cuda.js';
export {
  type OnnxDevice,
  type OnnxEngine,
  type OnnxEngineOptions,
  type OrtModule,
  startOnnx,
} from './onnx.js';
export {
  type TfjsBackend,
  type TfjsEngine,
  type TfjsEngineOptions,
  type TfModule,
  startTfjs,
} from './tfjs.js';
export { type Engine, type EngineInfo, type EngineOptions, engineInfo, startEngine } from './engine.js';
