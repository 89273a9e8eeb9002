import { LOSS_NAMES, type LossName } from '../losses.js';
import { OnnxGraph, attr } from '../onnx/builder.js';
import { type LoweringInputs, type LoweringOutputs, lowerLoss } from '../onnx/lower.js';
import type { ConvRunOptions } from './reference.js';
import {
  type ConvLayer,
  type ConvPlan,
  type ResNetSpec,
  planBufferShapes,
  planParamShapes,
  planResNet,
  resnetBufferShapes,
  resnetParamShapes,
  splitResNet,
  validateResNetSpec,
} from './spec.js';

/** Value names a conv-net lowering reads: X [n, C·H·W], Y [n, classes], parameters and running statistics. */
export interface ConvLoweringInputs extends LoweringInputs {
  /** Running statistics keyed by buffer name (every name of `resnetBufferShapes(spec)`). */
  readonly buffers: Readonly<Record<string, string>>;
}

/** Value names a conv-net lowering produced. */
export interface ConvLoweringOutputs extends LoweringOutputs {
  /**
   * Running statistics after the pass keyed by buffer name: updated as PyTorch does in train mode
   * (momentum, unbiased batch variance), the input names themselves in eval mode.
   */
  readonly buffers: Record<string, string>;
}

/** Options of {@link lowerConvNetOnnx}. */
export interface ConvLoweringOptions extends ConvRunOptions {
  /** Emit the analytic backward pass. Default true; false gives forward + loss only. */
  readonly gradients?: boolean;
  /**
   * Channel block of onnxruntime's CPU NCHWc convolution kernels (`com.microsoft.nchwc` Conv,
   * MLAS: 16 with AVX-512, 8 with AVX2; `nchwcBlockSize` of @narrownet/engine finds it). When set,
   * every convolution whose input and output channels are multiples of it — forward, and the
   * stride-1 input gradients — runs as ReorderInput → NCHWc Conv → ReorderOutput with its weight
   * reordered to the blocked layout inside the graph (onnxruntime only reorders constant weights
   * itself, and here the weights are inputs). Only onnxruntime's CPU execution provider runs such
   * a graph. Default: plain ONNX Conv everywhere.
   */
  readonly nchwcBlock?: number;
}

/** onnxruntime's operator set of NCHWc (channel-blocked) CPU kernels. */
const NCHWC = 'com.microsoft.nchwc';

/** The geometry of a square 2-D convolution without bias (weight [cout, cin, kernel, kernel]). */
export interface Conv2dGeometry {
  readonly cin: number;
  readonly cout: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}

/** `options.nchwcBlock`, checked: undefined or a positive integer. */
function nchwcBlockOf(options: Pick<ConvLoweringOptions, 'nchwcBlock'>, where: string): number | undefined {
  const block = options?.nchwcBlock;
  if (block !== undefined && (!Number.isInteger(block) || block < 1))
    throw new RangeError(`${where}: options.nchwcBlock must be a positive integer, got ${block}`);
  return block;
}

/**
 * Emits a convolution of x [n, cin, h, w] with W [cout, cin, k, k] (no bias) into `g` and returns
 * its output [n, cout, h', w']. With `nchwcBlock` dividing both channel counts it runs on
 * onnxruntime's CPU NCHWc kernels: ReorderInput → `com.microsoft.nchwc` Conv → ReorderOutput, the
 * weight reordered inside the graph to MLAS's blocked filter layout [cout/B, cin/B, k, k, B (in),
 * B (out)] (onnxruntime reorders only constant weights itself; here weights are graph inputs).
 * The block must be the one MLAS uses on the machine (16 with AVX-512, 8 with AVX2; the wrong one
 * gives wrong numbers, so find it by running both forms, as `nchwcBlockSize` of @narrownet/regime
 * does). Otherwise, and without `nchwcBlock`, plain ONNX Conv.
 */
export function lowerConv2dOnnx(
  g: OnnxGraph,
  x: string,
  W: string,
  geometry: Conv2dGeometry,
  nchwcBlock?: number,
): string {
  const { cin, cout, kernel, stride, padding } = geometry;
  const attrs = {
    kernel_shape: attr.ints([kernel, kernel]),
    strides: attr.ints([stride, stride]),
    pads: attr.ints([padding, padding, padding, padding]),
  };
  const B = nchwcBlock;
  if (!B || cin % B !== 0 || cout % B !== 0) return g.op('Conv', [x, W], attrs);
  const blocks = g.op('Reshape', [W, g.ints([cout / B, B, cin / B, B, kernel, kernel])]);
  const Wb = g.op('Reshape', [
    g.op('Transpose', [blocks], { perm: attr.ints([0, 2, 4, 5, 3, 1]) }),
    g.ints([cout, cin, kernel, kernel]),
  ]);
  const xb = g.domainOp(NCHWC, 'ReorderInput', [x]);
  const yb = g.domainOp(NCHWC, 'Conv', [xb, Wb], attrs);
  return g.domainOp(NCHWC, 'ReorderOutput', [yb], { channels: attr.i(cout) });
}

