import {
  type MlpLikeSpec,
  type ModelSpec,
  type ParamTree,
  type Rng,
  hostTensor,
  paramShapes,
  validateSpec,
} from '@narrownet/models';
import { initResNet } from './resnet.js';
import { type Distribution, type FanMode, fans, fillDistribution } from './variance.js';

/**
 * An initialization scheme, as plain JSON-serialisable data. Biases are initialised to 0 by every
 * scheme except `kawaguchiHuang`.
 */
export type InitSpec =
  /**
   * LeCun (variance 1/fan_in), He (2/fan_in) or Glorot (1/fan_avg) on every weight, including
   * the outer weights v of shallow and paired nets (fan_in = m for v, as in Zhang et al. Alg. 1).
   * `distribution` defaults to `normal` (the N(0, 1/d) of Alg. 1; JAX's lecun_normal etc. use
   * `truncatedNormal`).
   */
  | {
      readonly kind: 'lecun' | 'he' | 'glorot';
      readonly distribution?: Distribution;
    }
  /** jax.nn.initializers.variance_scaling on every weight: variance = scale / fan. */
  | {
      readonly kind: 'varianceScaling';
      readonly scale: number;
      readonly mode: FanMode;
      readonly distribution: Distribution;
    }
  /**
   * Mirrored LeCun (Zhang et al. Alg. 1; App. G for deep nets): output identically 0 at init.
   * Paired net: W's two halves of rows equal, v ~ N(0, 1/m). `pairedMlp` (App. G): LeCun on
   * W1…W{H−1}, the last hidden layer WH mirrored (row j + m_H/2 = row j, biases 0) and the output
   * half V [k, m_H/2] ~ N(0, 1/m_H). Plain `mlp`: the last hidden layer mirrored and the full
   * output layer [A, −A]. `absOuter: true` replaces the drawn outer weights (v, V, A) by their
   * absolute values, as a constraint v ≥ ζ (B_{ζ,κ}) needs.
   */
  | { readonly kind: 'mirroredLecun'; readonly absOuter?: boolean }
  /**
   * Song et al. (2021) eq. (17): W ~ N(0, ω1²), V ~ N(0, ω2²) with ω1·ω2 = c/√(d0·d1) and the
   * ratio r = ω2/ω1, i.e. ω1 = √(c/(r·√(d0·d1))), ω2 = r·ω1. `c` defaults to 1.
   */
  | { readonly kind: 'song'; readonly ratio: number; readonly c?: number }
  /**
   * Kawaguchi & Huang (2019) Sec. II: W_ij ~ N(0, c_w), b_i ~ N(0, c_b) on every layer. `cw` and
   * `cb` are VARIANCES (the paper writes N(0, c_w), second argument the variance: Lemma 1 uses
   * E[g²] = c_w‖x‖² + c_b). Meant for the 1/√m_l-scaled MLP (`scaled: true`).
   */
  | { readonly kind: 'kawaguchiHuang'; readonly cw: number; readonly cb: number };

const KINDS = ['lecun', 'he', 'glorot', 'varianceScaling', 'mirroredLecun', 'song', 'kawaguchiHuang'];
const DISTRIBUTIONS: readonly Distribution[] = ['normal', 'truncatedNormal', 'uniform'];
const MODES: readonly FanMode[] = ['fanIn', 'fanOut', 'fanAvg'];

/**
 * Checks an init spec field by field and throws a RangeError naming the field by its path
 * (`path` is where the spec sits, e.g. `init` in a regime): unknown kind, distribution or mode,
 * non-positive scale/ratio/c, negative cw/cb, non-boolean absOuter. Model-dependent conditions
 * (an even width for mirroredLecun, one hidden layer for song) are checked by {@link initParams}.
 * Returns the spec.
 */
