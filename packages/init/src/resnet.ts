import {
  type ConvLayer,
  type ParamTree,
  type ResNetSpec,
  type Rng,
  hostTensor,
  planResNet,
  resnetBufferShapes,
  resnetParamShapes,
  validateResNetSpec,
} from '@narrownet/models';
import { type Distribution, fans, fillDistribution } from './variance.js';

/** Options of {@link initResNet}. */
export interface ResNetInitOptions {
  /**
   * Mirrored LeCun on the final stage (Zhang et al. Alg. 2 on the final CNN block, App. G and
   * App. H.1 "repeat lines 12-14 for every hidden layer, including the BatchNorm layer and the
   * CNNs in the shortcut layers"): the net outputs exactly 0 at init. Needs `head: 'paired'`.
   * Default false (plain LeCun everywhere).
   */
  readonly mirrorFinalStage?: boolean;
  /** Replace the drawn head weights by their absolute values (a v ≥ ζ constraint needs it). Default false. */
  readonly absOuter?: boolean;
  /** Distribution of the LeCun draws. Default `normal`. */
  readonly distribution?: Distribution;
}

/** Parameters and batch-norm running statistics of a freshly initialised conv net. */
export interface ResNetInit {
  readonly params: ParamTree;
  /** Running statistics as PyTorch starts them: means 0, variances 1. */
  readonly buffers: ParamTree;
}

/**
 * LeCun initialization of a conv net: every convolution and head weight N(0, 1/fan_in) with
 * fan_in = in_channels·k·k (convolutions) or the number of pooled features F (the head; F also
 * for the paired head, whose weight has F/2 columns, as Alg. 1 gives v fan_in m); batch-norm
 * weights 1 and biases 0, the linear bias 0; running means 0 and variances 1.
 *
 * With `mirrorFinalStage`, the final stage is mirrored so that the output is exactly 0: every
 * convolution of the final stage (both convolutions of each block and the 1×1 projection
 * shortcut) has its output-channel rows c + m/2 set equal to rows c (m = the stage's width), and
 * every batch norm whose input channels are so duplicated has its weight and bias duplicated the
 * same way (at init they are 1 and 0, so this holds already; it is checked on the plan). By
 * induction over the plan, channel c + m/2 of every feature map of the final stage equals channel
 * c — in train mode too, since equal channels have equal batch statistics — whatever the input
 * of the stage; the identity shortcut, ReLU and global average pooling keep the pairing, so the
 * pooled features have equal halves h₁ = h₂ and the paired head (h₁ − h₂) Wᵀ is exactly 0. This
 * is Alg. 1's "second half of w copies the first" applied to the output channels of each layer
 * of the block; the pre-activation block's first batch norm, which acts on the previous stage's
 * channels, is not mirrored (its channels are not the stage's).
 *
 * @param spec - the conv net (`head: 'paired'` and an even final width when mirroring)
 * @param options - mirroring, |v|, distribution
 * @param rng - seeded generator; each tensor draws from `rng.fork(name)`
 */
export function initResNet(spec: ResNetSpec, options: ResNetInitOptions, rng: Rng): ResNetInit {
  validateResNetSpec(spec);
  for (const key of ['mirrorFinalStage', 'absOuter'] as const)
    if (options?.[key] !== undefined && typeof options[key] !== 'boolean')
      throw new RangeError(
        `initResNet: options.${key} must be true or false, got ${JSON.stringify(options[key])}`,
      );
  const distribution = options.distribution ?? 'normal';
  const mirror = options.mirrorFinalStage ?? false;
  const plan = planResNet(spec);
  const params: ParamTree = {};
  for (const [name, shape] of Object.entries(resnetParamShapes(spec))) {
    const t = hostTensor(shape);
    if (name.endsWith('.bias')) {
      // Batch-norm and linear biases start at 0.
    } else if (shape.length === 1)
      t.data.fill(1); // batch-norm weight
    else {
      const head = plan.layers.find(
        (l): l is Extract<ConvLayer, { op: 'pairedLinear' }> =>
          l.op === 'pairedLinear' && `${l.name}.weight` === name,
      );
      const fanIn = head ? head.inFeatures : fans(shape).fanIn;
      fillDistribution(t.data, 1 / fanIn, distribution, rng.fork(name));
      if (head && options.absOuter) for (let i = 0; i < t.data.length; i++) t.data[i] = Math.abs(t.data[i]!);
    }
    params[name] = t;
  }
  if (mirror) mirrorFinalStage(spec, params);
  const buffers: ParamTree = {};
  for (const [name, shape] of Object.entries(resnetBufferShapes(spec)))
    buffers[name] = hostTensor(shape, new Float32Array(shape[0]!).fill(name.endsWith('running_var') ? 1 : 0));
  return { params, buffers };
}

/** Copies the first half of the leading axis of `t` onto its second half. */
function mirrorRows(t: { shape: readonly number[]; data: Float32Array }): void {
  const rows = t.shape[0]!;
  const row = t.data.length / rows;
  t.data.copyWithin((rows / 2) * row, 0, (rows / 2) * row);
}

function mirrorFinalStage(spec: ResNetSpec, params: ParamTree): void {
  if (spec.head !== 'paired')
    throw new RangeError(
      "initResNet: mirrorFinalStage needs spec.head = 'paired' (the output layer cut in half)",
    );
  const m = spec.stages[spec.stages.length - 1]!.width;
  if (m % 2 !== 0) throw new RangeError(`initResNet: mirrorFinalStage needs an even final width, got ${m}`);
  const plan = planResNet(spec);
  const prefix = `layer${spec.stages.length}.`;
  // Which values have channel c + m/2 equal to channel c, propagated through the plan.
  const paired = new Array<boolean>(plan.values.length).fill(false);
  for (const l of plan.layers) {
    if (l.op === 'conv') {
      if (l.weight.startsWith(prefix)) {
        mirrorRows(params[l.weight]!);
        paired[l.output] = true;
      }
    } else if (l.op === 'batchNorm') {
      if (paired[l.input]) {
        mirrorRows(params[`${l.name}.weight`]!);
        mirrorRows(params[`${l.name}.bias`]!);
        paired[l.output] = true;
      }
    } else if (l.op === 'add') paired[l.output] = paired[l.inputs[0]]! && paired[l.inputs[1]]!;
    else if (l.op === 'relu' || l.op === 'globalAvgPool' || l.op === 'maxPool')
      paired[l.output] = paired[l.input]!;
    else if (!paired[l.input])
      throw new Error('initResNet: the head input is not mirrored (plan does not end in the final stage)');
  }
}
