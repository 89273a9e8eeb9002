import {
  type Activation,
  type MlpLikeSpec,
  type ModelSpec,
  activation,
  lossAndGrad64,
  requireMlpLike,
} from '@narrownet/models';
import { forwardCache, jvp, toNet, vjp } from './mlp.js';
import { type ParamsLike, checkMatrix, checkX, intOption, positiveOption, toParams64 } from './util.js';
import { spectrum } from './zhang.js';

/** σ''(x) for the twice-differentiable activations; null for kinked ones. */
function secondDerivative(act: Activation): ((x: number) => number) | null {
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  switch (act.name) {
    case 'tanh':
      return (x) => {
        const t = Math.tanh(x);
        return -2 * t * (1 - t * t);
      };
    case 'sigmoid':
      return (x) => {
        const s = sig(x);
        return s * (1 - s) * (1 - 2 * s);
      };
    case 'softplus':
      return (x) => {
        const s = sig(act.alpha * x);
        return act.alpha * s * (1 - s);
      };
    case 'gelu':
      return (x) => (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI)) * (2 - x * x);
    case 'identity':
      return () => 0;
    default:
      return null;
  }
}

/** sup_x |g(x)| by a grid on [−40, 40] (step 1e-3) refined by golden-section search. */
function supAbs(g: (x: number) => number): number {
  let best = 0;
  let arg = 0;
  for (let x = -40; x <= 40; x += 1e-3) {
    const v = Math.abs(g(x));
    if (v > best) {
      best = v;
      arg = x;
    }
  }
  let a = arg - 1e-3;
  let b = arg + 1e-3;
  const r = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 60; it++) {
    const c = b - r * (b - a);
    const d = a + r * (b - a);
    if (Math.abs(g(c)) > Math.abs(g(d))) b = d;
    else a = c;
  }
  return Math.max(best, Math.abs(g((a + b) / 2)));
}

/** sup|φ'| and sup|φ''| of an activation (null for φ'' of kinked activations). */
export function activationBounds(spec: MlpLikeSpec['activation']): { dMax: number; ddMax: number | null } {
  const act = activation(spec);
  const dd = secondDerivative(act);
  return { dMax: supAbs(act.df), ddMax: dd ? supAbs(dd) : null };
}

/** Result of {@link songQuantities}. */
export interface SongQuantities {
  /** μ_Φ = σ_min(φ(W₀X)) ∈ R^{d1×n}: its n-th singular value when d1 ≥ n, else 0 (see notes). */
  muPhi: number;
  /** ν_Φ = φ̇_max σ_max(X) σ_max(V₀) + σ_max(φ(W₀X)). */
  nuPhi: number;
  /** β_Φ = √2 σ_max(X)(φ̇_max + φ̈_max χ_max); null for activations that are not twice differentiable. */
  betaPhi: number | null;
  /** ρ_Φ = μ_Φ/(2β_Φ) (eq. 6), the radius of the near-isometry ball; null with betaPhi. */
  rhoPhi: number | null;
  /** Ingredients. */
  sigmaMaxX: number;
  sigmaMaxV: number;
  sigmaMaxFeatures: number;
  /** Smallest of the min(d1, n) singular values of φ(W₀X). */
  sigmaMinFeatures: number;
  dPhiMax: number;
  ddPhiMax: number | null;
  chiMax: number;
  /** Caveats in words. */
  notes: string[];
}

function shallowParts(spec: ModelSpec, params: ParamsLike, where: string) {
  if (spec?.kind === 'shallow') {
    const p = toParams64(spec, params, where);
    return { W: p.W!, V: p.v!, d0: spec.inputDim, d1: spec.width, d2: 1 };
  }
  if (spec?.kind === 'mlp' && spec.layers.length === 3 && !spec.bias && !spec.scaled) {
    const p = toParams64(spec, params, where);
    return { W: p.W1!, V: p.W2!, d0: spec.layers[0]!, d1: spec.layers[1]!, d2: spec.layers[2]! };
  }
  throw new RangeError(
    `${where}: spec must be a 'shallow' net or an 'mlp' with one hidden layer, no bias and no ` +
      "scaling (Song et al.'s Φ(Θ) = Vφ(WX))",
  );
}

/**
 * Song et al. (2021) Lemma 3 for the shallow net Φ(Θ) = V φ(W X) (their X ∈ R^{d0×n} holds the
 * samples as columns; ours is its transpose): μ_Φ, ν_Φ, β_Φ at the initialisation Θ₀ = (W₀, V₀).
 * μ_Φ lower-bounds σ_min of the adjoint ∇Φ*(Θ₀) only when φ(W₀X) has full column rank n, which
 * needs d1 ≥ n; for d1 < n it is reported as 0 with a note. χ_max (a bound on σ_max(V) along the
 * whole trajectory) is a parameter; default σ_max(V₀), i.e. a bound valid at Θ₀ only.
 * φ̇_max, φ̈_max are computed numerically (grid + golden section) from the activation.
 */
