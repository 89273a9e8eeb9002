/**
 * @narrownet/engine — the one place that starts compute and picks a device: onnxruntime-node
 * for the training hot path, tfjs for the general path. Browser bundles get `./browser.ts`
 * (onnxruntime-web, tfjs's browser backends) through the `browser` export condition.
 * @packageDocumentation
 */
export * from './browser.js';
// Explicit exports shadow the browser entry's starters of the same names (ES module semantics).
export { startOnnx, startTfjs, type EngineOptions, startEngine } from './node.js';
export {
  type ElfDynamicInfo,
  readElfDynamic,
  type CudaCheckOptions,
  type CudaProviderReport,
  CUDA_PROVIDER_FILES,
  checkCudaProvider,
  librarySearchPath,
  onnxruntimeNodeDir,
} from './node.js';
