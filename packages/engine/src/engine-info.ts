import { type OnnxDevice, type OnnxEngine, isGpuDevice } from './onnx-core.js';
import type { TfjsBackend, TfjsEngine } from './tfjs-core.js';

/** Either started engine. */
export type Engine = OnnxEngine | TfjsEngine;

/** What was started, for logs and result files. */
export interface EngineInfo {
  engine: 'onnx' | 'tfjs';
  /** onnxruntime execution provider or tfjs backend. */
  backend: OnnxDevice | TfjsBackend;
  device: 'cpu' | 'gpu';
  version: string;
}

/** Summarises a started engine as {@link EngineInfo}. */
export function engineInfo(engine: Engine): EngineInfo {
  if (engine.kind === 'onnx') {
    return {
      engine: 'onnx',
      backend: engine.device,
      device: isGpuDevice(engine.device) ? 'gpu' : 'cpu',
      version: engine.version,
    };
  }
  return { engine: 'tfjs', backend: engine.backend, device: engine.device, version: engine.version };
}
