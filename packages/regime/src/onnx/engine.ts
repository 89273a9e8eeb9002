import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { TrainerInfo } from '../trainer.js';

/** The onnxruntime `Tensor` constructor (from `onnxruntime-node`, typed by onnxruntime-common). */
export type OrtTensorConstructor = typeof Tensor;

/**
 * What the ONNX trainers need from an engine, declared structurally so that @narrownet/regime
 * never starts one itself: `startOnnx()` of @narrownet/engine returns such an object, and so does
 * `{ ort, createSession: (b, o) => ort.InferenceSession.create(b, o) }` around a user's own
 * onnxruntime module.
 */
export interface OnnxEngineLike {
  /** The onnxruntime module (only its `Tensor` constructor is used). */
  readonly ort: { readonly Tensor: OrtTensorConstructor };
  /** Creates an inference session for a serialised ONNX model. */
  createSession(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  /** Execution provider name, reported in `TrainerInfo.backend` (default `cpu`). */
  readonly device?: string;
}

/** Checks that `engine` looks like an {@link OnnxEngineLike}, naming what is missing. */
export function checkEngine(engine: OnnxEngineLike, where: string): void {
  if (engine === null || typeof engine !== 'object')
    throw new TypeError(`${where}: engine must be an onnxruntime engine (startOnnx() of @narrownet/engine)`);
  if (typeof engine.createSession !== 'function')
    throw new TypeError(
      `${where}: engine.createSession must be a function (startOnnx() of @narrownet/engine)`,
    );
  if (!engine.ort || typeof engine.ort.Tensor !== 'function')
    throw new TypeError(`${where}: engine.ort must be the onnxruntime module (with its Tensor constructor)`);
}

/** onnxruntime execution providers that run on a GPU; the rest (`cpu`, `wasm`, `xnnpack`) run on the CPU. */
const GPU_PROVIDERS: readonly string[] = ['webgpu', 'webgl', 'cuda', 'tensorrt', 'dml', 'rocm', 'migraphx'];

/** The {@link TrainerInfo} of an ONNX trainer on `engine`: its provider, and the device that provider runs on. */
export function onnxTrainerInfo(engine: OnnxEngineLike): TrainerInfo {
  const backend = engine.device ?? 'cpu';
  return { engine: 'onnx', backend, device: GPU_PROVIDERS.includes(backend) ? 'gpu' : 'cpu' };
}
