import { type ActivationSpec, activation } from './activations.js';
import { type ResNetSpec, resnetParamShapes, validateResNetSpec } from './conv/spec.js';

/** Zhang et al. eq. (1): f(x) = Σ_{j≤m} v_j σ(w_jᵀx). Parameters `W` [m, d], `v` [m]. */
export interface ShallowSpec {
  readonly kind: 'shallow';
  /** Input dimension d. */
  readonly inputDim: number;
  /** Hidden width m. */
  readonly width: number;
  readonly activation: ActivationSpec;
}

/**
 * Zhang et al. eq. (6): f(x) = Σ_{j≤m/2} v_j (σ(w_jᵀx) − σ(w_{j+m/2}ᵀx)).
 * Parameters `W` [m, d] (rows 0..m/2−1 are the first half) and `v` [m/2]; m must be even.
 */
export interface PairedSpec {
  readonly kind: 'paired';
  readonly inputDim: number;
  /** Hidden width m (even); v has m/2 entries. */
  readonly width: number;
  readonly activation: ActivationSpec;
}

/**
 * Deep MLP with H hidden layers: x⁽ˡ⁾ = s_l · σ(W⁽ˡ⁾ x⁽ˡ⁻¹⁾ + b⁽ˡ⁾) for l ≤ H, output
 * W⁽ᴴ⁺¹⁾ x⁽ᴴ⁾ + b⁽ᴴ⁺¹⁾, where s_l = 1/√m_l when `scaled` (Kawaguchi–Huang eq. 2) and 1 otherwise.
 * Parameters `W1`…`W{H+1}` with `Wl` of shape [m_l, m_{l−1}], and `b1`…`b{H+1}` when `bias`.
 */
export interface MlpSpec {
  readonly kind: 'mlp';
  /** Layer sizes [d_in, m_1, …, m_H, d_out]; at least [d_in, d_out]. */
  readonly layers: readonly number[];
  readonly activation: ActivationSpec;
  /** Whether every layer has a bias vector. Default false. */
  readonly bias?: boolean;
  /** Whether hidden layers are scaled by 1/√m_l (Kawaguchi–Huang eq. 2). Default false. */
  readonly scaled?: boolean;
}

/**
 * Deep net whose last two layers are paired (Zhang et al. App. G / H.2, Alg. 2 on the last two
 * layers): hidden layers x⁽ˡ⁾ = σ(W⁽ˡ⁾ x⁽ˡ⁻¹⁾ + b⁽ˡ⁾), l = 1…H, and the output layer "cut off to
 * half": f(x) = V (σ(z_top) − σ(z_bot)) ∈ R^k, where z = W⁽ᴴ⁾x⁽ᴴ⁻¹⁾ + b⁽ᴴ⁾ ∈ R^{m_H} splits into
 * its first and second m_H/2 entries. The full output weight is [V, −V] (only V is a parameter),
 * so equal halves of the last hidden layer (mirrored init) give f ≡ 0 exactly.
 * Parameters `W1`…`WH` with `Wl` of shape [m_l, m_{l−1}], `b1`…`bH` when `bias`, and `V` of shape
 * [k, m_H/2] (PyTorch's `nn.Linear(m_H/2, k).weight` layout: row c is the half of class c).
 * The output layer has no bias: eq. (6) has none, and the paper's code builds every layer with
 * `bias=False` (App. H.1), hence `bias` defaults to false. With one hidden layer and k = 1 this is
 * the `paired` net with `V` = vᵀ.
 */
export interface PairedMlpSpec {
  readonly kind: 'pairedMlp';
  /** Layer sizes [d_in, m_1, …, m_H, k]: at least one hidden layer, m_H even. */
  readonly layers: readonly number[];
  readonly activation: ActivationSpec;
  /** Whether every hidden layer has a bias vector (the output layer never has one). Default false. */
  readonly bias?: boolean;
}

/** Any narrownet model architecture, as plain JSON-serialisable data. */
export type ModelSpec = ShallowSpec | PairedSpec | MlpSpec | PairedMlpSpec | ResNetSpec;

/** The fully connected architectures (every {@link ModelSpec} but a conv net). */
export type MlpLikeSpec = Exclude<ModelSpec, ResNetSpec>;

/**
 * Narrows a spec to the fully connected architectures, for functions that only make sense for
 * them (the MLP forward, lowering and landscape diagnostics): a conv net (`kind: 'resnet'`)
 * throws a RangeError naming the function and its parameter, e.g. `jacobianLambdaMin: spec is a
 * ResNet (kind 'resnet'); it only accepts shallow, paired, mlp and pairedMlp nets`.
 *
 * @param spec - the spec to check
 * @param where - the function and parameter, e.g. `jacobianLambdaMin: spec`
 */
