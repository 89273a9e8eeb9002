import { type ActivationSpec, activation } from '../activations.js';
import { LOSS_NAMES, type LossName } from '../losses.js';
import { type ModelSpec, inputDim, outputDim, paramShapes, requireMlpLike, validateSpec } from '../spec.js';
import { OnnxGraph, attr } from './builder.js';

/** Value names of the inputs a lowering reads. */
export interface LoweringInputs {
  /** Inputs X [n, inputDim]. */
  readonly X: string;
  /** Targets Y [n, outputDim]. */
  readonly Y: string;
  /** Current parameter values keyed by parameter name (every name of `paramShapes(spec)`). */
  readonly params: Readonly<Record<string, string>>;
}

/** Value names a lowering produced. */
export interface LoweringOutputs {
  /** Predictions [n, outputDim]. */
  readonly pred: string;
  /** Scalar loss. */
  readonly loss: string;
  /** ∂loss/∂parameter keyed by parameter name (empty when gradients were not asked for). */
  readonly grads: Record<string, string>;
  /**
   * Finiteness witnesses: forward values (pre-activations and predictions, [n, ·]) that are all
   * finite only if every parameter named in `covers` is. Each is a matrix product (plus bias) in
   * which every entry of its weight meets every row of a finite input, and ∞·x and NaN·x are
   * never finite (∞·0 is NaN), so a non-finite weight entry makes a whole column non-finite;
   * layer by layer, finite witnesses prove finite parameters. Checking them costs a pass over
   * [n, width] values instead of over the weights. Assumes X is finite and has at least one row.
   */
  readonly witnesses?: { readonly values: readonly string[]; readonly covers: readonly string[] };
}

/** Options of {@link lowerModelOnnx}. */
export interface LoweringOptions {
  /** Emit the analytic backward pass. Default true; false gives forward + loss only. */
  readonly gradients?: boolean;
}

/** σ(z) and, when asked, σ'(z) as ONNX value names; `dh` undefined means σ' ≡ 1 (or not asked). */
export interface LoweredActivation {
  h: string;
  dh?: string;
}

/**
 * Emits σ(z) and (with `needGrad`) σ'(z) elementwise into `g`, with the derivative conventions of
 * `activation(spec).df` (relu/leakyRelu: the left derivative at 0, i.e. 0 and the slope, as tfjs;
 * abs: 0 at 0; gelu exact erf).
 */
export function lowerActivationOnnx(
  g: OnnxGraph,
  spec: ActivationSpec,
  z: string,
  needGrad: boolean,
): LoweredActivation {
  const a = activation(spec);
  const one = (): string => g.scalar(1);
  switch (a.name) {
    case 'tanh': {
      const h = g.op('Tanh', [z]);
      return { h, dh: needGrad ? g.op('Sub', [one(), g.op('Mul', [h, h])]) : undefined };
    }
    case 'sigmoid': {
      const h = g.op('Sigmoid', [z]);
      return { h, dh: needGrad ? g.op('Mul', [h, g.op('Sub', [one(), h])]) : undefined };
    }
    case 'softplus': {
      // log(1 + e^{αz})/α = (max(αz, 0) + log(1 + e^{−|αz|}))/α, stable for every z.
      const az = a.alpha === 1 ? z : g.op('Mul', [z, g.scalar(a.alpha)]);
      const tail = g.op('Log', [g.op('Add', [one(), g.op('Exp', [g.op('Neg', [g.op('Abs', [az])])])])]);
      let h = g.op('Add', [g.op('Relu', [az]), tail]);
      if (a.alpha !== 1) h = g.op('Div', [h, g.scalar(a.alpha)]);
      return { h, dh: needGrad ? g.op('Sigmoid', [az]) : undefined };
    }
    case 'gelu': {
      const cdf = g.op('Mul', [
        g.scalar(0.5),
        g.op('Add', [one(), g.op('Erf', [g.op('Mul', [z, g.scalar(Math.SQRT1_2)])])]),
      ]);
      const h = g.op('Mul', [z, cdf]);
      if (!needGrad) return { h };
      const pdf = g.op('Mul', [
        g.scalar(1 / Math.sqrt(2 * Math.PI)),
        g.op('Exp', [g.op('Mul', [g.scalar(-0.5), g.op('Mul', [z, z])])]),
      ]);
      return { h, dh: g.op('Add', [cdf, g.op('Mul', [z, pdf])]) };
    }
    case 'relu': {
      const h = g.op('Relu', [z]);
      if (!needGrad) return { h };
      return { h, dh: g.op('Cast', [g.op('Greater', [z, g.scalar(0)])], { to: attr.i(1) }) };
    }
    case 'leakyRelu': {
      const pos = g.op('Greater', [z, g.scalar(0)]);
      const h = g.op('Where', [pos, z, g.op('Mul', [z, g.scalar(a.slope)])]);
      return { h, dh: needGrad ? g.op('Where', [pos, one(), g.scalar(a.slope)]) : undefined };
    }
    case 'abs':
      return { h: g.op('Abs', [z]), dh: needGrad ? g.op('Sign', [z]) : undefined };
    case 'identity':
      return { h: z };
  }
}

