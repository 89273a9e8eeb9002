/**
 * Residual convolutional nets (ResNet-18 and PreActResNet18 of He et al. 2016, CIFAR layout of
 * kuangliu/pytorch-cifar) as plain data, and their compilation into a flat list of layers
 * ({@link ConvPlan}) that the float64 reference, the ONNX lowering and any other engine walk.
 *
 * Layout and names follow PyTorch so that a state dict maps 1:1: activations are NCHW, a
 * convolution weight is [out, in, kh, kw], a linear weight [out, in]; parameter names are the
 * module paths (`conv1.weight`, `layer4.1.bn2.bias`, `layer2.0.shortcut.0.weight`, `linear.weight`).
 */

/** One stage of residual blocks: all blocks have `width` channels; the first has stride `stride`. */
export interface ResNetStage {
  /** Output channels of every block of the stage. */
  readonly width: number;
  /** Number of residual blocks (2 in ResNet-18). */
  readonly blocks: number;
  /** Stride of the stage's first block (its other blocks have stride 1). */
  readonly stride: number;
}

/**
 * A max pooling window (PyTorch's `nn.MaxPool2d(kernel, stride, padding)`, floor mode): the
 * output is ⌊(size + 2·padding − kernel)/stride⌋ + 1 per axis, the padding never wins (it acts
 * as −∞), and `padding` is at most ⌊kernel/2⌋ as PyTorch requires.
 */
export interface MaxPool2d {
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}

/**
 * The stem before the first stage: one convolution (no bias), then (basic blocks, or any block
 * with `pool`) batch norm `bn1` and ReLU, then the optional max pooling `pool`. torchvision's
 * ImageNet ResNet-18 stem is `{ kernel: 7, stride: 2, padding: 3, pool: { kernel: 3, stride: 2,
 * padding: 1 } }`.
 */
export interface ResNetStem {
  readonly channels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  /**
   * Max pooling after the stem's bn + relu (torchvision's `maxpool`); absent or null: none.
   * With pre-activation blocks a pooled stem is conv → bn1 → relu → pool, the ImageNet stem of
   * the pre-activation ResNets of He et al. 2016 (fb.resnet.torch `preresnet.lua`); an unpooled
   * pre-activation stem stays the single convolution of the CIFAR layout.
   */
  readonly pool?: MaxPool2d | null;
}

/**
 * A residual network of basic blocks (`block: 'basic'`: conv-bn-relu-conv-bn, add, relu) or
 * pre-activation blocks (`block: 'preact'`: bn-relu-conv-bn-relu-conv, add), then global average
 * pooling and a linear head with bias. The input X is row-major [n, C·H·W], i.e. NCHW flattened.
 *
 * - basic: stem conv → bn → relu [→ max pool] → stages → global average pool → linear (torchvision/kuangliu ResNet);
 * - preact: stem conv [→ bn → relu → max pool] → stages → bn → relu → global average pool → linear (kuangliu PreActResNet).
 *
 * A block whose stride is not 1 or whose input width differs from its width gets a 1×1 projection
 * shortcut (`shortcut.0` a 1×1 convolution with that stride; for basic blocks `shortcut.1` a batch
 * norm); otherwise the shortcut is the identity. In a pre-activation block the shortcut reads the
 * pre-activated input relu(bn1(x)) when it is a projection, and x itself when it is the identity.
 * Batch norms have affine weight and bias, `eps` and PyTorch's running-statistics `momentum`.
 */
