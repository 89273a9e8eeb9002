import { existsSync } from 'node:fs';
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
  cuda: 'The CUDA execution provider needs an NVIDIA GPU with its driver, CUDA 12 and cuDNN 9, and onnxruntime-node installed with its CUDA libraries (run its install script with network access: `ONNXRUNTIME_NODE_INSTALL_CUDA=v12 npm rebuild onnxruntime-node`). Use device "cpu" to run without a GPU.',
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
  return openOnnx(ort, candidates, want !== 'auto', options.threads ?? 0, (d) => HOW[d]);
}