type Shape3 = readonly [number, number, number];

interface BnSaved {
  xhat: string;
  /** γ/√(σ² + ε) as [1, C, 1, 1]. */
  scale: string;
  /** 1/N (train mode), N = n·H·W, as a float scalar. */
  invCount?: string;
}

/** The graph under construction plus the conv net's forward values, for the backward pass. */
class ConvLowering {
  readonly values: string[] = [];
  readonly bn = new Map<number, BnSaved>();
  readonly buffersOut: Record<string, string> = {};
  /** The Indices output of each max pooling (flat positions in its input), by layer index. */
  readonly poolIndices = new Map<number, string>();
  /** h₁ − h₂ of each paired head, by layer index. */
  readonly pairedDiff = new Map<number, string>();
  /** Inputs of convolutions, channels first and padded, keyed `<value>|<padding>`. */
  private readonly paddedInputs = new Map<string, string>();
  private readonly axesNHW: string;

  constructor(
    readonly g: OnnxGraph,
    readonly plan: ConvPlan,
    readonly names: ConvLoweringInputs,
    readonly train: boolean,
    readonly nchwcBlock: number | undefined,
  ) {
    this.axesNHW = g.ints([0, 2, 3]);
  }

  /** {@link lowerConv2dOnnx} with this lowering's `nchwcBlock`. */
  conv(x: string, W: string, geometry: Conv2dGeometry): string {
    return lowerConv2dOnnx(this.g, x, W, geometry, this.nchwcBlock);
  }

  param(name: string): string {
    const v = this.names.params[name];
    if (typeof v !== 'string' || v.length === 0)
      throw new RangeError(`lowerConvNetOnnx: names.params is missing the value name of parameter "${name}"`);
    return v;
  }

  buffer(name: string): string {
    const v = this.names.buffers[name];
    if (typeof v !== 'string' || v.length === 0)
      throw new RangeError(`lowerConvNetOnnx: names.buffers is missing the value name of buffer "${name}"`);
    return v;
  }

  shape(v: number): Shape3 {
    return this.plan.values[v] as Shape3;
  }

  /** A per-channel vector [C] as [1, C, 1, 1]. */
  channel4(v: string): string {
    return this.g.op('Reshape', [v, this.g.ints([1, -1, 1, 1])]);
  }

  forward(l: ConvLayer, li: number): void {
    const { g } = this;
    const x = l.op === 'add' ? '' : this.values[l.input]!;
    let y: string;
    switch (l.op) {
      case 'conv':
        y = this.conv(x, this.param(l.weight), l);
        break;
      case 'batchNorm':
        y = this.batchNorm(l, li, x);
        break;
      case 'relu':
        y = g.op('Relu', [x]);
        break;
      case 'maxPool': {
        // Indices: flat positions in the whole input [n, C, H, W] (ONNX MaxPool, storage order 0).
        const [out, indices] = g.opN('MaxPool', [x], 2, {
          kernel_shape: attr.ints([l.kernel, l.kernel]),
          strides: attr.ints([l.stride, l.stride]),
          pads: attr.ints([l.padding, l.padding, l.padding, l.padding]),
        });
        this.poolIndices.set(li, indices!);
        y = out!;
        break;
      }
      case 'add':
        y = g.op('Add', [this.values[l.inputs[0]]!, this.values[l.inputs[1]]!]);
        break;
      case 'globalAvgPool':
        y = g.op('ReduceMean', [x, g.ints([2, 3])], { keepdims: attr.i(0) });
        break;
      case 'linear':
        y = g.op('Gemm', [x, this.param(`${l.name}.weight`), this.param(`${l.name}.bias`)], {
          transB: attr.i(1),
        });
        break;
      case 'pairedLinear': {
        const half = l.inFeatures / 2;
        const [x1, x2] = g.opN('Split', [x, g.ints([half, half])], 2, { axis: attr.i(1) });
        const d = g.op('Sub', [x1!, x2!]);
        this.pairedDiff.set(li, d);
        y = g.op('Gemm', [d, this.param(`${l.name}.weight`)], { transB: attr.i(1) });
        break;
      }
    }
    this.values[l.output] = y;
  }

