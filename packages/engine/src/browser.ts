/**
 * @narrownet/engine — the one place that starts compute and picks a device: the browser entry
 * (the `browser` export condition). `startOnnx` runs onnxruntime-web (passed as `ort`) on WASM
 * or WebGPU; `startTfjs` starts tfjs's browser backends.
 * @packageDocumentation
 */
export { EngineUnavailableError } from './errors.js';
export {
  type OnnxDevice,
  type OnnxEngine,
  type OnnxEngineOptions,
  type OrtModule,
  isGpuDevice,
} from './onnx-core.js';
export { startOnnx } from './onnx-browser.js';
export type { TfjsBackend, TfjsEngine, TfjsEngineOptions, TfModule } from './tfjs-core.js';
export { startTfjs } from './tfjs-browser.js';
export { type Engine, type EngineInfo, engineInfo } from './engine-info.js';
