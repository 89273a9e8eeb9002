import { OnnxGraph, lowerConv2dOnnx } from '@narrownet/models';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { type OnnxEngineLike, checkEngine, onnxTrainerInfo } from './engine.js';

/** The channel blocks MLAS's NCHWc kernels use: 16 (AVX-512), 8 (AVX2 / SSE / NEON builds). */
const CANDIDATE_BLOCKS = [16, 8] as const;

const found = new WeakMap<object, Promise<number | undefined>>();

/** A small deterministic conv problem: x [2, 2B, 5, 5], W [2B, 2B, 3, 3] with irrational-ish entries. */
function probeFeeds(engine: OnnxEngineLike, block: number): Record<string, Tensor> {
  const c = 2 * block;
  const x = Float32Array.from({ length: 2 * c * 25 }, (_, i) => Math.sin(0.37 * i + 0.1));
  const w = Float32Array.from({ length: c * c * 9 }, (_, i) => 0.1 * Math.cos(0.53 * i + 0.2));
  return {
    X: new engine.ort.Tensor('float32', x, [2, c, 5, 5]),
    W: new engine.ort.Tensor('float32', w, [c, c, 3, 3]),
  };
}

/** The model of one 3×3 stride-2 convolution (padding 1) of x by W, NCHWc with `block` or plain. */
function probeModel(block: number, nchwc: boolean): Uint8Array {
  const c = 2 * block;
  const g = new OnnxGraph('nchwcprobe');
  const X = g.input('X', 'float32', [2, c, 5, 5]);
  const W = g.input('W', 'float32', [c, c, 3, 3]);
  const geometry = { cin: c, cout: c, kernel: 3, stride: 2, padding: 1 };
  g.output(lowerConv2dOnnx(g, X, W, geometry, nchwc ? block : undefined), 'float32', [2, c, 3, 3], 'Y');
  return g.toModel();
}

async function runProbe(engine: OnnxEngineLike, block: number, nchwc: boolean): Promise<Float32Array> {
  const opts: InferenceSession.SessionOptions = { logSeverityLevel: 4 };
  const session = await engine.createSession(probeModel(block, nchwc), opts);
  try {
    const out = await session.run(probeFeeds(engine, block));
    return out.Y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

async function detect(engine: OnnxEngineLike): Promise<number | undefined> {
  if (onnxTrainerInfo(engine).backend !== 'cpu') return undefined;
  for (const block of CANDIDATE_BLOCKS) {
    let got: Float32Array;
    try {
      got = await runProbe(engine, block, true);
    } catch {
      continue; // this onnxruntime build has no NCHWc kernels (or not this block)
    }
    const want = await runProbe(engine, block, false);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    if (err <= 1e-5 * scale) return block;
  }
  return undefined;
}

/**
 * The channel block of onnxruntime's NCHWc convolution kernels on `engine`, for
 * `nchwcBlock` of `lowerConvNetOnnx` / `buildConvStepModel`: 16 or 8 when this engine's CPU
 * execution provider runs `com.microsoft.nchwc` Conv with that block and gives the same numbers as
 * ONNX Conv on a probe convolution (stride 2, padding 1), undefined otherwise — on any other
 * execution provider (GPU, WebAssembly), or an onnxruntime build without those kernels. Found once
 * per engine (two small sessions per candidate block) and remembered.
 *
 * @param engine - a started onnxruntime engine (`startOnnx()` of @narrownet/engine)
 */
export function nchwcBlockSize(engine: OnnxEngineLike): Promise<number | undefined> {
  checkEngine(engine, 'nchwcBlockSize');
  let p = found.get(engine);
  if (!p) {
    p = detect(engine);
    found.set(engine, p);
  }
  return p;
}