export interface ResNetSpec {
  readonly kind: 'resnet';
  readonly block: 'basic' | 'preact';
  /** Input [channels, height, width]. */
  readonly input: readonly [number, number, number];
  /** The stem convolution; `null` feeds the image straight into the first block (single-block nets). */
  readonly stem: ResNetStem | null;
  readonly stages: readonly ResNetStage[];
  /** Number of classes (outputs of the linear head). */
  readonly classes: number;
  /**
   * `linear` (default): logits = h Wᵀ + b, `linear.weight` [classes, F], `linear.bias` [classes].
   * `paired`: Zhang et al.'s output layer cut in half (eq. 6, App. H.1 `fc2`): logits =
   * (h₁ − h₂) Wᵀ with h₁, h₂ the first and second halves of the F pooled features,
   * `linear.weight` [classes, F/2] and no bias (F even). With a mirrored final block
   * (h₁ = h₂) the net outputs exactly 0.
   */
  readonly head?: 'linear' | 'paired';
  /**
   * Number of stages before the first one listed, for naming only: stage s is named
   * `layer{s + 1 + stageOffset}`. Default 0. {@link splitResNet} sets it so that a net made of
   * the final stages keeps the names the full net gives them.
   */
  readonly stageOffset?: number;
  /** Batch-norm epsilon. Default 1e-5 (PyTorch). */
  readonly bnEps?: number;
  /** Running-statistics momentum: r ← (1 − momentum)·r + momentum·batch. Default 0.1 (PyTorch). */
  readonly bnMomentum?: number;
}

/** Options of {@link resnet18}. */
export interface ResNet18Options {
  readonly block?: 'basic' | 'preact';
  /** Input [channels, height, width]. Default [3, 32, 32]. */
  readonly input?: readonly [number, number, number];
  readonly classes: number;
  /** Widths of the four stages. Default [64, 128, 256, 512]. */
  readonly widths?: readonly [number, number, number, number];
  /**
   * Width of the final (4th) stage, overriding `widths[3]`: the "final CNN block" that Zhang et
   * al. (Sec. 5.2, App. H.2) narrow from 512 to 64.
   */
  readonly finalWidth?: number;
  /** Channels of the stem. Default `widths[0]`. */
  readonly stemChannels?: number;
  /**
   * `cifar` (default): 3×3 stride-1 stem, no pooling, input [3, 32, 32] (kuangliu/pytorch-cifar).
   * `imagenet`: torchvision's stem, a 7×7 stride-2 convolution with padding 3, bn, relu and a
   * 3×3 stride-2 max pooling with padding 1, input [3, 224, 224] by default.
   */
  readonly layout?: 'cifar' | 'imagenet';
}

/** torchvision's ImageNet stem geometry (7×7/2 convolution, 3×3/2 max pooling). */
const IMAGENET_STEM = {
  kernel: 7,
  stride: 2,
  padding: 3,
  pool: { kernel: 3, stride: 2, padding: 1 },
} as const;

/**
 * ResNet-18 (or PreActResNet18 with `block: 'preact'`) in the CIFAR layout (3×3 stride-1 stem)
 * or, with `layout: 'imagenet'`, torchvision's (7×7 stride-2 stem and 3×3 stride-2 max pooling):
 * four stages of two blocks with strides 1, 2, 2, 2, global average pooling, linear head.
 */
export function resnet18(options: ResNet18Options): ResNetSpec {
  const widths = [...(options.widths ?? [64, 128, 256, 512])];
  if (options.finalWidth !== undefined) widths[3] = options.finalWidth;
  const strides = [1, 2, 2, 2];
  const layout = options.layout ?? 'cifar';
  if (layout !== 'cifar' && layout !== 'imagenet')
    throw new RangeError(`resnet18: layout must be 'cifar' or 'imagenet', got ${JSON.stringify(layout)}`);
  const channels = options.stemChannels ?? widths[0]!;
  return {
    kind: 'resnet',
    block: options.block ?? 'basic',
    input: options.input ?? (layout === 'imagenet' ? [3, 224, 224] : [3, 32, 32]),
    stem:
      layout === 'imagenet' ? { channels, ...IMAGENET_STEM } : { channels, kernel: 3, stride: 1, padding: 1 },
    stages: widths.map((width, i) => ({ width, blocks: 2, stride: strides[i]! })),
    classes: options.classes,
  };
}