/** Emits the loss of P against Y and (when asked) G = ∂loss/∂P. */
export function lowerLoss(
  g: OnnxGraph,
  loss: LossName,
  P: string,
  Y: string,
  needGrad: boolean,
): { loss: string; dP?: string } {
  const noKeep = { keepdims: attr.i(0) };
  if (loss === 'halfSse' || loss === 'mse') {
    const r = g.op('Sub', [P, Y]);
    const sq = g.op('ReduceSumSquare', [r], noKeep);
    if (loss === 'halfSse') return { loss: g.op('Mul', [sq, g.scalar(0.5)]), dP: needGrad ? r : undefined };
    const count = g.op('Cast', [g.op('Size', [r])], { to: attr.i(1) });
    return {
      loss: g.op('Div', [sq, count]),
      dP: needGrad ? g.op('Div', [g.op('Mul', [r, g.scalar(2)]), count]) : undefined,
    };
  }
  if (loss === 'softmaxCrossEntropy') {
    const logp = g.op('LogSoftmax', [P], { axis: attr.i(1) });
    const rows = g.op(
      'Cast',
      [g.op('Gather', [g.op('Shape', [P]), g.constant({ dtype: 'int64', shape: [], values: [0] })])],
      { to: attr.i(1) },
    );
    const total = g.op('ReduceSum', [g.op('Mul', [Y, logp])], noKeep);
    const value = g.op('Div', [g.op('Neg', [total]), rows]);
    if (!needGrad) return { loss: value };
    const ysum = g.op('ReduceSum', [Y, g.ints([1])], { keepdims: attr.i(1) });
    const dP = g.op('Div', [g.op('Sub', [g.op('Mul', [g.op('Exp', [logp]), ysum]), Y]), rows]);
    return { loss: value, dP };
  }
  throw new RangeError(
    `lowerModelOnnx: unknown loss ${JSON.stringify(loss)}; expected one of ${LOSS_NAMES.join(', ')}`,
  );
}

function requireParam(names: LoweringInputs, name: string): string {
  const v = names.params[name];
  if (typeof v !== 'string' || v.length === 0)
    throw new RangeError(`lowerModelOnnx: names.params is missing the value name of parameter "${name}"`);
  return v;
}

/**
 * Emits, into `g`, the forward pass of `spec`, its `loss` against Y and the ANALYTIC gradient of
 * the loss with respect to every parameter (hand-derived backpropagation; the ONNX twin of
 * `lossAndGrad64`). Activation derivatives follow `activation(spec).df` (relu/leakyRelu: left
 * derivative at 0, i.e. 0 and the slope; abs: 0 at 0). Works for any number of rows n (the graph's batch dimension).
 *
 * Paired nets are lowered with one matrix product for both halves: f = σ(XWᵀ)·[v; −v]; the head of
 * a pairedMlp as (σ(Z_top) − σ(Z_bot))·Vᵀ, the difference first so that equal halves give exactly 0.
 *
 * @param g - graph to emit into (the value names in `names` must exist in it)
 * @param spec - model architecture
 * @param names - value names of X [n, d], Y [n, k] and each parameter
 * @param loss - loss name
 * @param options - `gradients: false` emits forward + loss only
 * @returns value names of the predictions [n, k], the scalar loss and the gradients
 */
