import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { EngineUnavailableError, shortReason } from './errors.js';

/**
 * Devices onnxruntime can run narrownet's graphs on: `cpu` (onnxruntime-node's CPU provider),
 * `wasm` (onnxruntime-web's WebAssembly backend, on the CPU), `webgpu` (a GPU through WebGPU:
 * Dawn in onnxruntime-node, the browser's in onnxruntime-web), `cuda` (onnxruntime-node).
 */
export type OnnxDevice = 'cpu' | 'wasm' | 'webgpu' | 'cuda';

/** Options of {@link startOnnx}. */
export interface OnnxEngineOptions {
  /**
   * Node: `cpu` (default), `webgpu`, `cuda`, or `auto` (tries cuda, then webgpu, then cpu, and
   * keeps the first that starts). Browser build: `wasm` (default), `webgpu`, or `auto` (webgpu
   * where the browser gives a GPU adapter, else wasm).
   */
  device?: OnnxDevice | 'auto';
  /**
   * CPU threads: intra-op threads of the CPU provider (Node), or `ort.env.wasm.numThreads`
   * (browser; more than 1 needs a cross-origin isolated page). Default 0: onnxruntime's default.
   */
  threads?: number;
  /**
   * The onnxruntime module to use. Node: default `onnxruntime-node`. Browser build: required,
   * e.g. `await import('onnxruntime-web/wasm')` (WASM only, the smaller and faster bundle) or
   * `await import('onnxruntime-web/webgpu')`.
   */
  ort?: OrtModule;
}

/** An onnxruntime module (onnxruntime-node or onnxruntime-web), typed by onnxruntime-common. */
export type OrtModule = typeof import('onnxruntime-common');

/** A started onnxruntime engine. Sessions it creates run on its device. */
export interface OnnxEngine {
  readonly kind: 'onnx';
  readonly device: OnnxDevice;
  /** onnxruntime version in use. */
  readonly version: string;
  /** The onnxruntime module, for `Tensor` construction and advanced use. */
  readonly ort: OrtModule;
  /** CPU threads (0 = onnxruntime's default). */
  readonly threads: number;
  /** Creates a session for a serialised ONNX model on this engine's device. */
  createSession(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  /** A float32 tensor of the given shape (data is used, not copied). */
  tensor(data: Float32Array, shape: readonly number[]): Tensor;
  /** One line naming engine, device and version. */
  describe(): string;
}

/** Whether a device runs on a GPU (`wasm` and `cpu` run on the CPU). */
export function isGpuDevice(device: string): boolean {
  return device === 'webgpu' || device === 'cuda';
}

/** A 1×1 Identity model (made with @narrownet/models' OnnxGraph) used to prove an execution provider really starts. */
const PROBE_MODEL = Uint8Array.from([
  8, 8, 18, 9, 110, 97, 114, 114, 111, 119, 110, 101, 116, 26, 5, 48, 46, 49, 46, 48, 58, 67, 10, 16, 10, 1,
  120, 18, 1, 121, 34, 8, 73, 100, 101, 110, 116, 105, 116, 121, 18, 5, 112, 114, 111, 98, 101, 90, 19, 10, 1,
  120, 18, 14, 10, 12, 8, 1, 18, 8, 10, 2, 8, 1, 10, 2, 8, 1, 98, 19, 10, 1, 121, 18, 14, 10, 12, 8, 1, 18, 8,
  10, 2, 8, 1, 10, 2, 8, 1, 66, 4, 10, 0, 16, 18,
]);

function sessionOptions(device: OnnxDevice, threads: number): InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    ...(threads > 0 && device === 'cpu' ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
}

async function probe(ort: OrtModule, device: OnnxDevice, threads: number): Promise<void> {
  const session = await ort.InferenceSession.create(PROBE_MODEL, {
    ...sessionOptions(device, threads),
    logSeverityLevel: 4,
  });
  const x = new ort.Tensor('float32', Float32Array.from([1]), [1, 1]);
  const out = await session.run({ x });
  if ((out.y?.data as Float32Array | undefined)?.[0] !== 1)
    throw new Error('probe model returned a wrong value');
  await session.release();
}

/** Checks `threads` and `device` against the devices a build offers. */
export function checkOnnxOptions(options: OnnxEngineOptions, allowed: readonly string[]): void {
  const threads = options.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`startOnnx: threads must be a non-negative integer, got ${options.threads}`);
  }
  const want = options.device;
  if (want !== undefined && !allowed.includes(want))
    throw new RangeError(
      `startOnnx: device must be one of ${allowed.join(', ')}, got ${JSON.stringify(want)}`,
    );
}

/**
 * Probes the candidate devices in order and returns an engine on the first that starts. With
 * `explicit` (one device asked for by name) its failure raises an {@link EngineUnavailableError}
 * with `howTo(device)` as the fix.
 */
export async function openOnnx(
  ort: OrtModule,
  candidates: readonly OnnxDevice[],
  explicit: boolean,
  threads: number,
  howTo: (device: OnnxDevice) => string,
): Promise<OnnxEngine> {
  let device: OnnxDevice | undefined;
  for (const c of candidates) {
    try {
      await probe(ort, c, threads);
      device = c;
      break;
    } catch (err) {
      if (explicit) {
        throw new EngineUnavailableError(
          `onnxruntime execution provider "${c}"`,
          shortReason(err),
          howTo(c),
          {
            cause: err,
          },
        );
      }
    }
  }
  if (!device) throw new EngineUnavailableError('onnxruntime', 'no execution provider started', howTo('cpu'));
  const versions = ort.env.versions as { node?: string; web?: string; common?: string };
  const version = versions.node ?? versions.web ?? versions.common ?? 'unknown';
  const dev = device;
  return {
    kind: 'onnx',
    device: dev,
    version,
    ort,
    threads,
    createSession: (model, extra) =>
      ort.InferenceSession.create(model, { ...sessionOptions(dev, threads), ...extra }),
    tensor: (data, shape) => new ort.Tensor('float32', data, [...shape]),
    describe: () =>
      `onnxruntime ${version} (execution provider ${dev}${threads ? `, ${threads} threads` : ''})`,
  };
}