  private batchNorm(l: Extract<ConvLayer, { op: 'batchNorm' }>, li: number, x: string): string {
    const { g } = this;
    const eps = g.scalar(this.plan.bnEps);
    const gamma = this.channel4(this.param(`${l.name}.weight`));
    const beta = this.channel4(this.param(`${l.name}.bias`));
    const rmName = `${l.name}.running_mean`;
    const rvName = `${l.name}.running_var`;
    const rm = this.buffer(rmName);
    const rv = this.buffer(rvName);
    if (!this.train) {
      const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [rv, eps])])]);
      const xhat = g.op('Mul', [g.op('Sub', [x, this.channel4(rm)]), this.channel4(inv)]);
      const scale = g.op('Mul', [gamma, this.channel4(inv)]);
      this.bn.set(li, { xhat, scale });
      this.buffersOut[rmName] = rm;
      this.buffersOut[rvName] = rv;
      return g.op('Add', [g.op('Mul', [xhat, gamma]), beta]);
    }
    const keep = { keepdims: attr.i(1) };
    const mean = g.op('ReduceMean', [x, this.axesNHW], keep);
    const xc = g.op('Sub', [x, mean]);
    const variance = g.op('ReduceMean', [g.op('Mul', [xc, xc]), this.axesNHW], keep);
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, eps])])]);
    const xhat = g.op('Mul', [xc, inv]);
    const [, h, w] = this.shape(l.input);
    const rows = g.op(
      'Cast',
      [g.op('Gather', [g.op('Shape', [x]), g.constant({ dtype: 'int64', shape: [], values: [0] })])],
      {
        to: attr.i(1),
      },
    );
    const count = g.op('Mul', [rows, g.scalar(h * w)]);
    this.bn.set(li, { xhat, scale: g.op('Mul', [gamma, inv]), invCount: g.op('Reciprocal', [count]) });
    // Running statistics: r ← (1 − m)·r + m·batch, the variance unbiased (× N/(N − 1)) as PyTorch.
    const m = this.plan.bnMomentum;
    const flat = (v: string) => g.op('Reshape', [v, g.ints([-1])]);
    const unbiased = g.op('Div', [g.op('Mul', [flat(variance), count]), g.op('Sub', [count, g.scalar(1)])]);
    this.buffersOut[rmName] = g.op('Add', [
      g.op('Mul', [rm, g.scalar(1 - m)]),
      g.op('Mul', [flat(mean), g.scalar(m)]),
    ]);
    this.buffersOut[rvName] = g.op('Add', [
      g.op('Mul', [rv, g.scalar(1 - m)]),
      g.op('Mul', [unbiased, g.scalar(m)]),
    ]);
    return g.op('Add', [g.op('Mul', [xhat, gamma]), beta]);
  }

  /** Emits ∂loss/∂(inputs) of layer `l` given ∂loss/∂(output) `dy`, and its parameter gradients. */
  backward(
    l: ConvLayer,
    li: number,
    dy: string,
    dv: (string | undefined)[],
    grads: Record<string, string>,
  ): void {
    const { g } = this;
    const acc = (v: number, d: string) => {
      dv[v] = dv[v] === undefined ? d : g.op('Add', [dv[v]!, d]);
    };
    switch (l.op) {
      case 'conv': {
        grads[l.weight] = this.convWeightGrad(l, dy);
        if (l.input !== 0) acc(l.input, this.convInputGrad(l, dy));
        return;
      }
      case 'batchNorm': {
        const { xhat, scale, invCount } = this.bn.get(li)!;
        const keep = { keepdims: attr.i(1) };
        const sg = g.op('ReduceSum', [dy, this.axesNHW], keep);
        const sgx = g.op('ReduceSum', [g.op('Mul', [dy, xhat]), this.axesNHW], keep);
        grads[`${l.name}.weight`] = g.op('Reshape', [sgx, g.ints([-1])]);
        grads[`${l.name}.bias`] = g.op('Reshape', [sg, g.ints([-1])]);
        if (!invCount) {
          acc(l.input, g.op('Mul', [dy, scale]));
          return;
        }
        // Train mode: dx = γ/√(σ²+ε) · (dy − mean(dy) − x̂·mean(dy·x̂)), means over n, H, W.
        const centred = g.op('Sub', [
          g.op('Sub', [dy, g.op('Mul', [sg, invCount])]),
          g.op('Mul', [xhat, g.op('Mul', [sgx, invCount])]),
        ]);
        acc(l.input, g.op('Mul', [centred, scale]));
        return;
      }
      case 'relu': {
        const pos = g.op('Greater', [this.values[l.output]!, g.scalar(0)]);
        acc(l.input, g.op('Where', [pos, dy, g.scalar(0)]));
        return;
      }
      case 'maxPool': {
        // Each output's gradient added at its maximum's position (overlapping windows can pick
        // the same input several times, hence the add reduction).
        const x = this.values[l.input]!;
        const flat = g.op(
          'ScatterElements',
          [
            g.op('ConstantOfShape', [g.op('Reshape', [g.op('Size', [x]), g.ints([1])])], {
              value: attr.t({ dtype: 'float32', shape: [1], values: [0] }),
            }),
            g.op('Reshape', [this.poolIndices.get(li)!, g.ints([-1])]),
            g.op('Reshape', [dy, g.ints([-1])]),
          ],
          { axis: attr.i(0), reduction: attr.s('add') },
        );
        acc(l.input, g.op('Reshape', [flat, g.op('Shape', [x])]));
        return;
      }
      case 'add':
        acc(l.inputs[0], dy);
        acc(l.inputs[1], dy);
        return;
      case 'globalAvgPool': {
        const [c, h, w] = this.shape(l.input);
        const d4 = g.op('Reshape', [g.op('Mul', [dy, g.scalar(1 / (h * w))]), g.ints([-1, c, 1, 1])]);
        acc(l.input, g.op('Expand', [d4, g.op('Shape', [this.values[l.input]!])]));
        return;
      }
      case 'linear': {
        const x = this.values[l.input]!;
        grads[`${l.name}.weight`] = g.op('Gemm', [dy, x], { transA: attr.i(1) });
        grads[`${l.name}.bias`] = g.op('ReduceSum', [dy, g.ints([0])], { keepdims: attr.i(0) });
        acc(l.input, g.op('MatMul', [dy, this.param(`${l.name}.weight`)]));
        return;
      }
      case 'pairedLinear': {
        grads[`${l.name}.weight`] = g.op('Gemm', [dy, this.pairedDiff.get(li)!], { transA: attr.i(1) });
        const dd = g.op('MatMul', [dy, this.param(`${l.name}.weight`)]);
        acc(l.input, g.op('Concat', [dd, g.op('Neg', [dd])], { axis: attr.i(1) }));
        return;
      }
    }
  }

  /** x of value `v` as [C, n, H + 2p, W + 2p] (channels first, zero padded), shared by the convolutions reading it. */
  private channelsFirstPadded(v: number, padding: number): string {
    const key = `${v}|${padding}`;
    const hit = this.paddedInputs.get(key);
    if (hit) return hit;
    const { g } = this;
    let t = g.op('Transpose', [this.values[v]!], { perm: attr.ints([1, 0, 2, 3]) });
    if (padding > 0) t = g.op('Pad', [t, g.ints([0, 0, padding, padding, 0, 0, padding, padding])]);
    this.paddedInputs.set(key, t);
    return t;
  }

  /**
   * ∂loss/∂W[co, ci, ky, kx] = Σ_{b, oy, ox} dy[b, co, oy, ox] · x[b, ci, oy·s − p + ky, ox·s − p + kx]:
   * for each kernel offset (ky, kx), one GEMM over the whole batch, dyᵀ [co, n·Ho·Wo] times the
   * strided slice of the padded input [ci, n·Ho·Wo] (an im2col one offset at a time). The GEMMs
   * have the reduction over n·Ho·Wo inside, the shape BLAS kernels are fastest on.
   */
  private convWeightGrad(l: Extract<ConvLayer, { op: 'conv' }>, dy: string): string {
    const { g } = this;
    const [, ho, wo] = this.shape(l.output);
    const xt = this.channelsFirstPadded(l.input, l.padding);
    const dyt = g.op('Reshape', [
      g.op('Transpose', [dy], { perm: attr.ints([1, 0, 2, 3]) }),
      g.ints([l.cout, -1]),
    ]);
    const parts: string[] = [];
    for (let ky = 0; ky < l.kernel; ky++)
      for (let kx = 0; kx < l.kernel; kx++) {
        const ends = [ky + l.stride * (ho - 1) + 1, kx + l.stride * (wo - 1) + 1];
        const slice = g.op('Slice', [
          xt,
          g.ints([ky, kx]),
          g.ints(ends),
          g.ints([2, 3]),
          g.ints([l.stride, l.stride]),
        ]);
        const cols = g.op('Reshape', [slice, g.ints([l.cin, -1])]);
        parts.push(g.op('Unsqueeze', [g.op('Gemm', [dyt, cols], { transB: attr.i(1) }), g.ints([2])]));
      }
    const stacked = parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: attr.i(2) });
    return g.op('Reshape', [stacked, g.ints([l.cout, l.cin, l.kernel, l.kernel])]);
  }

  /**
   * ∂loss/∂x of a convolution. Stride 1: a plain convolution of dy with the weight transposed
   * ([ci, co, k, k]) and rotated by 180°, padding k − 1 − p (as fast as the forward pass).
   * Stride > 1: the transposed convolution of dy with the weight, with output padding restoring
   * the rows and columns the strided convolution skipped.
   */
  private convInputGrad(l: Extract<ConvLayer, { op: 'conv' }>, dy: string): string {
    const { g } = this;
    const [, h, w] = this.shape(l.input);
    const [, ho, wo] = this.shape(l.output);
    const W = this.param(l.weight);
    if (l.stride === 1 && l.padding <= l.kernel - 1) {
      const q = l.kernel - 1 - l.padding;
      const big = -(2 ** 62);
      const flipped = g.op('Slice', [
        g.op('Transpose', [W], { perm: attr.ints([1, 0, 2, 3]) }),
        g.ints([-1, -1]),
        g.ints([big, big]),
        g.ints([2, 3]),
        g.ints([-1, -1]),
      ]);
      return this.conv(dy, flipped, { cin: l.cout, cout: l.cin, kernel: l.kernel, stride: 1, padding: q });
    }
    const extra = (size: number, out: number) => size - ((out - 1) * l.stride + l.kernel - 2 * l.padding);
    return g.op('ConvTranspose', [dy, W], {
      kernel_shape: attr.ints([l.kernel, l.kernel]),
      strides: attr.ints([l.stride, l.stride]),
      pads: attr.ints([l.padding, l.padding, l.padding, l.padding]),
      output_padding: attr.ints([extra(h, ho), extra(w, wo)]),
    });
  }
}

