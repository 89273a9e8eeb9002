import { type LossName, loss64 } from '../losses.js';
import type { ParamArrays } from '../reference.js';
import {
  type ConvLayer,
  type ConvPlan,
  type ResNetSpec,
  planBufferShapes,
  planParamShapes,
  planResNet,
  resnetParamShapes,
  splitResNet,
  validateResNetSpec,
} from './spec.js';

/** Train mode normalises with batch statistics and updates running ones; eval mode uses the running ones. */
export interface ConvRunOptions {
  readonly train: boolean;
}

/** Result of {@link convForward64}. */
export interface ConvForwardResult {
  /** Logits, row-major [n, classes]. */
  readonly logits: Float64Array;
  /**
   * Running statistics after the pass: updated as PyTorch does in train mode
   * (r ← (1 − momentum)·r + momentum·batch, the variance unbiased), unchanged copies in eval mode.
   */
  readonly buffers: Record<string, Float64Array>;
}

/** Result of {@link convLossAndGrad64}. */
export interface ConvLossGradResult extends ConvForwardResult {
  readonly loss: number;
  /** ∂loss/∂parameter for every parameter of `resnetParamShapes(spec)`. */
  readonly grads: Record<string, Float64Array>;
}

type Shape3 = readonly [number, number, number];

function need(arrays: ParamArrays, name: string, size: number, what: string): ArrayLike<number> {
  const p = arrays[name];
  if (!p) throw new RangeError(`conv net ${what}: missing tensor "${name}"`);
  if (p.length !== size)
    throw new RangeError(`conv net ${what}: "${name}" has ${p.length} entries, expected ${size}`);
  return p;
}

/** A convolution layer of a plan ({@link ConvLayer} with op `conv`). */
type ConvOp = Extract<ConvLayer, { op: 'conv' }>;

/**
 * Calls `tap(o, k, i)` for every multiply of a convolution over a batch of n: o, k and i are the
 * flat indices of the output [n, cout, ho, wo], the weight [cout, cin, k, k] and the input
 * [n, cin, h, w] (zero padding: taps that fall into the padding are skipped).
 */
function forEachTap(
  n: number,
  l: ConvOp,
  [, h, w]: Shape3,
  [, ho, wo]: Shape3,
  tap: (o: number, k: number, i: number) => void,
): void {
  const { cin, cout, kernel, stride, padding } = l;
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          const o = ((b * cout + co) * ho + oy) * wo + ox;
          for (let ci = 0; ci < cin; ci++)
            forEachWindowTap(h, w, kernel, stride, padding, oy, ox, (ky, kx, iy, ix) => {
              tap(o, ((co * cin + ci) * kernel + ky) * kernel + kx, ((b * cin + ci) * h + iy) * w + ix);
              return false;
            });
        }
}

/**
 * Calls `visit(ky, kx, iy, ix)` for the taps of the kernel×kernel window of output (oy, ox) that
 * fall inside the h×w input, row by row (taps in the padding are skipped); stops early when
 * `visit` returns true.
 */
function forEachWindowTap(
  h: number,
  w: number,
  kernel: number,
  stride: number,
  padding: number,
  oy: number,
  ox: number,
  visit: (ky: number, kx: number, iy: number, ix: number) => boolean,
): void {
  for (let ky = 0; ky < kernel; ky++) {
    const iy = oy * stride - padding + ky;
    if (iy < 0 || iy >= h) continue;
    for (let kx = 0; kx < kernel; kx++) {
      const ix = ox * stride - padding + kx;
      if (ix >= 0 && ix < w && visit(ky, kx, iy, ix)) return;
    }
  }
}

/** Per-layer values the backward pass reads. */
interface BnCache {
  xhat: Float64Array;
  /** 1/√(σ² + ε) per channel, with σ² the batch (train) or running (eval) variance. */
  invStd: Float64Array;
}

interface Tape {
  plan: ConvPlan;
  values: Float64Array[];
  bn: Map<number, BnCache>;
  /** Per max-pool layer: for each output, the flat input index of the maximum that gets its gradient. */
  argmax: Map<number, Int32Array>;
  buffers: Record<string, Float64Array>;
}

