import { existsSync } from 'node:fs';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { EngineUnavailableError, shortReason } from './errors.js';

/** Devices onnxruntime can run narrownet's graphs on. */
export type OnnxDevice = 'cpu' | 'webgpu' | 'cuda';

/** Options of {@link startOnnx}. */
export interface OnnxEngineOptions {
  /** `auto` tries cuda, then webgpu, then cpu, and keeps the first that starts. Default `cpu`. */
  device?: OnnxDevice | 'auto';
  /** Intra-op threads of the CPU execution provider; default: all cores (onnxruntime's default). */
  threads?: number;
}

/** The onnxruntime-node module, typed by onnxruntime-common. */
export type OrtModule = typeof import('onnxruntime-common');

/** A started onnxruntime engine. Sessions it creates run on its device. */
export interface OnnxEngine {
  readonly kind: 'onnx';
  readonly device: OnnxDevice;
  /** onnxruntime version in use. */
  readonly version: string;
  /** The onnxruntime module, for `Tensor` construction and advanced use. */
  readonly ort: OrtModule;
  /** Intra-op threads (0 = onnxruntime's default). */
  readonly threads: number;
  /** Creates a session for a serialised ONNX model on this engine's device. */
  createSession(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  /** A float32 tensor of the given shape (data is used, not copied). */
  tensor(data: Float32Array, shape: readonly number[]): Tensor;
  /** One line naming engine, device and version. */
  describe(): string;
}

let ortModule: Promise<OrtModule> | undefined;

async function loadOrt(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node').then(
    (m) => {
      const ort = ((m as { default?: OrtModule }).default ?? m) as OrtModule;
      // onnxruntime's logger prints raw lines to stderr (a missing CUDA provider library, ...)
      // before the exception carrying the same message reaches startOnnx, which turns it into a
      // clear error: keep only fatal lines. The level is read once, when the first session is
      // created; a level the caller set on `ort.env.logLevel` (other than the default) is kept.
      if (ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';
      return ort;
    },
    (err) => {
      ortModule = undefined;
      throw new EngineUnavailableError(
        'onnxruntime (package onnxruntime-node)',
        shortReason(err),
        'Install it with `pnpm add onnxruntime-node` (set ONNXRUNTIME_NODE_INSTALL_CUDA=skip where its install script cannot reach the CUDA download); the CPU execution provider ships inside the npm package.',
        { cause: err },
      );
    },
  );
  return ortModule;
}

/** A 1×1 Identity model (made with @narrownet/models' OnnxGraph) used to prove an execution provider really starts. */
const PROBE_MODEL = Uint8Array.from([
  8, 8, 18, 9, 110, 97, 114, 114, 111, 119, 110, 101, 116, 26, 5, 48, 46, 49, 46, 48, 58, 67, 10, 16, 10, 1,
  120, 18, 1, 121, 34, 8, 73, 100, 101, 110, 116, 105, 116, 121, 18, 5, 112, 114, 111, 98, 101, 90, 19, 10, 1,
  120, 18, 14, 10, 12, 8, 1, 18, 8, 10, 2, 8, 1, 10, 2, 8, 1, 98, 19, 10, 1, 121, 18, 14, 10, 12, 8, 1, 18, 8,
  10, 2, 8, 1, 10, 2, 8, 1, 66, 4, 10, 0, 16, 18,
]);

const HOW: Record<Exclude<OnnxDevice, 'cpu'>, string> = {
  cuda: 'The CUDA execution provider needs an NVIDIA GPU with its driver, CUDA 12 and cuDNN 9, and onnxruntime-node installed with its CUDA libraries (run its install script with network access: `ONNXRUNTIME_NODE_INSTALL_CUDA=v12 npm rebuild onnxruntime-node`). Use device "cpu" to run without a GPU.',
  webgpu:
    'The WebGPU execution provider (Dawn, bundled in onnxruntime-node for Linux, Windows and macOS) needs a GPU adapter: a Vulkan driver and loader on Linux (Debian: `apt-get install libvulkan1 mesa-vulkan-drivers`, or the NVIDIA driver), Metal on macOS, D3D12 on Windows. Use device "cpu" to run without a GPU.',
};

/**
 * On Linux the WebGPU provider (Dawn) needs the Vulkan loader; without it Dawn prints a raw
 * warning to stderr before failing. Ask the dynamic loader first (the same search Dawn does):
 * the reason of the failure, or undefined when the loader is there.
 */
function vulkanLoaderMissing(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    process.dlopen({ exports: {} }, 'libvulkan.so.1');
  } catch (err) {
    // a library that loads but is no Node addon fails later with "did not self-register"
    const msg = (err as Error).message;
    if (/cannot open shared object/.test(msg)) return `the Vulkan loader is not installed (${msg})`;
  }
  return undefined;
}

async function probe(ort: OrtModule, device: OnnxDevice, threads: number): Promise<void> {
  const missing = device === 'webgpu' ? vulkanLoaderMissing() : undefined;
  if (missing) throw new Error(missing);
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

function sessionOptions(device: OnnxDevice, threads: number): InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
}

/**
 * Whether probing a device can succeed at all. On Linux a GPU needs its device nodes (NVIDIA:
 * /dev/nvidiactl; other Vulkan GPUs: /dev/dri); where they are absent, `auto` skips the GPU
 * probes instead of letting onnxruntime and Dawn print load errors. Explicit requests always probe.
 */
function gpuMayExist(device: string): boolean {
  if (device === 'cpu' || process.platform !== 'linux') return true;
  if (device === 'cuda') return existsSync('/dev/nvidiactl');
  return existsSync('/dev/nvidiactl') || existsSync('/dev/dri');
}

/**
 * Starts onnxruntime on a device, proving the device works by running a probe model. A device
 * that is missing or cannot start raises an {@link EngineUnavailableError} saying how to get it.
 */
export async function startOnnx(options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  const threads = options.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`startOnnx: threads must be a non-negative integer, got ${options.threads}`);
  }
  const want = options.device ?? 'cpu';
  const allowed = ['cpu', 'webgpu', 'cuda', 'auto'];
  if (!allowed.includes(want))
    throw new RangeError(
      `startOnnx: device must be one of ${allowed.join(', ')}, got ${JSON.stringify(want)}`,
    );
  const ort = await loadOrt();
  const candidates: OnnxDevice[] =
    want === 'auto' ? (['cuda', 'webgpu', 'cpu'] as const).filter(gpuMayExist) : [want];
  let device: OnnxDevice | undefined;
  for (const c of candidates) {
    try {
      await probe(ort, c, threads);
      device = c;
      break;
    } catch (err) {
      if (want !== 'auto') {
        throw new EngineUnavailableError(
          `onnxruntime execution provider "${c}"`,
          shortReason(err),
          c === 'cpu' ? 'Reinstall onnxruntime-node.' : HOW[c],
          { cause: err },
        );
      }
    }
  }
  if (!device)
    throw new EngineUnavailableError(
      'onnxruntime',
      'no execution provider started',
      'Reinstall onnxruntime-node.',
    );
  const version = (ort.env.versions as { node?: string; common?: string }).node ?? ort.env.versions.common;
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