/**
 * Emits, into `g`, the forward pass of a conv net, its `loss` against Y and the ANALYTIC gradient
 * of the loss with respect to every parameter — the conv-net twin of `lowerModelOnnx` and of
 * `convLossAndGrad64`: convolution input gradients by a convolution with the rotated weight
 * (stride 1) or ConvTranspose with output padding (strided layers), weight gradients by one GEMM
 * over the batch per kernel offset (strided slices of the padded input), batch-norm backward from
 * reductions (through the batch statistics in train mode), ReLU's derivative 0 at 0. In train
 * mode the running statistics after the pass are outputs too. Any batch size n.
 *
 * @param g - graph to emit into (the value names in `names` must exist in it)
 * @param spec - the conv net
 * @param names - value names of X [n, C·H·W], Y [n, classes], each parameter and each running statistic
 * @param loss - loss name
 * @param options - `train` (batch statistics) or eval (running statistics); `gradients: false` for forward + loss only
 */
export function lowerConvNetOnnx(
  g: OnnxGraph,
  spec: ResNetSpec,
  names: ConvLoweringInputs,
  loss: LossName,
  options: ConvLoweringOptions,
): ConvLoweringOutputs {
  validateResNetSpec(spec);
  if (!LOSS_NAMES.includes(loss))
    throw new RangeError(
      `lowerConvNetOnnx: unknown loss ${JSON.stringify(loss)}; expected one of ${LOSS_NAMES.join(', ')}`,
    );
  if (!names || typeof names.X !== 'string' || typeof names.Y !== 'string' || !names.params || !names.buffers)
    throw new RangeError('lowerConvNetOnnx: names must give X, Y, params and buffers value names');
  if (typeof options?.train !== 'boolean')
    throw new RangeError('lowerConvNetOnnx: options.train must be true or false');
  const plan = planResNet(spec);
  const low = new ConvLowering(g, plan, names, options.train, nchwcBlockOf(options, 'lowerConvNetOnnx'));
  low.values[0] = g.op('Reshape', [names.X, g.ints([-1, ...spec.input])]);
  for (const [li, l] of plan.layers.entries()) low.forward(l, li);
  const pred = low.values[plan.values.length - 1]!;
  const needGrad = options.gradients ?? true;
  const lo = lowerLoss(g, loss, pred, names.Y, needGrad);
  const grads: Record<string, string> = {};
  if (needGrad && lo.dP) {
    const dv: (string | undefined)[] = [];
    dv[plan.values.length - 1] = lo.dP;
    for (let li = plan.layers.length - 1; li >= 0; li--) {
      const l = plan.layers[li]!;
      low.backward(l, li, dv[l.output]!, dv, grads);
    }
  }
  return { pred, loss: lo.loss, grads, buffers: low.buffersOut };
}