export function songQuantities(
  spec: ModelSpec,
  params0: ParamsLike,
  X: ArrayLike<number>,
  n: number,
  options: { chiMax?: number } = {},
): SongQuantities {
  const where = 'songQuantities';
  const { W, V, d0, d1, d2 } = shallowParts(spec, params0, where);
  const X64 = checkX(spec, X, n, where);
  const { activation: actSpec } = requireMlpLike(spec, `${where}: spec`);
  const act = activation(actSpec);
  const F = new Float64Array(n * d1); // φ(W₀X)ᵀ, [n, d1]
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d1; j++) {
      let s = 0;
      for (let t = 0; t < d0; t++) s += X64[i * d0 + t]! * W[j * d0 + t]!;
      F[i * d1 + j] = act.f(s);
    }
  const sf = spectrum(F, n, d1).singularValues;
  const sx = spectrum(X64, n, d0).singularValues;
  const sv = spectrum(V, d2, d1).singularValues;
  const sigmaMaxX = sx[0] ?? 0;
  const sigmaMaxV = sv[0] ?? 0;
  const chiMax = positiveOption(
    options.chiMax,
    sigmaMaxV > 0 ? sigmaMaxV : Number.MIN_VALUE,
    'options.chiMax',
    where,
  );
  const { dMax, ddMax } = activationBounds(actSpec);
  const notes: string[] = [];
  const sigmaMinFeatures = sf[sf.length - 1] ?? 0;
  const muPhi = d1 >= n ? sigmaMinFeatures : 0;
  if (d1 < n) notes.push(`d1 = ${d1} < n = ${n}: φ(W₀X) cannot have rank n, so Lemma 3's μ_Φ is 0.`);
  const nuPhi = dMax * sigmaMaxX * sigmaMaxV + (sf[0] ?? 0);
  const betaPhi = ddMax === null ? null : Math.SQRT2 * sigmaMaxX * (dMax + ddMax * chiMax);
  if (ddMax === null) notes.push(`activation '${act.name}' is not twice differentiable: β_Φ is not defined.`);
  if (options.chiMax === undefined) notes.push('χ_max defaults to σ_max(V₀) (valid at initialisation only).');
  if (Math.abs(act.f(0)) > 0) notes.push('Assumption 2 asks φ(0) = 0, which this activation violates.');
  return {
    muPhi,
    nuPhi,
    betaPhi,
    rhoPhi: betaPhi === null || betaPhi === 0 ? null : muPhi / (2 * betaPhi),
    sigmaMaxX,
    sigmaMaxV,
    sigmaMaxFeatures: sf[0] ?? 0,
    sigmaMinFeatures,
    dPhiMax: dMax,
    ddPhiMax: ddMax,
    chiMax,
    notes,
  };
}

/** Result of {@link songWidthCondition}. */
export interface SongWidthResult {
  /** C·n^{3/2}/d0. */
  required: number;
  /** Whether d1 ≥ required (null without d1). */
  satisfied: boolean | null;
  verdict: string;
}

/**
 * Song et al. (2021) width scaling d1 ≳ n^{3/2}/d0 (subquadratic; linear in n when d0 ≳ √n). The
 * paper states it up to constants and logarithms; `C` (default 1) is that unknown constant.
 */
