import {
  type TfModule,
  type TfjsBackend,
  type TfjsEngine,
  type TfjsEngineOptions,
  startTfjsWith,
} from './tfjs-core.js';

const INSTALL: Record<TfjsBackend, string> = {
  cpu: 'It ships with @narrownet/engine (package @tensorflow/tfjs-backend-cpu); reinstall the workspace.',
  wasm: 'It ships with @narrownet/engine (package @tensorflow/tfjs-backend-wasm); serve its tfjs-backend-wasm*.wasm files beside the page (or call setWasmPaths).',
  tensorflow: 'tfjs-node runs in Node only; use cpu, wasm or webgpu in a browser.',
  'tensorflow-gpu': 'tfjs-node-gpu runs in Node only; use cpu, wasm or webgpu in a browser.',
  webgpu:
    "Import '@tensorflow/tfjs-backend-webgpu' in the page before startTfjs (it registers the backend), in a browser with navigator.gpu and a GPU adapter.",
};

async function importBackend(backend: TfjsBackend): Promise<void> {
  const tf = (await import('@tensorflow/tfjs-core')) as TfModule;
  if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else if (!tf.findBackendFactory(backend))
    throw new Error(`no tfjs backend "${backend}" is registered in this page`);
}

async function registerGradients(tf: TfModule): Promise<void> {
  if (tf.getGradient('Multiply')) return;
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
}

/**
 * Starts tfjs on a browser backend (`cpu`, `wasm`, or `webgpu` once the page has imported
 * `@tensorflow/tfjs-backend-webgpu`) and makes it the active one; `auto` tries webgpu, wasm,
 * cpu. A backend that cannot start raises an {@link EngineUnavailableError} saying why.
 */
export function startTfjs(options: TfjsEngineOptions = {}): Promise<TfjsEngine> {
  return startTfjsWith(options, {
    backends: ['webgpu', 'wasm', 'cpu'],
    importBackend,
    registerGradients,
    install: INSTALL,
  });
}