/**
 * A standalone ONNX model of a conv net's loss, logits, analytic gradients and running statistics.
 * Inputs: `X` [n, C·H·W], `Y` [n, classes], one input per parameter and per running statistic
 * (PyTorch names); outputs: `loss`, `pred` [n, classes], `grad.<param>` and, in train mode,
 * `buffer.<name>` (the updated running statistics). `options`: train or eval mode, and
 * `nchwcBlock` as in {@link ConvLoweringOptions}.
 */
export function buildConvLossGradModel(
  spec: ResNetSpec,
  loss: LossName,
  options: Pick<ConvLoweringOptions, 'train' | 'nchwcBlock'>,
): Uint8Array {
  const shapes = resnetParamShapes(spec);
  const bufShapes = resnetBufferShapes(spec);
  const g = new OnnxGraph('convlossgrad');
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const X = g.input('X', 'float32', ['n', d]);
  const Y = g.input('Y', 'float32', ['n', spec.classes]);
  const params: Record<string, string> = {};
  for (const [name, shape] of Object.entries(shapes)) params[name] = g.input(name, 'float32', shape);
  const buffers: Record<string, string> = {};
  for (const [name, shape] of Object.entries(bufShapes)) buffers[name] = g.input(name, 'float32', shape);
  const out = lowerConvNetOnnx(g, spec, { X, Y, params, buffers }, loss, {
    train: options.train,
    ...(options.nchwcBlock !== undefined ? { nchwcBlock: options.nchwcBlock } : {}),
  });
  g.output(out.loss, 'float32', [], 'loss');
  g.output(out.pred, 'float32', ['n', spec.classes], 'pred');
  for (const [name, shape] of Object.entries(shapes))
    g.output(out.grads[name]!, 'float32', shape, `grad.${name}`);
  if (options.train)
    for (const [name, shape] of Object.entries(bufShapes))
      g.output(out.buffers[name]!, 'float32', shape, `buffer.${name}`);
  return g.toModel();
}

