import type { ActivationSpec, LossName } from '@narrownet/models';
import type { GroupSpec, ScheduleSpec, UpdateSpec } from '@narrownet/optim';
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

/**
 * The projection of an outer-weight group for a `vConstraint` option (not exported from the
 * package): none, or B_{ζ,κ} with the given method (ζ default 0.001, κ default 1, App. H.2), per
 * row when `perRow`. Throws a RangeError naming `where` for an unknown constraint.
 */
export function vProjection(
  where: string,
  o: { vConstraint?: VConstraint; zeta?: number; kappa?: number },
  perRow = false,
): GroupSpec['projection'] {
  const vc = o.vConstraint ?? 'none';
  if (!['none', 'exact', 'paperHeuristic'].includes(vc))
    throw new RangeError(
      `${where}: vConstraint must be none, exact or paperHeuristic, got ${JSON.stringify(vc)}`,
    );
  if (vc === 'none') return { kind: 'none' };
  return {
    kind: 'zetaKappa',
    zeta: o.zeta ?? 0.001,
    kappa: o.kappa ?? 1,
    method: vc,
    ...(perRow ? { perRow: true } : {}),
  };
}

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
  const projection = vProjection('zhang2021', o);
  const vc = o.vConstraint ?? 'none';
  const mom = o.momentum ?? 0.9;
  const vGroup: GroupSpec = { params: ['v'], lr: o.lr2, update: sgd(mom), projection };
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

/** Options of the deep classifier presets {@link zhang2021Deep} and {@link regularDeep} (App. H.2, MNIST). */
export interface DeepPresetOptions extends CommonPresetOptions {
  /** Layer sizes [d_in, m_1, …, m_H, k] (H ≥ 1), e.g. [784, 784, 256, 10] (App. H.2). */
  layers: number[];
  /**
   * `sgd` (default; App. H.2: lr 0.01, momentum 0.9, weight decay 5e-4) or `adam` (lr 1e-3,
   * weight decay 1e-4, L2 added to the gradient as torch.optim.Adam). The paper reports the
   * better of the two per cell.
   */
  optimizer?: 'sgd' | 'adam';
  /** Step size of every group. Default 0.01 (sgd) or 1e-3 (adam). */
  lr?: number;
  /** L2 weight decay of every group (PyTorch `weight_decay`). Default 5e-4 (sgd) or 1e-4 (adam). */
  weightDecay?: number;
  /** Heavy-ball momentum (sgd only). Default 0.9. */
  momentum?: number;
  /**
   * Step-size schedule of every group, in optimizer steps. Default constant; App. H.2 uses
   * cosine annealing with T_max = the number of epochs, i.e. `{ kind: 'cosine', tMax: epochs ·
   * stepsPerEpoch }` here.
   */
  schedule?: ScheduleSpec;
  /** Biases on the hidden layers. Default false (App. H.1's code builds every layer without). */
  bias?: boolean;
}

/** Options of {@link zhang2021Deep}. */
export interface Zhang2021DeepOptions extends DeepPresetOptions {
  /** Radius ε of the ball ‖W_H − W_H⁰‖_F ≤ ε on the last hidden layer (App. H.2: 0.1 … 10, 1000). */
  radius: number;
  /**
   * Constraint on the output half V [k, m_H/2]: each row V_c ∈ B_{ζ,κ} (`perRow`), by the `exact`
   * Euclidean projection or App. H.1's `paperHeuristic`, or `none` (default). Why none: with
   * κ = 1 an exact projection makes every row constant, V_c = c_c·1, so the k logits are
   * c_c·s(x) for ONE scalar s(x) = Σ_j σ(z_top,j) − σ(z_bot,j) and c_c ≥ ζ > 0: the argmax
   * is always the class of the largest or of the smallest c_c, a classifier of at most two
   * classes. App. H.1's code projects v only for a single output (`para.size()[0] == 1`), so
   * the paper's multi-class runs kept V free. With a V constraint the mirrored init takes |V|.
   */
  vConstraint?: VConstraint;
  /** ζ of B_{ζ,κ}. Default 0.001 (App. H.2). */
  zeta?: number;
  /** κ of B_{ζ,κ}. Default 1 (App. H.2). */
  kappa?: number;
}

