import type { Rng } from '@narrownet/models';

/** How a variance-scaling initializer divides its scale (jax.nn.initializers `mode`). */
export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';

/** Sampling distribution of a variance-scaling initializer (jax.nn.initializers `distribution`). */
export type Distribution = 'normal' | 'truncatedNormal' | 'uniform';

/** Options of {@link varianceScaling}: variance = scale / fan. */
export interface VarianceScalingOptions {
  /** Positive scale s; the draws have variance s / fan. */
  readonly scale: number;
  /** Which fan divides the scale: fan_in, fan_out or their average. */
  readonly mode: FanMode;
  /** normal N(0, σ²); truncatedNormal at ±2σ' with σ' corrected so the variance is σ²; uniform ±√(3σ²). */
  readonly distribution: Distribution;
}

/**
 * Standard deviation of a standard normal truncated to [−2, 2]; JAX divides by it so that a
 * truncated-normal draw keeps the requested variance (jax.nn.initializers.variance_scaling).
 */
export const TRUNCATED_NORMAL_STD = 0.87962566103423978;

/**
 * Fans of a weight of the given shape in narrownet's [out, in, ...receptive] layout (PyTorch's
 * convention; JAX kernels are [in, out]): fan_in = shape[1]·∏shape[2:], fan_out = shape[0]·∏shape[2:].
 * A vector [k] is read as an output-layer row [1, k] (fan_in = k, fan_out = 1), e.g. `v` of a
 * shallow net, whose fan_in is the width m (Zhang et al. Alg. 1: v ~ N(0, 1/m)).
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new RangeError(`fans: shape must have at least one dimension, got ${JSON.stringify(shape)}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d <= 0) {
      throw new RangeError(`fans: shape [${shape.join(', ')}] has an invalid dimension ${d}`);
    }
  }
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: 1 };
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i]!;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** Fills `out` with draws of variance `variance` from the given distribution. */
export function fillDistribution(
  out: Float32Array,
  variance: number,
  distribution: Distribution,
  rng: Rng,
): Float32Array {
  const std = Math.sqrt(variance);
  switch (distribution) {
    case 'normal':
      return rng.fillNormal(out, 0, std);
    case 'truncatedNormal': {
      const s = std / TRUNCATED_NORMAL_STD;
      for (let i = 0; i < out.length; i++) {
        let z = rng.normal();
        while (z < -2 || z > 2) z = rng.normal();
        out[i] = s * z;
      }
      return out;
    }
    case 'uniform': {
      const limit = Math.sqrt(3 * variance);
      for (let i = 0; i < out.length; i++) out[i] = limit * (2 * rng.uniform() - 1);
      return out;
    }
    default:
      throw new RangeError(
        `distribution must be normal, truncatedNormal or uniform, got ${JSON.stringify(distribution)}`,
      );
  }
}

/**
 * Draws a weight of the given shape with jax.nn.initializers.variance_scaling semantics:
 * variance = scale / fan where fan is fan_in, fan_out or (fan_in + fan_out)/2 (see {@link fans}
 * for the layout); `truncatedNormal` draws N(0, 1) truncated to [−2, 2] times σ/0.8796…, so the
 * variance is exactly scale/fan; `uniform` draws U(−√(3·variance), √(3·variance)).
 */
export function varianceScaling(
  shape: readonly number[],
  options: VarianceScalingOptions,
  rng: Rng,
): Float32Array {
  const { scale, mode, distribution } = options ?? ({} as VarianceScalingOptions);
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    throw new RangeError(`varianceScaling: scale must be a positive finite number, got ${scale}`);
  }
  const f = fans(shape);
  let fan: number;
  if (mode === 'fanIn') fan = f.fanIn;
  else if (mode === 'fanOut') fan = f.fanOut;
  else if (mode === 'fanAvg') fan = (f.fanIn + f.fanOut) / 2;
  else
    throw new RangeError(
      `varianceScaling: mode must be fanIn, fanOut or fanAvg, got ${JSON.stringify(mode)}`,
    );
  let n = 1;
  for (const d of shape) n *= d;
  return fillDistribution(new Float32Array(n), scale / fan, distribution, rng);
}