function shape3(plan: ConvPlan, v: number): Shape3 {
  return plan.values[v] as Shape3;
}

function forwardTape(
  plan: ConvPlan,
  params: ParamArrays,
  buffers: ParamArrays,
  X: ArrayLike<number>,
  n: number,
  options: ConvRunOptions,
  where: string,
): Tape {
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`${where}: n must be a positive integer, got ${n}`);
  if (typeof options?.train !== 'boolean')
    throw new RangeError(`${where}: options.train must be true or false`);
  const [c0, h0, w0] = plan.values[0] as Shape3;
  if (X.length !== n * c0 * h0 * w0)
    throw new RangeError(`${where}: X has ${X.length} entries, expected n·C·H·W = ${n}·${c0}·${h0}·${w0}`);
  const pShapes = planParamShapes(plan);
  const P = (name: string) =>
    need(
      params,
      name,
      pShapes[name]!.reduce((a, b) => a * b, 1),
      'parameters',
    );
  const outBuffers: Record<string, Float64Array> = {};
  for (const [name, [c]] of Object.entries(planBufferShapes(plan)))
    outBuffers[name] = Float64Array.from(need(buffers, name, c!, 'buffers'));
  const values: Float64Array[] = [Float64Array.from(X)];
  const bn = new Map<number, BnCache>();
  const argmax = new Map<number, Int32Array>();
  const { bnEps: eps, bnMomentum: mom } = plan;
  plan.layers.forEach((l, li) => {
    if (l.op === 'conv') {
      const x = values[l.input]!;
      const weight = P(l.weight);
      const [, ho, wo] = shape3(plan, l.output);
      const out = new Float64Array(n * l.cout * ho * wo);
      forEachTap(n, l, shape3(plan, l.input), shape3(plan, l.output), (o, k, i) => {
        out[o]! += weight[k]! * x[i]!;
      });
      values[l.output] = out;
    } else if (l.op === 'batchNorm') {
      const [c, h, w] = shape3(plan, l.input);
      const x = values[l.input]!;
      const hw = h * w;
      const N = n * hw;
      const gamma = P(`${l.name}.weight`);
      const beta = P(`${l.name}.bias`);
      const rm = outBuffers[`${l.name}.running_mean`]!;
      const rv = outBuffers[`${l.name}.running_var`]!;
      const y = new Float64Array(x.length);
      const xhat = new Float64Array(x.length);
      const invStd = new Float64Array(c);
      if (options.train && N < 2)
        throw new RangeError(
          `${where}: batch norm ${l.name} in train mode needs more than 1 value per channel, got ${N}`,
        );
      for (let ch = 0; ch < c; ch++) {
        let mean: number;
        let variance: number;
        if (options.train) {
          let s = 0;
          for (let b = 0; b < n; b++) for (let t = 0; t < hw; t++) s += x[(b * c + ch) * hw + t]!;
          mean = s / N;
          let q = 0;
          for (let b = 0; b < n; b++)
            for (let t = 0; t < hw; t++) {
              const d = x[(b * c + ch) * hw + t]! - mean;
              q += d * d;
            }
          variance = q / N;
          rm[ch] = (1 - mom) * rm[ch]! + mom * mean;
          rv[ch] = (1 - mom) * rv[ch]! + (mom * variance * N) / (N - 1);
        } else {
          mean = rm[ch]!;
          variance = rv[ch]!;
        }
        const inv = 1 / Math.sqrt(variance + eps);
        invStd[ch] = inv;
        for (let b = 0; b < n; b++)
          for (let t = 0; t < hw; t++) {
            const i = (b * c + ch) * hw + t;
            xhat[i] = (x[i]! - mean) * inv;
            y[i] = gamma[ch]! * xhat[i]! + beta[ch]!;
          }
      }
      bn.set(li, { xhat, invStd });
      values[l.output] = y;
    } else if (l.op === 'relu') {
      values[l.output] = values[l.input]!.map((v) => Math.max(v, 0));
    } else if (l.op === 'maxPool') {
      const { out, index } = maxPool64(values[l.input]!, n, l, shape3(plan, l.input), shape3(plan, l.output));
      argmax.set(li, index);
      values[l.output] = out;
    } else if (l.op === 'add') {
      const a = values[l.inputs[0]]!;
      const b = values[l.inputs[1]]!;
      values[l.output] = a.map((v, i) => v + b[i]!);
    } else if (l.op === 'globalAvgPool') {
      const [c, h, w] = shape3(plan, l.input);
      const x = values[l.input]!;
      const out = new Float64Array(n * c);
      for (let i = 0; i < n * c; i++) {
        let s = 0;
        for (let t = 0; t < h * w; t++) s += x[i * h * w + t]!;
        out[i] = s / (h * w);
      }
      values[l.output] = out;
    } else if (l.op === 'linear') {
      values[l.output] = dense64(
        values[l.input]!,
        n,
        P(`${l.name}.weight`),
        P(`${l.name}.bias`),
        l.inFeatures,
        l.outFeatures,
      );
    } else {
      const half = l.inFeatures / 2;
      values[l.output] = dense64(
        halfDifference(values[l.input]!, n, half),
        n,
        P(`${l.name}.weight`),
        null,
        half,
        l.outFeatures,
      );
    }
  });
  return { plan, values, bn, argmax, buffers: outBuffers };
}