/** A value of the plan: NCHW feature maps [C, H, W] per sample, or features [F] per sample. */
export type ConvValueShape = readonly [number, number, number] | readonly [number];

/** One layer of a {@link ConvPlan}; `input`/`output` index {@link ConvPlan.values}. */
export type ConvLayer =
  | {
      readonly op: 'conv';
      readonly input: number;
      readonly output: number;
      /** Parameter name of the weight [cout, cin, k, k]. */
      readonly weight: string;
      readonly cin: number;
      readonly cout: number;
      readonly kernel: number;
      readonly stride: number;
      readonly padding: number;
    }
  | {
      readonly op: 'batchNorm';
      readonly input: number;
      readonly output: number;
      /** Module path: parameters `<name>.weight`, `<name>.bias`, buffers `<name>.running_mean`, `<name>.running_var`. */
      readonly name: string;
      readonly channels: number;
    }
  | { readonly op: 'relu'; readonly input: number; readonly output: number }
  | {
      /** Max pooling per channel (no parameters); the gradient goes to the first maximum of each window. */
      readonly op: 'maxPool';
      readonly input: number;
      readonly output: number;
      readonly kernel: number;
      readonly stride: number;
      readonly padding: number;
    }
  | { readonly op: 'add'; readonly inputs: readonly [number, number]; readonly output: number }
  | { readonly op: 'globalAvgPool'; readonly input: number; readonly output: number }
  | {
      readonly op: 'linear';
      readonly input: number;
      readonly output: number;
      /** Module path: `<name>.weight` [out, in], `<name>.bias` [out]. */
      readonly name: string;
      readonly inFeatures: number;
      readonly outFeatures: number;
    }
  | {
      /** logits = (x[:, :F/2] − x[:, F/2:]) Wᵀ, no bias (the paired head of {@link ResNetSpec}). */
      readonly op: 'pairedLinear';
      readonly input: number;
      readonly output: number;
      /** Module path: `<name>.weight` [out, in/2]. */
      readonly name: string;
      /** F, the number of input features (even); the weight has F/2 columns. */
      readonly inFeatures: number;
      readonly outFeatures: number;
    };

/**
 * A conv net as a topologically ordered list of layers over numbered values. Value 0 is the input
 * image; the last layer's output is the logits. A value read by several layers (a block input
 * feeding both the residual branch and the shortcut) gets the sum of their gradients.
 */
export interface ConvPlan {
  readonly values: readonly ConvValueShape[];
  readonly layers: readonly ConvLayer[];
  readonly bnEps: number;
  readonly bnMomentum: number;
}

function positiveInt(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`model spec: ${field} must be a positive integer, got ${JSON.stringify(value)}`);
  }
}