export function requireMlpLike(spec: ModelSpec, where: string): MlpLikeSpec {
  if (spec !== null && typeof spec === 'object' && spec.kind === 'resnet')
    throw new RangeError(
      `${where} is a ResNet (kind 'resnet'); it only accepts shallow, paired, mlp and pairedMlp nets`,
    );
  return spec as MlpLikeSpec;
}

function positiveInt(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`model spec: ${field} must be a positive integer, got ${JSON.stringify(value)}`);
  }
}

/** Checks a spec and throws a RangeError naming the offending field. Returns the spec. */
export function validateSpec<S extends ModelSpec>(spec: S): S {
  if (spec === null || typeof spec !== 'object') throw new TypeError('model spec: expected an object');
  switch (spec.kind) {
    case 'shallow':
    case 'paired':
      positiveInt(spec.inputDim, 'inputDim');
      positiveInt(spec.width, 'width');
      if (spec.kind === 'paired' && spec.width % 2 !== 0) {
        throw new RangeError(
          `model spec: width of a paired net must be even (v has width/2 entries), got ${spec.width}`,
        );
      }
      break;
    case 'mlp':
      if (!Array.isArray(spec.layers) || spec.layers.length < 2) {
        throw new RangeError('model spec: layers must list at least [inputDim, outputDim]');
      }
      for (const [i, m] of spec.layers.entries()) positiveInt(m, `layers[${i}]`);
      break;
    case 'pairedMlp': {
      const L = Array.isArray(spec.layers) ? spec.layers.length : 0;
      if (L < 3)
        throw new RangeError(
          'model spec: layers of a pairedMlp must list [inputDim, m_1, …, m_H, outputDim] with H ≥ 1',
        );
      for (const [i, m] of spec.layers.entries()) positiveInt(m, `layers[${i}]`);
      if (spec.layers[L - 2]! % 2 !== 0)
        throw new RangeError(
          `model spec: layers[${L - 2}] (the last hidden width) of a pairedMlp must be even (V has half as many columns), got ${spec.layers[L - 2]}`,
        );
      break;
    }
    case 'resnet':
      validateResNetSpec(spec);
      return spec;
    default:
      throw new RangeError(
        `model spec: unknown kind ${JSON.stringify((spec as { kind?: unknown }).kind)}; expected shallow, paired, mlp, pairedMlp or resnet`,
      );
  }
  activation(spec.activation);
  return spec;
}

/** Input dimension of the model (C·H·W for a conv net, whose rows are NCHW-flattened images). */
export function inputDim(spec: ModelSpec): number {
  if (spec.kind === 'resnet') return spec.input[0] * spec.input[1] * spec.input[2];
  return 'layers' in spec ? spec.layers[0]! : spec.inputDim;
}

/** Output dimension of the model (1 for shallow and paired nets, `classes` for a conv net). */
export function outputDim(spec: ModelSpec): number {
  if (spec.kind === 'resnet') return spec.classes;
  return 'layers' in spec ? spec.layers[spec.layers.length - 1]! : 1;
}

/** Number of hidden layers H of an MLP (1 for shallow and paired nets; a conv net throws). */
export function hiddenLayerCount(spec: ModelSpec): number {
  const s = requireMlpLike(spec, 'hiddenLayerCount: spec');
  return 'layers' in s ? s.layers.length - 2 : 1;
}

/** Parameter names and shapes, in a fixed order (the order checkpoints and graphs use). */
export function paramShapes(spec: ModelSpec): Record<string, number[]> {
  validateSpec(spec);
  if (spec.kind === 'resnet') return resnetParamShapes(spec);
  if (spec.kind === 'shallow') return { W: [spec.width, spec.inputDim], v: [spec.width] };
  if (spec.kind === 'paired') return { W: [spec.width, spec.inputDim], v: [spec.width / 2] };
  const out: Record<string, number[]> = {};
  const L = spec.layers.length - 1;
  const paired = spec.kind === 'pairedMlp';
  for (let l = 1; l <= L; l++) {
    if (paired && l === L) out.V = [spec.layers[L]!, spec.layers[L - 1]! / 2];
    else out[`W${l}`] = [spec.layers[l]!, spec.layers[l - 1]!];
    if (spec.bias && !(paired && l === L)) out[`b${l}`] = [spec.layers[l]!];
  }
  return out;
}

/** Total number of trainable parameters. */
export function paramCount(spec: ModelSpec): number {
  return Object.values(paramShapes(spec)).reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
}
