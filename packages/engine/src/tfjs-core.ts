import { EngineUnavailableError, shortReason } from './errors.js';

/** tfjs backends narrownet can start. `tensorflow` is tfjs-node, `tensorflow-gpu` is tfjs-node-gpu. */
export type TfjsBackend = 'cpu' | 'wasm' | 'tensorflow' | 'tensorflow-gpu' | 'webgpu';

/** Options of {@link startTfjs}. */
export interface TfjsEngineOptions {
  /** `auto` tries tensorflow-gpu, webgpu, tensorflow, wasm, cpu in that order. Default `auto`. */
  backend?: TfjsBackend | 'auto';
}

/** The tfjs-core module. */
export type TfModule = typeof import('@tensorflow/tfjs-core');

/** A started tfjs engine: `tf` runs on `backend`. */
export interface TfjsEngine {
  readonly kind: 'tfjs';
  readonly backend: TfjsBackend;
  readonly device: 'cpu' | 'gpu';
  readonly version: string;
  readonly tf: TfModule;
  /** One line naming engine, backend, device and version. */
  describe(): string;
}

const GPU_BACKENDS: readonly TfjsBackend[] = ['tensorflow-gpu', 'webgpu'];

/** What differs between the Node and browser builds of {@link startTfjsWith}. */
export interface TfjsBuild {
  /** Backends this build can start, in `auto` order. */
  backends: readonly TfjsBackend[];
  importBackend(backend: TfjsBackend): Promise<void>;
  registerGradients(tf: TfModule): Promise<void>;
  install: Record<TfjsBackend, string>;
}

/**
 * Starts tfjs on a backend of `build` and makes it the active one. A backend that is missing or cannot
 * start raises an {@link EngineUnavailableError} saying how to get it; `auto` takes the first
 * that starts, GPU first.
 */
export async function startTfjsWith(options: TfjsEngineOptions, build: TfjsBuild): Promise<TfjsEngine> {
  const want = options.backend ?? 'auto';
  const all = build.backends;
  if (want !== 'auto' && !all.includes(want)) {
    throw new RangeError(
      `startTfjs: backend must be one of auto, ${all.join(', ')}, got ${JSON.stringify(want)}`,
    );
  }
  const tf = (await import('@tensorflow/tfjs-core')) as TfModule;
  // Production mode: no debug checks and no "install tfjs-node" banner on the cpu backend.
  tf.enableProdMode();
  await build.registerGradients(tf);
  const candidates = want === 'auto' ? all : [want];
  const failures: string[] = [];
  for (const backend of candidates) {
    try {
      await build.importBackend(backend);
      if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend("${backend}") returned false`);
      await tf.ready();
      if (tf.getBackend() !== backend) throw new Error(`active backend is ${tf.getBackend()}`);
      return {
        kind: 'tfjs',
        backend,
        device: GPU_BACKENDS.includes(backend) ? 'gpu' : 'cpu',
        version: tf.version_core,
        tf,
        describe: () =>
          `tfjs ${tf.version_core} (backend ${backend}, ${GPU_BACKENDS.includes(backend) ? 'gpu' : 'cpu'})`,
      };
    } catch (err) {
      if (want !== 'auto') {
        throw new EngineUnavailableError(
          `tfjs backend "${backend}"`,
          shortReason(err),
          build.install[backend],
          {
            cause: err,
          },
        );
      }
      failures.push(`${backend}: ${shortReason(err)}`);
    }
  }
  throw new EngineUnavailableError('tfjs', `no backend started (${failures.join('; ')})`, build.install.cpu);
}