/** Output size of a convolution along one axis: ⌊(size + 2p − k)/s⌋ + 1. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** Checks a {@link ResNetSpec} and throws a RangeError naming the offending field. */
export function validateResNetSpec(spec: ResNetSpec): ResNetSpec {
  if (spec.block !== 'basic' && spec.block !== 'preact') {
    throw new RangeError(`model spec: block must be 'basic' or 'preact', got ${JSON.stringify(spec.block)}`);
  }
  if (!Array.isArray(spec.input) || spec.input.length !== 3) {
    throw new RangeError('model spec: input must be [channels, height, width]');
  }
  for (const [i, v] of spec.input.entries()) positiveInt(v, `input[${i}]`);
  if (spec.stem !== null) {
    if (typeof spec.stem !== 'object') throw new RangeError('model spec: stem must be an object or null');
    positiveInt(spec.stem.channels, 'stem.channels');
    positiveInt(spec.stem.kernel, 'stem.kernel');
    positiveInt(spec.stem.stride, 'stem.stride');
    if (!Number.isInteger(spec.stem.padding) || spec.stem.padding < 0)
      throw new RangeError(
        `model spec: stem.padding must be a non-negative integer, got ${spec.stem.padding}`,
      );
    const pool = spec.stem.pool;
    if (pool !== undefined && pool !== null) {
      if (typeof pool !== 'object') throw new RangeError('model spec: stem.pool must be an object or null');
      positiveInt(pool.kernel, 'stem.pool.kernel');
      positiveInt(pool.stride, 'stem.pool.stride');
      if (!Number.isInteger(pool.padding) || pool.padding < 0 || pool.padding > Math.floor(pool.kernel / 2))
        throw new RangeError(
          `model spec: stem.pool.padding must be an integer in [0, ⌊kernel/2⌋ = ${Math.floor(pool.kernel / 2)}], got ${JSON.stringify(pool.padding)}`,
        );
    }
  }
  if (!Array.isArray(spec.stages) || spec.stages.length === 0)
    throw new RangeError('model spec: stages must list at least one stage');
  spec.stages.forEach((s, i) => {
    positiveInt(s.width, `stages[${i}].width`);
    positiveInt(s.blocks, `stages[${i}].blocks`);
    positiveInt(s.stride, `stages[${i}].stride`);
  });
  positiveInt(spec.classes, 'classes');
  if (spec.stageOffset !== undefined && !(Number.isInteger(spec.stageOffset) && spec.stageOffset >= 0))
    throw new RangeError(`model spec: stageOffset must be a non-negative integer, got ${spec.stageOffset}`);
  if (spec.head !== undefined && spec.head !== 'linear' && spec.head !== 'paired')
    throw new RangeError(`model spec: head must be 'linear' or 'paired', got ${JSON.stringify(spec.head)}`);
  const eps = spec.bnEps ?? 1e-5;
  if (!(eps > 0)) throw new RangeError(`model spec: bnEps must be positive, got ${spec.bnEps}`);
  const mom = spec.bnMomentum ?? 0.1;
  if (!(mom >= 0 && mom <= 1)) throw new RangeError(`model spec: bnMomentum must be in [0, 1], got ${mom}`);
  planResNet(spec); // spatial sizes stay positive
  return spec;
}

/**
 * Compiles a {@link ResNetSpec} into its {@link ConvPlan}. Throws a RangeError when a layer's
 * spatial output would be empty.
 */
