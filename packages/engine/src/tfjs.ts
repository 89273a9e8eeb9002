import {
  type TfModule,
  type TfjsBackend,
  type TfjsEngine,
  type TfjsEngineOptions,
  startTfjsWith,
} from './tfjs-core.js';

const INSTALL: Record<TfjsBackend, string> = {
  cpu: 'It ships with @narrownet/engine (package @tensorflow/tfjs-backend-cpu); reinstall the workspace.',
  wasm: 'It ships with @narrownet/engine (package @tensorflow/tfjs-backend-wasm); reinstall the workspace.',
  tensorflow:
    'Install `@tensorflow/tfjs-node` beside @narrownet/engine and let its install script run (it downloads libtensorflow, so it needs network access to storage.googleapis.com; with pnpm, allow it in onlyBuiltDependencies).',
  'tensorflow-gpu':
    'Install `@tensorflow/tfjs-node-gpu` beside @narrownet/engine on a machine with an NVIDIA GPU, its driver, CUDA 11.2 and cuDNN 8.1, and let its install script download libtensorflow (GPU build).',
  webgpu:
    'Install `@tensorflow/tfjs-backend-webgpu` and the `webgpu` package (Dawn bindings for Node) beside @narrownet/engine; a GPU adapter is needed (Vulkan driver and loader on Linux: `apt-get install libvulkan1 mesa-vulkan-drivers`).',
};

async function importBackend(backend: TfjsBackend): Promise<void> {
  switch (backend) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return;
    case 'tensorflow':
      await import('@tensorflow/tfjs-node' as string);
      return;
    case 'tensorflow-gpu':
      await import('@tensorflow/tfjs-node-gpu' as string);
      return;
    case 'webgpu': {
      const dawn = (await import('webgpu' as string)) as {
        create(flags: string[]): unknown;
        globals: Record<string, unknown>;
      };
      Object.assign(globalThis, dawn.globals);
      const g = globalThis as unknown as { navigator?: Record<string, unknown> };
      g.navigator ??= {};
      const nav = g.navigator;
      if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: dawn.create([]), configurable: true });
      await import('@tensorflow/tfjs-backend-webgpu' as string);
      const adapter = await (nav.gpu as { requestAdapter(): Promise<unknown> }).requestAdapter();
      if (!adapter)
        throw new Error('navigator.gpu.requestAdapter() returned no adapter (no GPU, or no Vulkan driver)');
      return;
    }
  }
}

/**
 * tfjs-core keeps its gradient functions in a separate ESM module that only bundlers (and the
 * full @tensorflow/tfjs package) load; without it tf.grads fails with "gradient function not
 * found". The built engine bundles that module (tsup.config.ts), so this import works in plain
 * Node (ESM and CommonJS) as well as in vitest, bundlers and browsers.
 */
async function registerGradients(tf: TfModule): Promise<void> {
  if (tf.getGradient('Multiply')) return;
  try {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
    return;
  } catch {
    // fall through to the full package
  }
  try {
    await import('@tensorflow/tfjs' as string);
  } catch {
    // forward passes work without gradients; tf.grads will say which gradient is missing
  }
}

/**
 * Starts tfjs on a backend and makes it the active one. A backend that is missing or cannot
 * start raises an {@link EngineUnavailableError} saying how to get it; `auto` takes the first
 * that starts, GPU first.
 */
export function startTfjs(options: TfjsEngineOptions = {}): Promise<TfjsEngine> {
  return startTfjsWith(options, {
    backends: ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'],
    importBackend,
    registerGradients,
    install: INSTALL,
  });
}