export function validateInit(init: InitSpec, path = 'init'): InitSpec {
  if (init === null || typeof init !== 'object' || Array.isArray(init))
    throw new RangeError(`${path}: must be an init spec object, got ${JSON.stringify(init)}`);
  const positive = (value: unknown, field: string): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new RangeError(`${path}.${field}: must be a finite number > 0, got ${JSON.stringify(value)}`);
  };
  const nonNegative = (value: unknown, field: string): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new RangeError(`${path}.${field}: must be a finite number ≥ 0, got ${JSON.stringify(value)}`);
  };
  const oneOf = <T>(value: unknown, field: string, allowed: readonly T[]): void => {
    if (!allowed.includes(value as T))
      throw new RangeError(
        `${path}.${field}: must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
      );
  };
  switch (init.kind) {
    case 'lecun':
    case 'he':
    case 'glorot':
      if (init.distribution !== undefined) oneOf(init.distribution, 'distribution', DISTRIBUTIONS);
      return init;
    case 'varianceScaling':
      positive(init.scale, 'scale');
      oneOf(init.mode, 'mode', MODES);
      oneOf(init.distribution, 'distribution', DISTRIBUTIONS);
      return init;
    case 'mirroredLecun':
      if (init.absOuter !== undefined && typeof init.absOuter !== 'boolean')
        throw new RangeError(`${path}.absOuter: must be a boolean, got ${JSON.stringify(init.absOuter)}`);
      return init;
    case 'song':
      positive(init.ratio, 'ratio');
      if (init.c !== undefined) positive(init.c, 'c');
      return init;
    case 'kawaguchiHuang':
      nonNegative(init.cw, 'cw');
      nonNegative(init.cb, 'cb');
      return init;
    default:
      throw new RangeError(
        `${path}.kind: unknown init kind ${JSON.stringify((init as { kind?: unknown }).kind)}; expected ${KINDS.join(', ')}`,
      );
  }
}

function normal(n: number, variance: number, rng: Rng): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, Math.sqrt(variance));
}

function fanFor(shape: readonly number[], mode: FanMode): number {
  const f = fans(shape);
  return mode === 'fanIn' ? f.fanIn : mode === 'fanOut' ? f.fanOut : (f.fanIn + f.fanOut) / 2;
}

/** Variance scaling on every weight, zero biases. */
function scaled(
  spec: MlpLikeSpec,
  scale: number,
  mode: FanMode,
  distribution: Distribution,
  rng: Rng,
): ParamTree {
  const out: ParamTree = {};
  for (const [name, shape] of Object.entries(paramShapes(spec))) {
    const t = hostTensor(shape);
    if (!isBias(spec, name))
      fillDistribution(
        t.data,
        scale / fanFor(fanShape(spec, name, shape), mode),
        distribution,
        rng.fork(name),
      );
    out[name] = t;
  }
  return out;
}

/** Whether parameter `name` of `spec` is a bias vector (initialised to 0 by most schemes). */
function isBias(spec: MlpLikeSpec, name: string): boolean {
  return (spec.kind === 'mlp' || spec.kind === 'pairedMlp') && name.startsWith('b');
}

/**
 * The shape whose fans scale a parameter's variance. The outer weights of shallow and paired
 * nets are one output row: fan_in = m (Alg. 1: v ~ N(0, 1/m)), even for the paired net whose v
 * has m/2 entries (each enters twice, ±); likewise the half V [k, m_H/2] of a pairedMlp head is
 * read as the full output layer [k, m_H].
 */
function fanShape(spec: MlpLikeSpec, name: string, shape: readonly number[]): readonly number[] {
  if (name === 'v' && (spec.kind === 'shallow' || spec.kind === 'paired')) return [1, spec.width];
  if (name === 'V' && spec.kind === 'pairedMlp') return [shape[0]!, 2 * shape[1]!];
  return shape;
}

function mirrored(spec: MlpLikeSpec, absOuter: boolean, rng: Rng): ParamTree {
  if (spec.kind === 'pairedMlp') {
    // App. G: LeCun on W1…W{H−1}; Alg. 1 on the last two layers: WH's second half of rows copies
    // its first (biases 0), V ~ N(0, 1/m_H).
    const out = scaled(spec, 1, 'fanIn', 'normal', rng);
    const H = spec.layers.length - 2;
    const half = spec.layers[H]! / 2;
    const cols = spec.layers[H - 1]!;
    out[`W${H}`]!.data.copyWithin(half * cols, 0, half * cols);
    const V = out.V!.data;
    if (absOuter) for (let i = 0; i < V.length; i++) V[i] = Math.abs(V[i]!);
    return out;
  }
  if (spec.kind !== 'mlp') {
    const m = spec.width;
    const d = spec.inputDim;
    if (m % 2 !== 0) {
      throw new RangeError(`initParams: mirroredLecun needs an even width, got width ${m}`);
    }
    const h = m / 2;
    const W = hostTensor([m, d]);
    W.data.set(normal(h * d, 1 / d, rng.fork('W')));
    W.data.copyWithin(h * d, 0, h * d);
    const vHalf = normal(h, 1 / m, rng.fork('v'));
    if (absOuter) for (let j = 0; j < h; j++) vHalf[j] = Math.abs(vHalf[j]!);
    if (spec.kind === 'paired') return { W, v: hostTensor([h], vHalf) };
    const v = hostTensor([m]);
    for (let j = 0; j < h; j++) {
      v.data[j] = vHalf[j]!;
      v.data[j + h] = -vHalf[j]!;
    }
    return { W, v };
  }
  const L = spec.layers.length - 1;
  if (L < 2) {
    throw new RangeError(
      `initParams: mirroredLecun on an mlp needs at least one hidden layer, got layers [${spec.layers.join(', ')}]`,
    );
  }
  const mH = spec.layers[L - 1]!;
  if (mH % 2 !== 0) {
    throw new RangeError(
      `initParams: mirroredLecun needs an even width of the last hidden layer, got layers[${L - 1}] = ${mH}`,
    );
  }
  const out = scaled(spec, 1, 'fanIn', 'normal', rng);
  const h = mH / 2;
  // Last hidden layer: rows h..mH−1 copy rows 0..h−1 (and its bias, zero here, likewise).
  const WH = out[`W${L - 1}`]!;
  const cols = spec.layers[L - 2]!;
  WH.data.copyWithin(h * cols, 0, h * cols);
  const bH = out[`b${L - 1}`];
  if (bH) bH.data.copyWithin(h, 0, h);
  // Output layer [dout, mH]: columns h..mH−1 are the negated columns 0..h−1; output bias 0.
  const WO = out[`W${L}`]!;
  const dout = spec.layers[L]!;
  for (let k = 0; k < dout; k++) {
    for (let j = 0; j < h; j++) {
      const a = absOuter ? Math.abs(WO.data[k * mH + j]!) : WO.data[k * mH + j]!;
      WO.data[k * mH + j] = a;
      WO.data[k * mH + j + h] = -a;
    }
  }
  const bO = out[`b${L}`];
  if (bO) bO.data.fill(0);
  return out;
}

function songDims(spec: MlpLikeSpec): { d0: number; d1: number } {
  if (spec.kind === 'shallow' || spec.kind === 'paired') return { d0: spec.inputDim, d1: spec.width };
  if (spec.kind !== 'mlp' || spec.layers.length !== 3) {
    throw new RangeError(
      `initParams: song init is defined for one hidden layer (a shallow or paired net, or an mlp with layers [d0, d1, d2]), got ${spec.kind} layers [${spec.layers.join(', ')}]`,
    );
  }
  return { d0: spec.layers[0]!, d1: spec.layers[1]! };
}

function song(spec: MlpLikeSpec, ratio: number, c: number, rng: Rng): ParamTree {
  const { d0, d1 } = songDims(spec);
  const w1 = Math.sqrt(c / (ratio * Math.sqrt(d0 * d1)));
  const w2 = ratio * w1;
  const out: ParamTree = {};
  for (const [name, shape] of Object.entries(paramShapes(spec))) {
    const t = hostTensor(shape);
    if (name === 'W' || name === 'W1') rng.fork(name).fillNormal(t.data, 0, w1);
    else if (name === 'v' || name === 'W2') rng.fork(name).fillNormal(t.data, 0, w2);
    out[name] = t;
  }
  return out;
}

function kawaguchiHuang(spec: MlpLikeSpec, cw: number, cb: number, rng: Rng): ParamTree {
  const out: ParamTree = {};
  for (const [name, shape] of Object.entries(paramShapes(spec))) {
    const t = hostTensor(shape);
    rng.fork(name).fillNormal(t.data, 0, Math.sqrt(isBias(spec, name) ? cb : cw));
    out[name] = t;
  }
  return out;
}

/**
 * Draws the initial parameters of a model. Every parameter draws from its own stream
 * `rng.fork(name)`, so the same seed gives the same tensor for a parameter whatever else the
 * model has. Errors name the offending field ({@link validateInit}; odd width for mirrored init).
 *
 * A conv net (`kind: 'resnet'`) takes `lecun` (`initResNet(spec, { distribution })`) or
 * `mirroredLecun` (`initResNet(spec, { mirrorFinalStage: true, absOuter })`, Alg. 2 on the final
 * block); its parameters only — the running statistics start fresh (`initialBuffers`). Any other
 * init kind throws a RangeError naming `init.kind`.
 */
export function initParams(spec: ModelSpec, init: InitSpec, rng: Rng): ParamTree {
  validateSpec(spec);
  validateInit(init, 'initParams: init');
  if (!rng || typeof rng.fork !== 'function')
    throw new TypeError('initParams: rng must be an Rng (createRng)');
  if (spec.kind === 'resnet') {
    if (init.kind === 'lecun')
      return initResNet(spec, { distribution: init.distribution ?? 'normal' }, rng).params;
    if (init.kind === 'mirroredLecun')
      return initResNet(spec, { mirrorFinalStage: true, absOuter: init.absOuter === true }, rng).params;
    throw new RangeError(
      `initParams: init.kind ${JSON.stringify(init.kind)} is not defined for a ResNet (spec kind 'resnet'); use lecun or mirroredLecun`,
    );
  }
  switch (init.kind) {
    case 'lecun':
    case 'he':
    case 'glorot': {
      const dist = init.distribution ?? 'normal';
      if (init.kind === 'lecun') return scaled(spec, 1, 'fanIn', dist, rng);
      if (init.kind === 'he') return scaled(spec, 2, 'fanIn', dist, rng);
      return scaled(spec, 1, 'fanAvg', dist, rng);
    }
    case 'varianceScaling':
      return scaled(spec, init.scale, init.mode, init.distribution, rng);
    case 'mirroredLecun':
      return mirrored(spec, init.absOuter === true, rng);
    case 'song':
      return song(spec, init.ratio, init.c ?? 1, rng);
    case 'kawaguchiHuang':
      return kawaguchiHuang(spec, init.cw, init.cb, rng);
  }
}

/**
 * Which member of the Song et al. family (ω1·ω2 = c/√(d0·d1), r = ω2/ω1) a standard scheme is
 * for a layer pair W [d1, d0], V [d2, d1]: LeCun ω1 = 1/√d0, ω2 = 1/√d1 gives c = 1,
 * r = √(d0/d1); He ω1 = √(2/d0), ω2 = √(2/d1) gives c = 2, r = √(d0/d1).
 */
export function songRatioOf(
  scheme: 'lecun' | 'he',
  d0: number,
  d1: number,
): { ratio: number; c: number; omega1: number; omega2: number } {
  for (const [v, f] of [
    [d0, 'd0'],
    [d1, 'd1'],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`songRatioOf: ${f} must be a positive integer, got ${v}`);
  }
  let gain: number;
  if (scheme === 'lecun') gain = 1;
  else if (scheme === 'he') gain = 2;
  else throw new RangeError(`songRatioOf: scheme must be lecun or he, got ${JSON.stringify(scheme)}`);
  const omega1 = Math.sqrt(gain / d0);
  const omega2 = Math.sqrt(gain / d1);
  return { ratio: omega2 / omega1, c: omega1 * omega2 * Math.sqrt(d0 * d1), omega1, omega2 };
}