/**
 * Max pooling of a batch [n, C, H, W] per channel, windows scanned row by row: the first strict
 * maximum of a window wins (a NaN wins and propagates), as PyTorch's CPU kernel, so that ties
 * route the gradient to the same input. Taps in the padding are skipped (−∞).
 */
function maxPool64(
  x: Float64Array,
  n: number,
  l: Extract<ConvLayer, { op: 'maxPool' }>,
  [c, h, w]: Shape3,
  [, ho, wo]: Shape3,
): { out: Float64Array; index: Int32Array } {
  const { kernel, stride, padding } = l;
  const out = new Float64Array(n * c * ho * wo);
  const index = new Int32Array(out.length);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++) {
        let best = Number.NEGATIVE_INFINITY;
        let at = -1;
        forEachWindowTap(h, w, kernel, stride, padding, oy, ox, (_ky, _kx, iy, ix) => {
          const i = (p * h + iy) * w + ix;
          const v = x[i]!;
          if (at < 0 || v > best || Number.isNaN(v)) {
            best = v;
            at = i;
          }
          return Number.isNaN(v);
        });
        const o = (p * ho + oy) * wo + ox;
        out[o] = best;
        index[o] = at;
      }
  return { out, index };
}

/**
 * Float64 reference forward pass of a conv net: plain loops, exact, slow; the engines are tested
 * against it. X is row-major [n, C·H·W] (NCHW flattened); `buffers` holds the running statistics
 * of every batch norm (`resnetBufferShapes(spec)`; {@link initialBuffers} gives PyTorch's fresh ones).
 */
export function convForward64(
  spec: ResNetSpec,
  params: ParamArrays,
  buffers: ParamArrays,
  X: ArrayLike<number>,
  n: number,
  options: ConvRunOptions,
): ConvForwardResult {
  validateResNetSpec(spec);
  const tape = forwardTape(planResNet(spec), params, buffers, X, n, options, 'convForward64');
  return { logits: tape.values[tape.values.length - 1]!, buffers: tape.buffers };
}

function addInto(grads: (Float64Array | undefined)[], v: number, g: Float64Array): void {
  const cur = grads[v];
  if (!cur) grads[v] = g;
  else for (let i = 0; i < g.length; i++) cur[i]! += g[i]!;
}

