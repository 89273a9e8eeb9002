/**
 * @narrownet/engine/node — the Node starters: onnxruntime-node (CPU, WebGPU, CUDA execution
 * providers), tfjs's Node backends, and `startEngine`. The package index re-exports them.
 * @packageDocumentation
 */
export { startOnnx } from './onnx.js';
export { startTfjs } from './tfjs.js';
export { type EngineOptions, startEngine } from './engine.js';
export { type ElfDynamicInfo, readElfDynamic } from './elf.js';
export {
  type CudaCheckOptions,
  type CudaProviderReport,
  CUDA_PROVIDER_FILES,
  checkCudaProvider,
  librarySearchPath,
  onnxruntimeNodeDir,
} from './cuda.js';
