import { OnnxGraph, type OnnxDType } from '@narrownet/models';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { OnnxEngineLike } from './engine.js';

/**
 * How the fused trainers run on an execution provider: whether K steps per call are an ONNX
 * Loop or unrolled, and whether their state stays in device buffers between calls.
 */
export interface PlacementOptions {
  /**
   * Fuse K = `stepsPerCall` steps through an ONNX `Loop` (true) or as K unrolled copies of the
   * step in one graph (false). Default: true, except on WebGPU, which has no `Loop` kernel (a Loop
   * there runs on the CPU and its body crosses the bus at every step). Both give the same iterates.
   */
  loop?: boolean;
  /**
   * Keep parameters, optimizer slots, step count, data, anchors and hyperparameters as device
   * buffers between calls (onnxruntime's `preferredOutputLocation: 'gpu-buffer'` for the step
   * outputs; inputs are uploaded once, and the loss downloaded when asked, through Identity
   * sessions), so a step moves nothing across the bus but its mini-batch indices and, when asked,
   * the loss. Default: true on WebGPU
   * (the one provider whose device buffers onnxruntime-node 1.30 hands to JavaScript), false
   * elsewhere. On the CPU execution provider the same code path runs with host memory as the
   * "device" (onnxruntime returns CPU tensors there), which is what the CPU tests exercise.
   */
  resident?: boolean;
}

/** The resolved {@link PlacementOptions}. */
export interface Placement {
  loop: boolean;
  resident: boolean;
}

/** Resolves the placement options against the engine's device; errors name the option. */
export function resolvePlacement(
  engine: OnnxEngineLike,
  options: PlacementOptions,
  where: string,
): Placement {
  for (const key of ['loop', 'resident'] as const) {
    const v = options[key];
    if (v !== undefined && typeof v !== 'boolean')
      throw new TypeError(`${where}: options.${key} must be a boolean, got ${JSON.stringify(v)}`);
  }
  const webgpu = engine.device === 'webgpu';
  return { loop: options.loop ?? !webgpu, resident: options.resident ?? webgpu };
}

/** Moves tensors between host and device for a trainer whose state may live on the device. */
export interface StateTransfer {
  readonly resident: boolean;
  /**
   * Session options of a step session: with residency every output stays on the device
   * (onnxruntime-node binds all outputs when any has a preferred location, so the losses too;
   * {@link StateTransfer.download} brings one to the host when asked).
   */
  stepOptions(base: InferenceSession.SessionOptions): InferenceSession.SessionOptions;
  /** Host tensors → device tensors (the same tensors without residency). */
  upload(tensors: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  /** Float32 tensors (host or device) → fresh host copies of their data. */
  download(tensors: Record<string, Tensor>): Promise<Record<string, Float32Array>>;
  /** Frees the device memory of tensors no longer used (host tensors are left to the GC). */
  release(tensors: Iterable<Tensor>): void;
  /** Releases the transfer sessions. */
  dispose(): Promise<void>;
}

function identityModel(signature: readonly { dtype: OnnxDType; rank: number }[]): Uint8Array {
  const g = new OnnxGraph('transfer');
  for (const [j, { dtype, rank }] of signature.entries()) {
    const shape = Array.from({ length: rank }, (_, r) => `d${j}_${r}`);
    const x = g.input(`i${j}`, dtype, shape);
    g.output(g.op('Identity', [x]), dtype, shape, `o${j}`);
  }
  return g.toModel();
}

/**
 * The {@link StateTransfer} of a trainer: without residency a pass-through; with it, Identity
 * sessions (one per tensor signature, cached) whose outputs are device buffers (upload) or host
 * memory (download).
 */
export function createTransfer(
  engine: OnnxEngineLike,
  resident: boolean,
  base: InferenceSession.SessionOptions,
): StateTransfer {
  const sessions = new Map<string, Promise<InferenceSession>>();
  // the transfer sessions are not part of the step: keep them out of a profile
  const { enableProfiling: _profiling, profileFilePrefix: _prefix, ...identityBase } = base;
  const identity = async (
    tensors: Record<string, Tensor>,
    location: 'gpu-buffer' | 'cpu',
  ): Promise<Record<string, Tensor>> => {
    const names = Object.keys(tensors);
    if (names.length === 0) return {};
    const signature = names.map((n) => ({
      dtype: tensors[n]!.type as OnnxDType,
      rank: tensors[n]!.dims.length,
    }));
    const key = `${location}:${signature.map((s) => `${s.dtype}/${s.rank}`).join(',')}`;
    let session = sessions.get(key);
    if (!session) {
      session = engine.createSession(identityModel(signature), {
        ...identityBase,
        preferredOutputLocation: location,
      });
      sessions.set(key, session);
    }
    const out = await (await session).run(Object.fromEntries(names.map((n, j) => [`i${j}`, tensors[n]!])));
    return Object.fromEntries(names.map((n, j) => [n, out[`o${j}`]!]));
  };
  return {
    resident,
    stepOptions: (so) => (resident ? { ...so, preferredOutputLocation: 'gpu-buffer' } : so),
    upload: async (tensors) => (resident ? identity(tensors, 'gpu-buffer') : tensors),
    async download(tensors) {
      const host = resident ? await identity(tensors, 'cpu') : tensors;
      const out: Record<string, Float32Array> = {};
      for (const [n, t] of Object.entries(host)) out[n] = Float32Array.from(t.data as Float32Array);
      return out;
    },
    release(tensors) {
      for (const t of tensors) if (t.location === 'gpu-buffer') t.dispose();
    },
    async dispose() {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map(async (s) => (await s).release()));
    },
  };
}