export function lowerModelOnnx(
  g: OnnxGraph,
  specIn: ModelSpec,
  names: LoweringInputs,
  loss: LossName,
  options: LoweringOptions = {},
): LoweringOutputs {
  const spec = validateSpec(requireMlpLike(specIn, 'lowerModelOnnx: spec (use lowerConvNetOnnx)'));
  if (!LOSS_NAMES.includes(loss))
    throw new RangeError(
      `lowerModelOnnx: unknown loss ${JSON.stringify(loss)}; expected one of ${LOSS_NAMES.join(', ')}`,
    );
  if (!names || typeof names.X !== 'string' || typeof names.Y !== 'string' || !names.params)
    throw new RangeError('lowerModelOnnx: names must give X, Y and params value names');
  const needGrad = options.gradients ?? true;
  const grads: Record<string, string> = {};
  const gemmT = { transB: attr.i(1) };
  const gemmTa = { transA: attr.i(1) };

  if (spec.kind === 'shallow' || spec.kind === 'paired') {
    const W = requireParam(names, 'W');
    const v = requireParam(names, 'v');
    const z = g.op('Gemm', [names.X, W], gemmT);
    const { h, dh } = lowerActivationOnnx(g, spec.activation, z, needGrad);
    // Outer weights as a column u [m, 1]: v itself, or [v; −v] for the paired net.
    const u =
      spec.kind === 'shallow'
        ? g.op('Unsqueeze', [v, g.ints([1])])
        : g.op('Unsqueeze', [g.op('Concat', [v, g.op('Neg', [v])], { axis: attr.i(0) }), g.ints([1])]);
    const P = g.op('MatMul', [h, u]);
    const lo = lowerLoss(g, loss, P, names.Y, needGrad);
    const witnesses = { values: [z, P], covers: ['W', 'v'] };
    if (!needGrad || !lo.dP) return { pred: P, loss: lo.loss, grads, witnesses };
    // ∂/∂u = Hᵀ G as a row [1, m]; ∂/∂Z = (G uᵀ) ∘ σ'(Z); ∂/∂W = (∂/∂Z)ᵀ X.
    const gu = g.op('Gemm', [lo.dP, h], gemmTa);
    if (spec.kind === 'shallow') {
      grads.v = g.op('Reshape', [gu, g.ints([-1])]);
    } else {
      const half = spec.width / 2;
      const [g1, g2] = g.opN('Split', [gu, g.ints([half, half])], 2, { axis: attr.i(1) });
      grads.v = g.op('Reshape', [g.op('Sub', [g1!, g2!]), g.ints([-1])]);
    }
    // ∂/∂W = diag(u) σ'(Z)ᵀ diag(G) X. When m ≥ d the row and column scalings are applied to
    // the small factors (X [n, d], result [m, d]), saving two passes over the n×m matrix;
    // when m < d the n×m matrix is the smaller one and is scaled directly.
    if (spec.width >= spec.inputDim) {
      const Xs = g.op('Mul', [names.X, lo.dP]);
      const gWu = dh
        ? g.op('Gemm', [dh, Xs], gemmTa)
        : g.op('ReduceSum', [Xs, g.ints([0])], { keepdims: attr.i(1) });
      grads.W = g.op('Mul', [gWu, u]);
    } else {
      let gz = g.op('Mul', [lo.dP, g.op('Reshape', [u, g.ints([1, -1])])]);
      if (dh) gz = g.op('Mul', [gz, dh]);
      grads.W = g.op('Gemm', [gz, names.X], gemmTa);
    }
    return { pred: P, loss: lo.loss, grads, witnesses };
  }

  const L = spec.layers.length - 1;
  const paired = spec.kind === 'pairedMlp';
  const hasBias = (l: number): boolean => spec.bias === true && !(paired && l === L);
  const scale = (l: number): number =>
    spec.kind === 'mlp' && spec.scaled ? 1 / Math.sqrt(spec.layers[l]!) : 1;
  const zs: string[] = [];
  const dhs: (string | undefined)[] = [];
  const acts: string[] = [names.X];
  let cur = names.X;
  let P = '';
  // A pairedMlp's head: D = σ(z_top) − σ(z_bot) [n, m_H/2], f = D Vᵀ (the difference first, so
  // equal halves give exactly 0).
  let D = '';
  for (let l = 1; l <= L; l++) {
    if (paired && l === L) {
      const [top, bottom] = g.opN('Split', [cur], 2, { axis: attr.i(1), num_outputs: attr.i(2) });
      D = g.op('Sub', [top!, bottom!]);
      P = g.op('Gemm', [D, requireParam(names, 'V')], gemmT);
      break;
    }
    const W = requireParam(names, `W${l}`);
    const ins = hasBias(l) ? [cur, W, requireParam(names, `b${l}`)] : [cur, W];
    const z = g.op('Gemm', ins, gemmT);
    if (l === L) {
      P = z;
      break;
    }
    const { h, dh } = lowerActivationOnnx(g, spec.activation, z, needGrad);
    zs.push(z);
    dhs.push(dh);
    cur = scale(l) !== 1 ? g.op('Mul', [h, g.scalar(scale(l))]) : h;
    acts.push(cur);
  }
  const lo = lowerLoss(g, loss, P, names.Y, needGrad);
  const witnesses = { values: [...zs, P], covers: Object.keys(paramShapes(spec)) };
  if (!needGrad || !lo.dP) return { pred: P, loss: lo.loss, grads, witnesses };
  let delta = lo.dP;
  for (let l = L; l >= 1; l--) {
    let back: string;
    if (paired && l === L) {
      // ∂/∂V = Gᵀ D; ∂/∂σ(z) = [G V, −G V].
      const V = requireParam(names, 'V');
      grads.V = g.op('Gemm', [delta, D], gemmTa);
      const half = g.op('MatMul', [delta, V]);
      back = g.op('Concat', [half, g.op('Neg', [half])], { axis: attr.i(1) });
    } else {
      grads[`W${l}`] = g.op('Gemm', [delta, acts[l - 1]!], gemmTa);
      if (hasBias(l)) grads[`b${l}`] = g.op('ReduceSum', [delta, g.ints([0])], { keepdims: attr.i(0) });
      if (l === 1) break;
      back = g.op('MatMul', [delta, names.params[`W${l}`]!]);
    }
    if (scale(l - 1) !== 1) back = g.op('Mul', [back, g.scalar(scale(l - 1))]);
    const dh = dhs[l - 2];
    delta = dh ? g.op('Mul', [back, dh]) : back;
  }
  return { pred: P, loss: lo.loss, grads, witnesses };
}

