import type { ActivationSpec, LossName } from '@narrownet/models';
import type { GroupSpec, UpdateSpec } from '@narrownet/optim';
import { type RegimeSpec, validateRegime } from './regime.js';

/** Options every preset takes. */
export interface CommonPresetOptions {
  /** Step budget. Default 1000. */
  steps?: number;
  /** Stop once the training loss is ≤ this. Default 0 (run the whole budget). */
  lossTolerance?: number;
  /** Hidden activation. Default `tanh` (Zhang et al. App. H.2). */
  activation?: ActivationSpec;
  /** Loss. Default `halfSse` = ½ Σ (y − f)², the papers' loss. */
  loss?: LossName;
}

/** Options of the one-hidden-layer presets (Zhang et al. Fig. 4). */
export interface ShallowPresetOptions extends CommonPresetOptions {
  /** Input dimension d. */
  inputDim: number;
  /** Hidden width m (even for the paired net of {@link zhang2021}). */
  width: number;
  /** Step size of the hidden weights W (App. H.2's lr1). */
  lr1: number;
  /** Step size of the outer weights v (App. H.2's lr2). */
  lr2: number;
  /** Heavy-ball momentum of both groups. Default 0.9 (App. H.2). */
  momentum?: number;
}

/** Which constraint {@link zhang2021} puts on the outer weights v. */
export type VConstraint = 'none' | 'exact' | 'paperHeuristic';

/** Options of {@link zhang2021}. */
export interface Zhang2021Options extends ShallowPresetOptions {
  /** Radius ε of the hidden-weight ball B_ε(W0) = {‖W − W0‖_F ≤ ε}. */
  radius: number;
  /**
   * Constraint on v: `none` (default; the paper reports v never touches the boundary, Sec. 5),
   * `exact` (Euclidean projection onto B_{ζ,κ}) or `paperHeuristic` (App. H.1's `projectv`).
   * With a v constraint the mirrored init takes |v| (LeCun v has negative entries).
   */
  vConstraint?: VConstraint;
  /** ζ of B_{ζ,κ}. Default 0.001 (App. H.2). */
  zeta?: number;
  /** κ of B_{ζ,κ}. Default 1 (App. H.2). */
  kappa?: number;
}

function sgd(momentum: number): UpdateSpec {
  return { kind: 'sgd', momentum };
}

function common(o: CommonPresetOptions) {
  return {
    loss: o.loss ?? 'halfSse',
    stopping: { maxSteps: o.steps ?? 1000, lossTolerance: o.lossTolerance ?? 0 },
  } as const;
}

/**
 * Zhang et al. 2021, Alg. 2: the paired net of eq. (6) (v has m/2 entries), mirrored LeCun
 * init (Alg. 1, f ≡ 0 at init), gradient descent with momentum on W (step lr1) and v (step
 * lr2), W projected onto B_ε(W0) after every step (PGD), v projected onto B_{ζ,κ} when
 * `vConstraint` says so.
 */
export function zhang2021(o: Zhang2021Options): RegimeSpec {
  const vc = o.vConstraint ?? 'none';
  if (!['none', 'exact', 'paperHeuristic'].includes(vc))
    throw new RangeError(
      `zhang2021: vConstraint must be none, exact or paperHeuristic, got ${JSON.stringify(vc)}`,
    );
  const mom = o.momentum ?? 0.9;
  const vGroup: GroupSpec = {
    params: ['v'],
    lr: o.lr2,
    update: sgd(mom),
    projection:
      vc === 'none'
        ? { kind: 'none' }
        : { kind: 'zetaKappa', zeta: o.zeta ?? 0.001, kappa: o.kappa ?? 1, method: vc },
  };
  return validateRegime({
    name: 'zhang2021',
    description: `Zhang et al. 2021 Alg. 2: paired net, mirrored LeCun init, PGD on ‖W − W0‖_F ≤ ${o.radius}, v constraint: ${vc}`,
    model: { kind: 'paired', inputDim: o.inputDim, width: o.width, activation: o.activation ?? 'tanh' },
    init: vc === 'none' ? { kind: 'mirroredLecun' } : { kind: 'mirroredLecun', absOuter: true },
    optimizer: {
      groups: [
        {
          params: ['W'],
          lr: o.lr1,
          update: sgd(mom),
          projection: { kind: 'frobeniusBall', radius: o.radius },
        },
        vGroup,
      ],
    },
    ...common(o),
  });
}

/**
 * The regular regime of Zhang et al. Sec. 5.1: shallow net eq. (1) with free outer weights
 * v ∈ R^m, LeCun init, unconstrained gradient descent with momentum (W step lr1, v step lr2).
 */
export function regular(o: ShallowPresetOptions): RegimeSpec {
  const mom = o.momentum ?? 0.9;
  return validateRegime({
    name: 'regular',
    description: 'Regular training: shallow net, LeCun init, unconstrained GD with momentum',
    model: { kind: 'shallow', inputDim: o.inputDim, width: o.width, activation: o.activation ?? 'tanh' },
    init: { kind: 'lecun' },
    optimizer: {
      groups: [
        { params: ['W'], lr: o.lr1, update: sgd(mom), projection: { kind: 'none' } },
        { params: ['v'], lr: o.lr2, update: sgd(mom), projection: { kind: 'none' } },
      ],
    },
    ...common(o),
  });
}

/**
 * The ablation of Zhang et al. Fig. 4(b): regular init and structure (shallow net, LeCun init,
 * free v) plus PGD on the hidden-weight ball ‖W − W0‖_F ≤ radius. With radius 1000 this is the
 * regular regime in practice (the paper's first column of Fig. 4(b)).
 */