export function planResNet(spec: ResNetSpec): ConvPlan {
  const values: ConvValueShape[] = [[...spec.input] as [number, number, number]];
  const layers: ConvLayer[] = [];
  const map = (v: number): readonly [number, number, number] => values[v] as [number, number, number];
  const push = (shape: ConvValueShape): number => values.push(shape) - 1;
  const conv = (
    input: number,
    weight: string,
    cout: number,
    kernel: number,
    stride: number,
    padding: number,
  ) => {
    const [cin, h, w] = map(input);
    const ho = convOutputSize(h, kernel, stride, padding);
    const wo = convOutputSize(w, kernel, stride, padding);
    if (ho <= 0 || wo <= 0)
      throw new RangeError(`model spec: ${weight} maps ${h}×${w} to an empty ${ho}×${wo} output`);
    const output = push([cout, ho, wo]);
    layers.push({ op: 'conv', input, output, weight, cin, cout, kernel, stride, padding });
    return output;
  };
  const bn = (input: number, name: string) => {
    const output = push(map(input));
    layers.push({ op: 'batchNorm', input, output, name, channels: map(input)[0] });
    return output;
  };
  const relu = (input: number) => {
    const output = push(values[input]!);
    layers.push({ op: 'relu', input, output });
    return output;
  };
  const add = (a: number, b: number) => {
    const output = push(values[a]!);
    layers.push({ op: 'add', inputs: [a, b], output });
    return output;
  };

  const maxPool = (input: number, { kernel, stride, padding }: MaxPool2d) => {
    const [c, h, w] = map(input);
    const ho = convOutputSize(h, kernel, stride, padding);
    const wo = convOutputSize(w, kernel, stride, padding);
    if (ho <= 0 || wo <= 0)
      throw new RangeError(`model spec: stem.pool maps ${h}×${w} to an empty ${ho}×${wo} output`);
    const output = push([c, ho, wo]);
    layers.push({ op: 'maxPool', input, output, kernel, stride, padding });
    return output;
  };

  let cur = 0;
  if (spec.stem) {
    const { pool } = spec.stem;
    cur = conv(0, 'conv1.weight', spec.stem.channels, spec.stem.kernel, spec.stem.stride, spec.stem.padding);
    if (spec.block === 'basic' || pool) cur = relu(bn(cur, 'bn1'));
    if (pool) cur = maxPool(cur, pool);
  }
  spec.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.blocks; b++) {
      const p = `layer${s + 1 + (spec.stageOffset ?? 0)}.${b}`;
      const stride = b === 0 ? stage.stride : 1;
      const project = stride !== 1 || map(cur)[0] !== stage.width;
      if (spec.block === 'basic') {
        const r = bn(
          conv(
            relu(bn(conv(cur, `${p}.conv1.weight`, stage.width, 3, stride, 1), `${p}.bn1`)),
            `${p}.conv2.weight`,
            stage.width,
            3,
            1,
            1,
          ),
          `${p}.bn2`,
        );
        const sc = project
          ? bn(conv(cur, `${p}.shortcut.0.weight`, stage.width, 1, stride, 0), `${p}.shortcut.1`)
          : cur;
        cur = relu(add(r, sc));
      } else {
        const a = relu(bn(cur, `${p}.bn1`));
        const r = conv(
          relu(bn(conv(a, `${p}.conv1.weight`, stage.width, 3, stride, 1), `${p}.bn2`)),
          `${p}.conv2.weight`,
          stage.width,
          3,
          1,
          1,
        );
        // The shortcut after the branch, so that parameters come in PyTorch's registration order.
        const sc = project ? conv(a, `${p}.shortcut.0.weight`, stage.width, 1, stride, 0) : cur;
        cur = add(r, sc);
      }
    }
  });
  if (spec.block === 'preact') cur = relu(bn(cur, 'bn'));
  const features = map(cur)[0];
  const pooled = push([features]);
  layers.push({ op: 'globalAvgPool', input: cur, output: pooled });
  const logits = push([spec.classes]);
  if (spec.head === 'paired' && features % 2 !== 0)
    throw new RangeError(`model spec: a paired head needs an even number of final features, got ${features}`);
  layers.push({
    op: spec.head === 'paired' ? 'pairedLinear' : 'linear',
    input: pooled,
    output: logits,
    name: 'linear',
    inFeatures: features,
    outFeatures: spec.classes,
  });
  return { values, layers, bnEps: spec.bnEps ?? 1e-5, bnMomentum: spec.bnMomentum ?? 0.1 };
}

/** Trainable parameters of a conv net with their shapes, in plan order (PyTorch names). */
export function resnetParamShapes(spec: ResNetSpec): Record<string, number[]> {
  return planParamShapes(planResNet(spec));
}

/** The parameters the layers of a plan read, with their shapes, in plan order. */
export function planParamShapes(plan: ConvPlan): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const l of plan.layers) {
    if (l.op === 'conv') out[l.weight] = [l.cout, l.cin, l.kernel, l.kernel];
    else if (l.op === 'batchNorm') {
      out[`${l.name}.weight`] = [l.channels];
      out[`${l.name}.bias`] = [l.channels];
    } else if (l.op === 'linear') {
      out[`${l.name}.weight`] = [l.outFeatures, l.inFeatures];
      out[`${l.name}.bias`] = [l.outFeatures];
    } else if (l.op === 'pairedLinear') out[`${l.name}.weight`] = [l.outFeatures, l.inFeatures / 2];
  }
  return out;
}

