import { EngineUnavailableError } from './errors.js';
import { type OnnxEngine, type OnnxEngineOptions, checkOnnxOptions, openOnnx } from './onnx-core.js';

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown> };
}

const WASM_FIX =
  "Serve onnxruntime-web's ort-wasm-*.wasm/.mjs files beside the page (or set ort.env.wasm.wasmPaths to where they are).";
const WEBGPU_FIX =
  'WebGPU needs a browser that exposes navigator.gpu and a GPU adapter (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows), and onnxruntime-web\'s WebGPU build (`onnxruntime-web/webgpu` or the default bundle). Use device "wasm" to run on the CPU.';

async function hasGpuAdapter(): Promise<boolean> {
  const nav = (globalThis as { navigator?: GpuNavigator }).navigator;
  if (!nav?.gpu) return false;
  try {
    return Boolean(await nav.gpu.requestAdapter());
  } catch {
    return false;
  }
}

/**
 * Starts onnxruntime-web (the module given as `ort`) on `wasm` (default) or `webgpu`, proving the
 * device works by running a probe model; `auto` takes webgpu where the browser gives a GPU
 * adapter, else wasm. `threads` sets `ort.env.wasm.numThreads` (before any session exists);
 * more than one thread needs a cross-origin isolated page (COOP/COEP headers), else this raises
 * an {@link EngineUnavailableError} rather than quietly running on one.
 */
export async function startOnnx(options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  checkOnnxOptions(options, ['wasm', 'webgpu', 'auto']);
  const ort = options.ort;
  if (!ort || typeof ort.InferenceSession?.create !== 'function')
    throw new TypeError(
      "startOnnx (browser build): options.ort must be the onnxruntime-web module, e.g. `await import('onnxruntime-web/wasm')`",
    );
  const threads = options.threads ?? 0;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (threads > 1 && !isolated)
    throw new EngineUnavailableError(
      `onnxruntime-web with ${threads} threads`,
      'the page is not cross-origin isolated, so WebAssembly threads (SharedArrayBuffer) are off',
      'Serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or use threads: 1.',
    );
  const wasmEnv = (ort.env as { wasm?: { numThreads?: number } }).wasm;
  if (wasmEnv && threads > 0) wasmEnv.numThreads = threads;
  const want = options.device ?? 'wasm';
  const gpu = want !== 'wasm' && (await hasGpuAdapter());
  if (want === 'webgpu' && !gpu)
    throw new EngineUnavailableError(
      'onnxruntime-web device "webgpu"',
      'navigator.gpu gave no adapter',
      WEBGPU_FIX,
    );
  const candidates = want === 'auto' ? (gpu ? (['webgpu', 'wasm'] as const) : (['wasm'] as const)) : [want];
  return openOnnx(ort, candidates, want !== 'auto', threads, (d) => (d === 'webgpu' ? WEBGPU_FIX : WASM_FIX));
}
