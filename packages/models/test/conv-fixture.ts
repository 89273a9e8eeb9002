import { readFileSync } from 'node:fs';
import type { ResNetSpec } from '../src/index.js';

/** One mode's PyTorch results (arrays decoded to float64). */
export interface TorchConvRun {
  logits: Float64Array;
  loss: number;
  grads: Record<string, Float64Array>;
  buffers: Record<string, Float64Array>;
}

/** One case of fixtures/conv_torch.json (written by scripts/make_conv_fixture.py). */
export interface TorchConvCase {
  name: string;
  spec: ResNetSpec;
  n: number;
  X: Float64Array;
  Y: Float64Array;
  paramOrder: string[];
  params: Record<string, Float64Array>;
  buffers: Record<string, Float64Array>;
  train: TorchConvRun;
  eval: TorchConvRun;
}

/** The tie case's record (fixtures/conv_pool_torch.json): how far conv1's gradient moves if ties went to the last maximum. */
export function lastMaxShifts(): { train: number; eval: number } {
  const raw = JSON.parse(readFileSync(new URL('./fixtures/conv_pool_torch.json', import.meta.url), 'utf8'));
  const c = raw.cases.find((x: { name: string }) => x.name === 'pool-ties');
  return { train: c.train.lastMaxConv1Shift, eval: c.eval.lastMaxConv1Shift };
}

function f64(b64: string): Float64Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function f64Record(r: Record<string, string>): Record<string, Float64Array> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, f64(v)]));
}

type RawRun = {
  logits: string;
  loss: number;
  grads: Record<string, string>;
  buffers: Record<string, string>;
};
const run = (r: RawRun): TorchConvRun => ({
  logits: f64(r.logits),
  loss: r.loss,
  grads: f64Record(r.grads),
  buffers: f64Record(r.buffers),
});

/**
 * The PyTorch conv-net cases, decoded: fixtures/conv_torch.json, then the stems with max pooling
 * of fixtures/conv_pool_torch.json (both written by scripts/make_conv_fixture.py).
 */
export function loadConvFixture(): TorchConvCase[] {
  return ['conv_torch.json', 'conv_pool_torch.json'].flatMap(loadFile);
}

function loadFile(file: string): TorchConvCase[] {
  const raw = JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8'));
  return raw.cases.map(
    (c: Record<string, unknown>): TorchConvCase => ({
      name: c.name as string,
      spec: c.spec as ResNetSpec,
      n: c.n as number,
      X: f64(c.X as string),
      Y: f64(c.Y as string),
      paramOrder: c.paramOrder as string[],
      params: f64Record(c.params as Record<string, string>),
      buffers: f64Record(c.buffers as Record<string, string>),
      train: run(c.train as RawRun),
      eval: run(c.eval as RawRun),
    }),
  );
}

/**
 * The scale a float32 gradient of `name` is measured against: 1e-3 (the floor of {@link relError})
 * unless PyTorch's float64 gradient vanishes identically (every entry below 1e-12), as the stem's
 * `bn1.bias` of a pooled pre-activation net does (a shift of it passes relu and max pooling
 * unchanged where the maxima are positive, then only train-mode batch norms, which cancel it):
 * then float32 rounding is measured against the largest gradient entry of the whole net.
 */
export function gradFloor(grads: Record<string, Float64Array>, name: string): number {
  const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (maxAbs(grads[name]!) >= 1e-12) return 1e-3;
  return Math.max(1e-3, ...Object.values(grads).map(maxAbs));
}

/** Largest |a_i − b_i| divided by max(max|b|, floor). */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>, floor = 1e-3): number {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let scale = floor;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  return err / scale;
}