export function songWidthCondition(args: {
  n: number;
  d0: number;
  d1?: number;
  C?: number;
}): SongWidthResult {
  const where = 'songWidthCondition';
  if (args === null || typeof args !== 'object') throw new TypeError(`${where}: expected { n, d0 }`);
  for (const key of ['n', 'd0'] as const) {
    const v = args[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new RangeError(`${where}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  if (args.d1 !== undefined && !(Number.isInteger(args.d1) && args.d1 > 0)) {
    throw new RangeError(`${where}: d1 must be a positive integer, got ${JSON.stringify(args.d1)}`);
  }
  const C = positiveOption(args.C, 1, 'C', where);
  const required = (C * args.n ** 1.5) / args.d0;
  const satisfied = args.d1 === undefined ? null : args.d1 >= required;
  const verdict =
    satisfied === null
      ? `Song et al. need width d1 ≳ C·n^{3/2}/d0 = ${required.toFixed(1)} (C = ${C}).`
      : satisfied
        ? `d1 = ${args.d1} ≥ C·n^{3/2}/d0 = ${required.toFixed(1)} (C = ${C}): ` +
          "in Song et al.'s subquadratic regime."
        : `d1 = ${args.d1} < C·n^{3/2}/d0 = ${required.toFixed(1)} (C = ${C}): ` +
          "below Song et al.'s width scaling.";
  return { required, satisfied, verdict };
}

/** Result of {@link lazyTrainingDistance}. */
export interface LazyTrainingResult {
  /** ‖F(Θ_i) − F̃(Θ̃_i)‖₂ over the training inputs, i = 0..steps. */
  distances: number[];
  /** Largest and last entries of `distances`. */
  maxDistance: number;
  finalDistance: number;
  /** Song's h = ‖F − Y‖² of the network and of the linearised model after the last step. */
  finalLoss: number;
  finalLinearLoss: number;
  /** ‖Θ_steps − Θ₀‖₂ of the network. */
  parameterMovement: number;
  /**
   * ‖F(Θ_steps) − F(Θ₀)‖₂ over the training inputs: how far the network's outputs moved, the scale
   * against which `finalDistance` says how non-linear the move was (ratio ≈ 0: lazy).
   */
  outputMovement: number;
}

/**
 * Song et al. (2021) §6 / App. F (after Chizat et al. 2019): how far full-batch GD on the
 * network stays from GD on its linearisation at Θ₀. Both start at Θ₀ and minimise Song's
 * h = ‖F − Y‖²_F (sum of squares, no ½) with the same step `lr` for `steps` steps: the network
 * F(Θ) = f(X; Θ) by float64 backprop (lossAndGrad64), the linear model
 * F̃(Θ̃) = F(Θ₀) + ∇F(Θ₀)(Θ̃ − Θ₀) by float64 JVP/VJP at Θ₀. Returns the output-space distance
 * ‖F(Θ_i) − F̃(Θ̃_i)‖ on the training inputs at every step (the quantity App. F bounds; "lazy"
 * when it stays ≈ 0). Shallow nets and MLPs; small problems (each step is a full pass).
 */
export function lazyTrainingDistance(
  spec: ModelSpec,
  params0: ParamsLike,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  options: { lr: number; steps: number },
): LazyTrainingResult {
  const where = 'lazyTrainingDistance';
  if (options === null || typeof options !== 'object')
    throw new TypeError(`${where}: options { lr, steps } required`);
  const lr = positiveOption(options.lr, Number.NaN, 'options.lr', where);
  if (Number.isNaN(lr)) throw new RangeError(`${where}: options.lr is required`);
  const steps = intOption(options.steps ?? -1, 0, 'options.steps', where);
  const net = toNet(spec, params0, where);
  const c0 = forwardCache(net, X, n, where);
  const k = net.sizes[net.L]!;
  const Y64 = checkMatrix(Y, n, k, 'Y', where);
  const names = net.names;
  const p = toParams64(spec, params0, where);
  // The model's own parameter names (shallow: W, v) in the flattening order of `net`.
  const own = spec.kind === 'shallow' ? ['W', 'v'] : names;
  const flat = (r: Record<string, ArrayLike<number>>) => {
    const out = new Float64Array(net.P);
    let o = 0;
    for (const name of own) {
      out.set(r[name]!, o);
      o += r[name]!.length;
    }
    return out;
  };
  const unflat = (v: Float64Array) => {
    const out: Record<string, Float64Array> = {};
    let o = 0;
    for (const name of own) {
      out[name] = v.slice(o, o + p[name]!.length);
      o += p[name]!.length;
    }
    return out;
  };
  const theta0 = flat(p);
  const F0 = c0.out; // row-major [n, k]
  const toVec = (A: Float64Array) => {
    const v = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) v[j * n + i] = A[i * k + j]!;
    return v;
  };
  const F0v = toVec(F0);
  const Yv = toVec(Y64);
  let theta = Float64Array.from(theta0);
  let thetaLin = Float64Array.from(theta0);
  const distances: number[] = [];
  let finalLoss = 0;
  let finalLinearLoss = 0;
  let outputMovement = 0;
  for (let s = 0; s <= steps; s++) {
    const r = lossAndGrad64(spec, unflat(theta), X, Y64, n, 'halfSse');
    const Fv = toVec(r.pred);
    const d = new Float64Array(net.P);
    for (let i = 0; i < net.P; i++) d[i] = thetaLin[i]! - theta0[i]!;
    const lin = jvp(net, c0, d);
    let dist = 0;
    let linLoss = 0;
    const resid = new Float64Array(n * k);
    for (let i = 0; i < n * k; i++) {
      const fl = F0v[i]! + lin[i]!;
      dist += (Fv[i]! - fl) ** 2;
      resid[i] = fl - Yv[i]!;
      linLoss += resid[i]! ** 2;
    }
    distances.push(Math.sqrt(dist));
    finalLoss = 2 * r.loss;
    finalLinearLoss = linLoss;
    if (s === steps) {
      let mv = 0;
      for (let i = 0; i < n * k; i++) mv += (Fv[i]! - F0v[i]!) ** 2;
      outputMovement = Math.sqrt(mv);
      break;
    }
    // h = ‖F − Y‖² has gradient 2·(gradient of ½‖F − Y‖²).
    const g = flat(r.grads);
    const gl = vjp(net, c0, resid);
    theta = theta.map((t, i) => t - lr * 2 * g[i]!);
    thetaLin = thetaLin.map((t, i) => t - lr * 2 * gl[i]!);
  }
  let move = 0;
  for (let i = 0; i < net.P; i++) move += (theta[i]! - theta0[i]!) ** 2;
  return {
    distances,
    maxDistance: Math.max(...distances),
    finalDistance: distances[distances.length - 1]!,
    finalLoss,
    finalLinearLoss,
    parameterMovement: Math.sqrt(move),
    outputMovement,
  };
}