export function constrainedRegular(o: ShallowPresetOptions & { radius: number }): RegimeSpec {
  const base = regular(o);
  const [w, v] = base.optimizer.groups as [GroupSpec, GroupSpec];
  return validateRegime({
    ...base,
    name: 'constrainedRegular',
    description: `Regular init and structure with PGD on ‖W − W0‖_F ≤ ${o.radius} (Zhang et al. Fig. 4(b))`,
    optimizer: { groups: [{ ...w, projection: { kind: 'frobeniusBall', radius: o.radius } }, v] },
  });
}

/** Options of {@link kawaguchiHuang}. */
export interface KawaguchiHuangOptions extends CommonPresetOptions {
  /** Layer sizes [d_in, m_1, …, m_H, d_out]. */
  layers: number[];
  /** Variance c_w of the Gaussian weight init. Default 1. */
  cw?: number;
  /** Variance c_b of the Gaussian bias init. Default 1. */
  cb?: number;
  /**
   * c_z of the proof of Thm. 1: a bound on the Lipschitz constant (divided by ζ) of the
   * gradient in the last layer, (1/n) Σ_i ‖z_i‖² where z_i = [x_i^(H); 1] is the last hidden
   * layer's output with a 1 appended (Lemma 3). Compute it with {@link kawaguchiHuangCz}.
   */
  cz: number;
  /**
   * ζ, the Lipschitz constant of ∇ℓ_i (Assumption 1). Default: 2 for the per-sample squared
   * loss ‖q − y‖² that the paper's L = (1/n) Σ ℓ_i uses with `loss: 'mse'` and one output
   * (2/k with k outputs, since `mse` also averages over outputs).
   */
  zeta?: number;
}

/**
 * Kawaguchi & Huang 2019 (proof of Thm. 1): 1/√m_l-scaled MLP with biases (eq. 1-2), Gaussian
 * init N(0, c_w) / N(0, c_b), plain gradient descent on the last layer only with step
 * 1/(c_z ζ); every other group has step size 0. Default loss `mse`, the paper's
 * L = (1/n) Σ_i ℓ_i.
 */
export function kawaguchiHuang(o: KawaguchiHuangOptions): RegimeSpec {
  const L = o.layers.length - 1;
  if (L < 1) throw new RangeError('kawaguchiHuang: layers must list at least [inputDim, outputDim]');
  if (!(o.cz > 0)) throw new RangeError(`kawaguchiHuang: cz must be > 0, got ${JSON.stringify(o.cz)}`);
  const k = o.layers[L]!;
  const loss = o.loss ?? 'mse';
  const zeta = o.zeta ?? (loss === 'mse' ? 2 / k : 1);
  const gd: UpdateSpec = { kind: 'sgd' };
  const frozen: GroupSpec[] = [];
  for (let l = 1; l < L; l++) frozen.push({ params: [`W${l}`, `b${l}`], lr: 0, update: gd });
  return validateRegime({
    name: 'kawaguchiHuang',
    description: `Kawaguchi & Huang 2019: scaled MLP with biases, Gaussian init, GD on the last layer with step 1/(c_z ζ) = ${1 / (o.cz * zeta)}`,
    model: { kind: 'mlp', layers: o.layers, activation: o.activation ?? 'tanh', bias: true, scaled: true },
    init: { kind: 'kawaguchiHuang', cw: o.cw ?? 1, cb: o.cb ?? 1 },
    optimizer: { groups: [...frozen, { params: [`W${L}`, `b${L}`], lr: 1 / (o.cz * zeta), update: gd }] },
    ...common({ ...o, loss }),
  });
}

/**
 * c_z = (1/n) Σ_i ‖z_i‖² with z_i = [x_i^(H); 1] the last hidden layer's output (plus the bias
 * input 1), from the hidden outputs [n, m_H] of the network at init. With it, 1/(c_z ζ) is a
 * step size that makes last-layer GD monotone (Kawaguchi & Huang, Lemma 3 and eq. 19-20).
 */
export function kawaguchiHuangCz(hidden: ArrayLike<number>, n: number): number {
  if (!Number.isInteger(n) || n <= 0 || hidden.length % n !== 0)
    throw new RangeError(`kawaguchiHuangCz: hidden has ${hidden.length} entries, not a multiple of n = ${n}`);
  let s = 0;
  for (let i = 0; i < hidden.length; i++) s += hidden[i]! ** 2;
  return (s + n) / n;
}

/** Options of {@link song}. */
export interface SongOptions extends ShallowPresetOptions {
  /** ω2/ω1 of the init W ~ N(0, ω1²), v ~ N(0, ω2²) (Song et al. Sec. 6). */
  ratio: number;
  /** ω1·ω2 = c/√(d·m). Default 1. */
  c?: number;
}

/**
 * Song et al. 2021 Sec. 6 / App. G: shallow net, init W ~ N(0, ω1²), v ~ N(0, ω2²) with
 * ω1ω2 = c/√(d·m) and ω2/ω1 = ratio; both layers trained by plain (stochastic) gradient descent.
 * Defaults follow App. G: GeLU, mean-squared loss `mse`, momentum 0 (they used SGD with batch
 * size 128 and step 0.01 — pass `batchSize: 128` to {@link train}).
 */
export function song(o: SongOptions): RegimeSpec {
  const base = regular({ activation: 'gelu', loss: 'mse', ...o, momentum: o.momentum ?? 0 });
  return validateRegime({
    ...base,
    name: 'song',
    description: `Song et al. 2021: shallow net, ω2/ω1 = ${o.ratio} init, both layers trained`,
    init: o.c === undefined ? { kind: 'song', ratio: o.ratio } : { kind: 'song', ratio: o.ratio, c: o.c },
  });
}