/**
 * A standalone ONNX model computing loss, predictions and analytic gradients of `spec`.
 * Inputs: `X` [n, inputDim], `Y` [n, outputDim] and one input per parameter (named as in
 * `paramShapes(spec)`); outputs: `loss` (scalar), `pred` [n, outputDim] and `grad.<name>`.
 */
export function buildLossGradModel(spec: ModelSpec, loss: LossName): Uint8Array {
  requireMlpLike(spec, 'buildLossGradModel: spec (use buildConvLossGradModel)');
  const shapes = paramShapes(spec);
  const g = new OnnxGraph('lossgrad');
  const X = g.input('X', 'float32', ['n', inputDim(spec)]);
  const Y = g.input('Y', 'float32', ['n', outputDim(spec)]);
  const params: Record<string, string> = {};
  for (const [name, shape] of Object.entries(shapes)) params[name] = g.input(name, 'float32', shape);
  const out = lowerModelOnnx(g, spec, { X, Y, params }, loss);
  g.output(out.loss, 'float32', [], 'loss');
  g.output(out.pred, 'float32', ['n', outputDim(spec)], 'pred');
  for (const [name, shape] of Object.entries(shapes))
    g.output(out.grads[name]!, 'float32', shape, `grad.${name}`);
  return g.toModel();
}
