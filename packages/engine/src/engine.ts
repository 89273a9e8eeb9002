import type { Engine } from './engine-info.js';
import type { OnnxDevice } from './onnx-core.js';
import { startOnnx } from './onnx.js';
import type { TfjsBackend } from './tfjs-core.js';
import { startTfjs } from './tfjs.js';

/** Which compute to start. */
export interface EngineOptions {
  /** `onnx` (training hot path), `tfjs` (general path) or `auto` (onnx, then tfjs). Default `auto`. */
  engine?: 'onnx' | 'tfjs' | 'auto';
  /** `gpu` demands a GPU device, `cpu` forbids one, `auto` prefers a GPU that starts. Default `auto`. */
  device?: 'cpu' | 'gpu' | 'auto';
  /** CPU threads for onnxruntime (0 = its default: all cores). */
  threads?: number;
}

/**
 * Starts the best engine that actually starts for the request: GPU first when `device` allows
 * it, onnxruntime before tfjs. Missing pieces raise an EngineUnavailableError naming them.
 */
export async function startEngine(options: EngineOptions = {}): Promise<Engine> {
  const engine = options.engine ?? 'auto';
  const device = options.device ?? 'auto';
  if (!['onnx', 'tfjs', 'auto'].includes(engine))
    throw new RangeError(`startEngine: engine must be onnx, tfjs or auto, got ${JSON.stringify(engine)}`);
  if (!['cpu', 'gpu', 'auto'].includes(device))
    throw new RangeError(`startEngine: device must be cpu, gpu or auto, got ${JSON.stringify(device)}`);
  const onnxDevices: (OnnxDevice | 'auto')[] =
    device === 'cpu' ? ['cpu'] : device === 'gpu' ? ['cuda', 'webgpu'] : ['auto'];
  const tfBackends: (TfjsBackend | 'auto')[] =
    device === 'cpu' ? ['wasm', 'cpu'] : device === 'gpu' ? ['tensorflow-gpu', 'webgpu'] : ['auto'];
  const errors: unknown[] = [];
  if (engine !== 'tfjs') {
    for (const d of onnxDevices) {
      try {
        return await startOnnx({ device: d, threads: options.threads });
      } catch (err) {
        errors.push(err);
      }
    }
  }
  if (engine !== 'onnx') {
    for (const b of tfBackends) {
      try {
        return await startTfjs({ backend: b });
      } catch (err) {
        errors.push(err);
      }
    }
  }
  throw errors.length === 1
    ? errors[0]
    : new AggregateError(
        errors,
        `startEngine: nothing started for engine=${engine}, device=${device}: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join(' | ')}`,
      );
}
