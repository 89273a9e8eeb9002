/** Names of the elementwise activations narrownet supports. */
export type ActivationName =
  | 'tanh'
  | 'sigmoid'
  | 'softplus'
  | 'gelu'
  | 'relu'
  | 'leakyRelu'
  | 'abs'
  | 'identity';

/**
 * An activation: a bare name, or an object carrying its parameter.
 * - `softplus(α)`: log(1 + exp(α x)) / α (PyTorch's `beta`), default α = 1.
 * - `leakyRelu(a)`: x for x > 0, a·x otherwise, default a = 0.01.
 * - `gelu` is the exact form x·Φ(x) with the Gaussian CDF Φ.
 */
export type ActivationSpec =
  | ActivationName
  | { readonly name: 'softplus'; readonly alpha?: number }
  | { readonly name: 'leakyRelu'; readonly slope?: number }
  | { readonly name: Exclude<ActivationName, 'softplus' | 'leakyRelu'> };

/** An activation with its parameter filled in. */
export interface Activation {
  readonly name: ActivationName;
  /** α of softplus (1 when unused). */
  readonly alpha: number;
  /** Negative slope of leaky ReLU (0 when unused). */
  readonly slope: number;
  /** σ(x) in float64. */
  f(x: number): number;
  /**
   * σ'(x) in float64. At a kink: the left derivative for relu/leakyRelu (0, slope), as tfjs's
   * autodiff and the ONNX lowering; 0 for abs, as the ONNX lowering (tfjs's autodiff of abs gives
   * −1 at 0, its left derivative).
   */
  df(x: number): number;
  /** True when σ is piecewise linear (relu, leakyRelu, abs, identity). */
  readonly piecewiseLinear: boolean;
}

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The error function to float64 accuracy: erf(x) = (2/√π) e^{-x²} Σ_n (2x²)^n x / (2n+1)!!,
 * a series of positive terms (no cancellation); |x| ≥ 6 rounds to ±1.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  const x2 = 2 * ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 500; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-ax * ax) * sum;
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Resolves an {@link ActivationSpec} to its functions, validating the parameter. */
export function activation(spec: ActivationSpec): Activation {
  const name: ActivationName = typeof spec === 'string' ? spec : spec.name;
  const alpha = typeof spec === 'object' && spec.name === 'softplus' ? (spec.alpha ?? 1) : 1;
  const slope =
    typeof spec === 'object' && spec.name === 'leakyRelu'
      ? (spec.slope ?? 0.01)
      : name === 'leakyRelu'
        ? 0.01
        : 0;
  if (!(alpha > 0) || !Number.isFinite(alpha))
    throw new RangeError(`activation softplus: alpha must be a positive finite number, got ${alpha}`);
  if (!Number.isFinite(slope))
    throw new RangeError(`activation leakyRelu: slope must be finite, got ${slope}`);
  const base = { name, alpha, slope, piecewiseLinear: false };
  switch (name) {
    case 'tanh':
      return { ...base, f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 };
    case 'sigmoid':
      return { ...base, f: sigmoid, df: (x) => sigmoid(x) * (1 - sigmoid(x)) };
    case 'softplus':
      return {
        ...base,
        // log(1 + e^{αx})/α computed stably: max(αx, 0) + log1p(e^{-|αx|}).
        f: (x) => (Math.max(alpha * x, 0) + Math.log1p(Math.exp(-Math.abs(alpha * x)))) / alpha,
        df: (x) => sigmoid(alpha * x),
      };
    case 'gelu':
      return {
        ...base,
        f: (x) => 0.5 * x * (1 + erf(x * SQRT1_2)),
        df: (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
      };
    case 'relu':
      return { ...base, piecewiseLinear: true, f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) };
    case 'leakyRelu':
      return {
        ...base,
        piecewiseLinear: true,
        f: (x) => (x > 0 ? x : slope * x),
        df: (x) => (x > 0 ? 1 : slope),
      };
    case 'abs':
      return { ...base, piecewiseLinear: true, f: Math.abs, df: (x) => Math.sign(x) };
    case 'identity':
      return { ...base, piecewiseLinear: true, f: (x) => x, df: () => 1 };
    default:
      throw new RangeError(
        `activation: unknown activation ${JSON.stringify(spec)}; expected one of tanh, sigmoid, softplus, gelu, relu, leakyRelu, abs, identity`,
      );
  }
}