function deepCommon(o: DeepPresetOptions) {
  const kind = o.optimizer ?? 'sgd';
  if (kind !== 'sgd' && kind !== 'adam')
    throw new RangeError(`optimizer must be sgd or adam, got ${JSON.stringify(kind)}`);
  const weightDecay = o.weightDecay ?? (kind === 'sgd' ? 5e-4 : 1e-4);
  const update: UpdateSpec =
    kind === 'sgd'
      ? { kind: 'sgd', momentum: o.momentum ?? 0.9, weightDecay }
      : { kind: 'adam', weightDecay };
  const lr = o.lr ?? (kind === 'sgd' ? 0.01 : 1e-3);
  const group = (params: string[], projection: GroupSpec['projection'] = { kind: 'none' }): GroupSpec => ({
    params,
    lr,
    update,
    ...(o.schedule ? { schedule: o.schedule } : {}),
    projection,
  });
  return {
    group,
    activation: o.activation ?? 'relu',
    base: { ...common(o), loss: o.loss ?? 'softmaxCrossEntropy' },
    what: `${kind} lr ${lr}, wd ${weightDecay}`,
  };
}

/**
 * Zhang et al. 2021 Alg. 2 on a deep classifier (App. G, H.2): a `pairedMlp` (the last two
 * layers paired, the output cut off to half: V [k, m_H/2], the other half −V), mirrored LeCun
 * init (LeCun below, the last hidden layer mirrored, f ≡ 0 at init), one optimizer for all layers
 * (SGD momentum 0.9 + weight decay 5e-4, or Adam + weight decay 1e-4), the last hidden layer
 * W_H (with b_H when `bias`) projected onto ‖θ_H − θ_H⁰‖_F ≤ ε after every step, the earlier
 * layers free, V constrained as `vConstraint` says (default none). Defaults: ReLU,
 * softmax cross-entropy.
 */
export function zhang2021Deep(o: Zhang2021DeepOptions): RegimeSpec {
  const vProj = vProjection('zhang2021Deep', o, true);
  const vc = o.vConstraint ?? 'none';
  const { group, activation, base, what } = deepCommon(o);
  const H = o.layers.length - 2;
  if (!(H >= 1))
    throw new RangeError('zhang2021Deep: layers must list [inputDim, m_1, …, m_H, k] with H ≥ 1');
  const withBias = (l: number) => (o.bias ? [`W${l}`, `b${l}`] : [`W${l}`]);
  const free: GroupSpec[] = [];
  if (H > 1) free.push(group(Array.from({ length: H - 1 }, (_, i) => withBias(i + 1)).flat()));
  return validateRegime({
    name: 'zhang2021Deep',
    description: `Zhang et al. 2021 Alg. 2 on the last two layers of a ${o.layers.join('-')} net: mirrored LeCun init, PGD on ‖W${H} − W${H}⁰‖_F ≤ ${o.radius}, V constraint: ${vc}; ${what}`,
    model: {
      kind: 'pairedMlp',
      layers: o.layers,
      activation,
      ...(o.bias ? { bias: true } : {}),
    },
    init: vc === 'none' ? { kind: 'mirroredLecun' } : { kind: 'mirroredLecun', absOuter: true },
    optimizer: {
      groups: [...free, group(withBias(H), { kind: 'frobeniusBall', radius: o.radius }), group(['V'], vProj)],
    },
    ...base,
  });
}

/**
 * The regular-training counterpart of {@link zhang2021Deep} (App. H.2): a plain `mlp` with the
 * same layers (a full output layer [k, m_H]), LeCun init, the same optimizer on every layer, no
 * projection.
 */
export function regularDeep(o: DeepPresetOptions): RegimeSpec {
  const { group, activation, base, what } = deepCommon(o);
  const L = o.layers.length - 1;
  const names = Array.from({ length: L }, (_, i) =>
    o.bias ? [`W${i + 1}`, `b${i + 1}`] : [`W${i + 1}`],
  ).flat();
  return validateRegime({
    name: 'regularDeep',
    description: `Regular training of a ${o.layers.join('-')} net: LeCun init, unconstrained; ${what}`,
    model: { kind: 'mlp', layers: o.layers, activation, ...(o.bias ? { bias: true } : {}) },
    init: { kind: 'lecun' },
    optimizer: { groups: [group(names)] },
    ...base,
  });
}
