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
    (m) => ((m as { default?: OrtModule }).default ?? m) as OrtModule,
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
  return openOnnx(ort, tried, want !== 'auto', options.threads ?? 0, (d) => HOW[d]);
}
