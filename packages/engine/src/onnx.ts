import { existsSync } from 'node:fs';
import { checkCudaProvider } from './cuda.js';
import { EngineUnavailableError, shortReason } from './errors.js';
import {
  type OnnxDevice,
  type OnnxEngine,
  type OnnxEngineOptions,
  type OrtModule,
  checkOnnxOptions,
  openOnnx,
} from './onnx-core.js';

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

const HOW: Record<OnnxDevice, string> = {
  cpu: 'Reinstall onnxruntime-node.',
  wasm: 'The wasm device is onnxruntime-web\'s, in a browser: use the browser build of @narrownet/engine (bundlers pick it by the "browser" export condition).',
  cuda: 'The CUDA execution provider needs an NVIDIA GPU with its driver, the CUDA runtime and cuDNN its provider library was built for, and that provider library beside onnxruntime-node (see @narrownet/engine README, "CUDA"). Use device "webgpu" or "cpu" otherwise.',
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
 * Starts onnxruntime (onnxruntime-node, or the module given as `ort`) on a device, proving the
 * device works by running a probe model. A device that is missing or cannot start raises an
 * {@link EngineUnavailableError} saying how to get it.
 */
export async function startOnnx(options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  checkOnnxOptions(options, ['cpu', 'webgpu', 'cuda', 'auto']);
  const want = options.device ?? 'cpu';
  const ort = options.ort ?? (await loadOrt());
  const candidates: OnnxDevice[] =
    want === 'auto' ? (['cuda', 'webgpu', 'cpu'] as const).filter(gpuMayExist) : [want];
  // Before onnxruntime tries to load the CUDA provider, read which libraries it links against
  // and say precisely what is missing (onnxruntime itself only reports a failed dlopen).
  let tried = candidates;
  if (candidates.includes('cuda') && process.platform === 'linux' && !options.ort) {
    const report = checkCudaProvider();
    if (!report.ok) {
      if (want === 'cuda')
        throw new EngineUnavailableError(
          'onnxruntime execution provider "cuda"',
          'its libraries are incomplete',
          report.message,
        );
      tried = candidates.filter((c) => c !== 'cuda');
    }
  }
  // Dawn prints a raw warning before failing without the Vulkan loader: check for it first.
  const vulkan = tried.includes('webgpu') && !options.ort ? vulkanLoaderMissing() : undefined;
  if (vulkan) {
    if (want === 'webgpu')
      throw new EngineUnavailableError('onnxruntime execution provider "webgpu"', vulkan, HOW.webgpu);
    tried = tried.filter((c) => c !== 'webgpu');
  }
  return openOnnx(ort, tried, want !== 'auto', options.threads ?? 0, (d) => HOW[d]);
}