/**
 * The frozen trunk as a standalone ONNX model: the eval-mode forward of the layers before stage
 * `stage` (default the final one; see `splitResNet`). Inputs: `X` [n, C·H·W], one per trunk
 * parameter and running statistic (PyTorch names); output: `features` [n, C'·H'·W'], the X of
 * `splitResNet(spec, stage).head`. Run it once over a data set to train the head alone.
 * `options.nchwcBlock`: as in {@link ConvLoweringOptions}.
 */
export function buildConvFeaturesModel(
  spec: ResNetSpec,
  stage?: number,
  options: Pick<ConvLoweringOptions, 'nchwcBlock'> = {},
): Uint8Array {
  const { trunk, features } = splitResNet(spec, stage);
  const g = new OnnxGraph('convfeatures');
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const X = g.input('X', 'float32', ['n', d]);
  const params: Record<string, string> = {};
  for (const [name, shape] of Object.entries(planParamShapes(trunk)))
    params[name] = g.input(name, 'float32', shape);
  const buffers: Record<string, string> = {};
  for (const [name, shape] of Object.entries(planBufferShapes(trunk)))
    buffers[name] = g.input(name, 'float32', shape);
  const low = new ConvLowering(
    g,
    trunk,
    { X, Y: '', params, buffers },
    false,
    nchwcBlockOf(options, 'buildConvFeaturesModel'),
  );
  low.values[0] = g.op('Reshape', [X, g.ints([-1, ...spec.input])]);
  for (const [li, l] of trunk.layers.entries()) low.forward(l, li);
  const size = features[0] * features[1] * features[2];
  g.output(
    g.op('Reshape', [low.values[trunk.values.length - 1]!, g.ints([-1, size])]),
    'float32',
    ['n', size],
    'features',
  );
  return g.toModel();
}