function backwardLayer(
  l: ConvLayer,
  li: number,
  tape: Tape,
  params: ParamArrays,
  n: number,
  dy: Float64Array,
  dv: (Float64Array | undefined)[],
  grads: Record<string, Float64Array>,
  train: boolean,
): void {
  const { plan, values } = tape;
  if (l.op === 'conv') {
    const x = values[l.input]!;
    const weight = params[l.weight]!;
    const dx = new Float64Array(x.length);
    const dw = new Float64Array(weight.length);
    forEachTap(n, l, shape3(plan, l.input), shape3(plan, l.output), (o, k, i) => {
      dw[k]! += dy[o]! * x[i]!;
      dx[i]! += dy[o]! * weight[k]!;
    });
    grads[l.weight] = dw;
    if (l.input !== 0) addInto(dv, l.input, dx);
  } else if (l.op === 'batchNorm') {
    const [c, h, w] = shape3(plan, l.input);
    const hw = h * w;
    const N = n * hw;
    const { xhat, invStd } = tape.bn.get(li)!;
    const gamma = params[`${l.name}.weight`]!;
    const dgamma = new Float64Array(c);
    const dbeta = new Float64Array(c);
    const dx = new Float64Array(dy.length);
    for (let ch = 0; ch < c; ch++) {
      let sg = 0;
      let sgx = 0;
      for (let b = 0; b < n; b++)
        for (let t = 0; t < hw; t++) {
          const i = (b * c + ch) * hw + t;
          sg += dy[i]!;
          sgx += dy[i]! * xhat[i]!;
        }
      dgamma[ch] = sgx;
      dbeta[ch] = sg;
      const k = gamma[ch]! * invStd[ch]!;
      for (let b = 0; b < n; b++)
        for (let t = 0; t < hw; t++) {
          const i = (b * c + ch) * hw + t;
          // Train mode: the batch mean and variance depend on x too.
          dx[i] = train ? k * (dy[i]! - sg / N - (xhat[i]! * sgx) / N) : k * dy[i]!;
        }
    }
    grads[`${l.name}.weight`] = dgamma;
    grads[`${l.name}.bias`] = dbeta;
    addInto(dv, l.input, dx);
  } else if (l.op === 'relu') {
    const y = values[l.output]!;
    addInto(
      dv,
      l.input,
      dy.map((g, i) => (y[i]! > 0 ? g : 0)),
    );
  } else if (l.op === 'maxPool') {
    const index = tape.argmax.get(li)!;
    const dx = new Float64Array(values[l.input]!.length);
    for (let o = 0; o < index.length; o++) dx[index[o]!]! += dy[o]!;
    addInto(dv, l.input, dx);
  } else if (l.op === 'add') {
    addInto(dv, l.inputs[0], dy.slice());
    addInto(dv, l.inputs[1], dy.slice());
  } else if (l.op === 'globalAvgPool') {
    const [c, h, w] = shape3(plan, l.input);
    const hw = h * w;
    const dx = new Float64Array(n * c * hw);
    for (let i = 0; i < n * c; i++) for (let t = 0; t < hw; t++) dx[i * hw + t] = dy[i]! / hw;
    addInto(dv, l.input, dx);
  } else if (l.op === 'linear') {
    const r = denseBackward64(
      dy,
      values[l.input]!,
      n,
      params[`${l.name}.weight`]!,
      l.inFeatures,
      l.outFeatures,
    );
    grads[`${l.name}.weight`] = r.dW;
    grads[`${l.name}.bias`] = r.db;
    addInto(dv, l.input, r.dx);
  } else {
    const half = l.inFeatures / 2;
    const d = halfDifference(values[l.input]!, n, half);
    const r = denseBackward64(dy, d, n, params[`${l.name}.weight`]!, half, l.outFeatures);
    grads[`${l.name}.weight`] = r.dW;
    const dx = new Float64Array(n * l.inFeatures);
    for (let b = 0; b < n; b++)
      for (let f = 0; f < half; f++) {
        dx[b * l.inFeatures + f] = r.dx[b * half + f]!;
        dx[b * l.inFeatures + half + f] = -r.dx[b * half + f]!;
      }
    addInto(dv, l.input, dx);
  }
}