/**
 * Batch-norm running statistics (`<bn>.running_mean`, `<bn>.running_var`, each [channels]): state
 * that is not trained by gradients but updated by train-mode forward passes and read in eval mode.
 */
export function resnetBufferShapes(spec: ResNetSpec): Record<string, number[]> {
  return planBufferShapes(planResNet(spec));
}

/** The running statistics the batch norms of a plan read, with their shapes. */
export function planBufferShapes(plan: ConvPlan): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const l of plan.layers) {
    if (l.op === 'batchNorm') {
      out[`${l.name}.running_mean`] = [l.channels];
      out[`${l.name}.running_var`] = [l.channels];
    }
  }
  return out;
}

/** A conv net cut before one stage: see {@link splitResNet}. */
export interface ResNetSplit {
  /**
   * The layers before the stage (stem and earlier stages); its last value is the features
   * [C, H, W] the stage reads (value 0, the image, when nothing comes before).
   */
  readonly trunk: ConvPlan;
  /** The features' shape [C, H, W]. */
  readonly features: readonly [number, number, number];
  /**
   * The stage, the stages after it and the head as a net of their own on the features
   * (`stem: null`, `stageOffset` set): its parameter names are those of the full net.
   */
  readonly head: ResNetSpec;
}

/**
 * Cuts a conv net before stage `stage` (0-based; default the final stage): the frozen-trunk mode
 * of the final-block regime. When only the final block and the head are trained, the trunk's
 * features can be computed once per input (`convFeatures64`, `buildConvFeaturesModel`, in eval
 * mode: running statistics, so they do not depend on the batch) and the head net trained on
 * them alone. Features cached once are only valid for fixed inputs (no random crops or flips).
 */
export function splitResNet(spec: ResNetSpec, stage = spec.stages.length - 1): ResNetSplit {
  validateResNetSpec(spec);
  if (!Number.isInteger(stage) || stage < 0 || stage >= spec.stages.length)
    throw new RangeError(`splitResNet: stage must be 0..${spec.stages.length - 1}, got ${stage}`);
  const plan = planResNet(spec);
  const prefix = `layer${stage + 1 + (spec.stageOffset ?? 0)}.`;
  const names = (l: ConvLayer): string | undefined =>
    l.op === 'conv' ? l.weight : 'name' in l ? `${l.name}.` : undefined;
  const cut = plan.layers.findIndex((l) => names(l)?.startsWith(prefix));
  const layers = plan.layers.slice(0, cut);
  const last = layers.length ? layers[layers.length - 1]!.output : 0;
  const features = plan.values[last] as readonly [number, number, number];
  const trunk: ConvPlan = { ...plan, values: plan.values.slice(0, last + 1), layers };
  const { stem: _stem, ...rest } = spec;
  const head: ResNetSpec = {
    ...rest,
    input: [...features] as [number, number, number],
    stem: null,
    stages: spec.stages.slice(stage),
    stageOffset: (spec.stageOffset ?? 0) + stage,
  };
  return { trunk, features, head };
}

/** Fresh running statistics as PyTorch initialises them: means 0, variances 1. */
export function initialBuffers(spec: ResNetSpec): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, [c]] of Object.entries(resnetBufferShapes(spec)))
    out[name] = new Float64Array(c!).fill(name.endsWith('running_var') ? 1 : 0);
  return out;
}

/**
 * Names of the parameters of one stage (0-based; default the last, the "final CNN block" that
 * Zhang et al. narrow and constrain): every parameter under `layer{stage+1}.`, in plan order.
 */
export function resnetStageParams(spec: ResNetSpec, stage = spec.stages.length - 1): string[] {
  if (!Number.isInteger(stage) || stage < 0 || stage >= spec.stages.length)
    throw new RangeError(`resnetStageParams: stage must be 0..${spec.stages.length - 1}, got ${stage}`);
  const prefix = `layer${stage + 1}.`;
  return Object.keys(resnetParamShapes(spec)).filter((k) => k.startsWith(prefix));
}