/** out[b, o] = bias[o] + Σ_f W[o, f] x[b, f] (bias null: 0). */
function dense64(
  x: ArrayLike<number>,
  n: number,
  W: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  F: number,
  O: number,
): Float64Array {
  const out = new Float64Array(n * O);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o]! : 0;
      for (let f = 0; f < F; f++) s += W[o * F + f]! * x[b * F + f]!;
      out[b * O + o] = s;
    }
  return out;
}

/** Gradients of {@link dense64} with respect to W, the bias and x. */
function denseBackward64(
  dy: Float64Array,
  x: ArrayLike<number>,
  n: number,
  W: ArrayLike<number>,
  F: number,
  O: number,
) {
  const dW = new Float64Array(O * F);
  const db = new Float64Array(O);
  const dx = new Float64Array(n * F);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < O; o++) {
      const g = dy[b * O + o]!;
      db[o]! += g;
      for (let f = 0; f < F; f++) {
        dW[o * F + f]! += g * x[b * F + f]!;
        dx[b * F + f]! += g * W[o * F + f]!;
      }
    }
  return { dW, db, dx };
}

/** d[b, f] = x[b, f] − x[b, f + half] for rows of 2·half features. */
function halfDifference(x: ArrayLike<number>, n: number, half: number): Float64Array {
  const d = new Float64Array(n * half);
  for (let b = 0; b < n; b++)
    for (let f = 0; f < half; f++) d[b * half + f] = x[b * 2 * half + f]! - x[b * 2 * half + half + f]!;
  return d;
}

/**
 * Float64 reference loss and gradient of every parameter of a conv net, by hand-written
 * backpropagation through the plan (batch norm differentiated through its batch statistics in
 * train mode, as PyTorch's autograd does; ReLU's derivative at 0 is 0). Y is row-major
 * [n, classes]. Also returns the logits and the running statistics after the pass.
 */
export function convLossAndGrad64(
  spec: ResNetSpec,
  params: ParamArrays,
  buffers: ParamArrays,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  loss: LossName,
  options: ConvRunOptions,
): ConvLossGradResult {
  validateResNetSpec(spec);
  const tape = forwardTape(planResNet(spec), params, buffers, X, n, options, 'convLossAndGrad64');
  const logits = tape.values[tape.values.length - 1]!;
  if (Y.length !== n * spec.classes)
    throw new RangeError(
      `convLossAndGrad64: Y has ${Y.length} entries, expected n·classes = ${n}·${spec.classes}`,
    );
  const { value, grad } = loss64(loss, logits, Y, spec.classes);
  const dv: (Float64Array | undefined)[] = [];
  dv[tape.values.length - 1] = grad;
  const grads: Record<string, Float64Array> = {};
  const layers = tape.plan.layers;
  for (let li = layers.length - 1; li >= 0; li--) {
    const l = layers[li]!;
    const dy = dv[l.output];
    if (!dy) throw new Error(`convLossAndGrad64: value ${l.output} has no gradient (plan is not connected)`);
    backwardLayer(l, li, tape, params, n, dy, dv, grads, options.train);
  }
  const ordered: Record<string, Float64Array> = {};
  for (const name of Object.keys(resnetParamShapes(spec))) ordered[name] = grads[name]!;
  return { loss: value, logits, grads: ordered, buffers: tape.buffers };
}

/**
 * The features a frozen trunk hands to stage `stage` (default the final one): the float64
 * forward of the layers before it (see `splitResNet`) in EVAL mode — running statistics, so each
 * sample's features do not depend on its batch and can be computed once and cached. Returns
 * row-major [n, C·H·W] (NCHW flattened), the X of `splitResNet(spec, stage).head`.
 */
export function convFeatures64(
  spec: ResNetSpec,
  stage: number | undefined,
  params: ParamArrays,
  buffers: ParamArrays,
  X: ArrayLike<number>,
  n: number,
): Float64Array {
  const { trunk } = splitResNet(spec, stage);
  const tape = forwardTape(trunk, params, buffers, X, n, { train: false }, 'convFeatures64');
  return tape.values[tape.values.length - 1]!;
}
