import { initParams } from '@narrownet/init';
import { type CutoffCriterion, kawaguchiLoss } from '@narrownet/landscape';
import { type LossName, type MlpSpec, type ParamTree, createRng, forward64, loss64 } from '@narrownet/models';
import type { TrainerFactory } from '@narrownet/regime';

/** Settings of {@link kawaguchiDepthWidth} (Kawaguchi, Huang & Kaelbling 2019, Sec. 4.3, App. C). */
export interface KawaguchiDepthWidthSettings {
  /** Depths H (hidden layers) of the grid, e.g. [1, 2, 3, 4, 5]. */
  depths: readonly number[];
  /** Widths d_l (every hidden layer) of the grid, e.g. [5, 10, 20, 50, 100]. */
  widths: readonly number[];
  /** Training epochs (paper: 40). */
  epochs: number;
  /** SGD step size (paper: 0.01). */
  lr: number;
  /** Heavy-ball momentum (paper: 0.9 synthetic, 0.5 images). */
  momentum: number;
  /** Mini-batch size (paper: 200 synthetic, 64 images). */
  batchSize: number;
  /**
   * Training loss: 'mse' (PyTorch's MSELoss, a mean — the usual "standard procedure") or
   * 'halfSse' (the paper's ½Σ, eq. 2.1). L(θ) beside J(θ) is always reported as ½‖Ŷ − Y‖²_F.
   */
  trainLoss: Extract<LossName, 'mse' | 'halfSse'>;
  /** Seed of initialisation and mini-batch order (cell seeds derive from it). */
  seed: number;
  /** App. C's singular-value cutoff of J (default 'numericalRecipes', the one App. C used). */
  cutoff?: CutoffCriterion;
}

/** One depth × width cell: √J at initialisation and after training, with L(θ) beside it. */
export interface KawaguchiDepthWidthCell {
  depth: number;
  width: number;
  params: number;
  /** √J(θ) (½ convention) at the initial weights, null when J did not converge. */
  sqrtJInit: number | null;
  /** √J(θ) after training, null when J did not converge or training diverged. */
  sqrtJTrained: number | null;
  /** √L(θ) = √(½‖Ŷ − Y‖²_F) at the initial and trained weights (Theorem 1: L = J at local minima). */
  sqrtLInit: number;
  sqrtLTrained: number | null;
  /** Whether both J computations converged and were certified, in words when not. */
  jStatus: { init: string; trained: string };
  /** Each J's `converged` and `certified` flags (trained: null when training diverged). */
  jFlags: {
    init: { converged: boolean; certified: boolean };
    trained: { converged: boolean; certified: boolean } | null;
  };
  /** 'finished' or 'diverged' (the training loss left the finite range). */
  training: 'finished' | 'diverged';
  /** The kawaguchiLoss method of each J (sampleGram / parameterGram). */
  method: { init: string; trained: string };
  seconds: number;
}

function jSummary(r: ReturnType<typeof kawaguchiLoss>) {
  const flags = { converged: r.J !== null && r.converged, certified: r.J !== null && r.certified };
  if (r.J === null) return { sqrt: null, status: `not converged: ${r.reason}`, method: r.method, flags };
  const status = r.certified ? 'converged, certified' : `converged; ${r.reason}`;
  return { sqrt: Math.sqrt(r.J), status, method: r.method, flags };
}

/** A data set of the experiment: n samples, inputs X (n × d) and targets Y (n × k), row-major. */
export interface KawaguchiData {
  X: Float32Array;
  Y: Float32Array;
  n: number;
  d: number;
  k: number;
}

/**
 * One depth × width cell of {@link kawaguchiDepthWidth}: initialises, evaluates √J and √L, trains
 * for `settings.epochs` epochs on the supplied trainer and evaluates again. The cell's init and
 * mini-batch seed derive from `settings.seed`, `depth` and `width` only, so a cell trained alone
 * equals the same cell of a whole grid.
 */
export async function kawaguchiCell(args: {
  data: KawaguchiData;
  settings: KawaguchiDepthWidthSettings;
  depth: number;
  width: number;
  createTrainer: TrainerFactory;
}): Promise<KawaguchiDepthWidthCell> {
  const { data, settings: s, depth, width, createTrainer } = args;
  const t0 = performance.now();
  const X64 = Float64Array.from(data.X);
  const Y64 = Float64Array.from(data.Y);
  const opts = s.cutoff ? { cutoff: s.cutoff } : {};
  const spec: MlpSpec = {
    kind: 'mlp',
    layers: [data.d, ...Array.from({ length: depth }, () => width), data.k],
    activation: 'relu',
  };
  const halfSse = (p: ParamTree) => {
    const arrays = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.data]));
    return loss64('halfSse', forward64(spec, arrays, X64, data.n), Y64, data.k).value;
  };
  const steps = s.epochs * Math.ceil(data.n / s.batchSize);
  const cellSeed = s.seed * 1000003 + depth * 1009 + width;
  const params = initParams(spec, { kind: 'lecun', distribution: 'normal' }, createRng(cellSeed));
  const j0 = jSummary(kawaguchiLoss(spec, params, X64, Y64, data.n, opts));
  const l0 = halfSse(params);
  const names = Object.keys(params);
  const trainer = await createTrainer({
    spec,
    loss: s.trainLoss,
    optimizer: { groups: [{ params: names, lr: s.lr, update: { kind: 'sgd', momentum: s.momentum } }] },
    params,
    data: { X: data.X, Y: data.Y, n: data.n },
    batchSize: s.batchSize,
    seed: cellSeed,
  });
  let trained: ParamTree | null = null;
  try {
    const last = await trainer.run(steps);
    if (Number.isFinite(last)) trained = (await trainer.state()).params;
  } finally {
    await trainer.dispose();
  }
  const l1 = trained ? halfSse(trained) : Number.NaN;
  const ok = trained !== null && Number.isFinite(l1);
  const j1 = ok ? jSummary(kawaguchiLoss(spec, trained!, X64, Y64, data.n, opts)) : null;
  return {
    depth,
    width,
    params: names.reduce((a, nm) => a + params[nm]!.data.length, 0),
    sqrtJInit: j0.sqrt,
    sqrtJTrained: j1?.sqrt ?? null,
    sqrtLInit: Math.sqrt(l0),
    sqrtLTrained: ok ? Math.sqrt(l1) : null,
    jStatus: { init: j0.status, trained: j1?.status ?? 'training diverged: no J' },
    jFlags: { init: j0.flags, trained: j1?.flags ?? null },
    training: ok ? 'finished' : 'diverged',
    method: { init: j0.method, trained: j1?.method ?? 'none' },
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The experiment behind Fig. 1 of Kawaguchi, Huang & Kaelbling (2019) for one data set: for every
 * depth × width cell, a bias-free ReLU MLP with weights N(0, 1/d_{l−1}) (LeCun normal) is
 * evaluated — √J(θ) by {@link kawaguchiLoss} and √L(θ) — at initialisation, trained with mini-batch
 * SGD with momentum for `epochs` epochs on the trainer the caller supplies (onnx or tfjs, via the
 * app's engine), and evaluated again ({@link kawaguchiCell}). Cells run one after another; `onCell`
 * sees each as it ends. A run whose loss leaves the finite range is reported `diverged` with no
 * trained J.
 */
export async function kawaguchiDepthWidth(args: {
  data: KawaguchiData;
  settings: KawaguchiDepthWidthSettings;
  createTrainer: TrainerFactory;
  onCell?: (cell: KawaguchiDepthWidthCell) => void;
}): Promise<KawaguchiDepthWidthCell[]> {
  const { data, settings: s, createTrainer } = args;
  for (const [name, v] of [
    ['epochs', s.epochs],
    ['batchSize', s.batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`kawaguchiDepthWidth: settings.${name} must be a positive integer`);
  }
  for (const list of ['depths', 'widths'] as const) {
    const xs = s[list];
    if (!Array.isArray(xs) || xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x <= 0)) {
      throw new RangeError(
        `kawaguchiDepthWidth: settings.${list} must be a non-empty list of positive integers`,
      );
    }
  }
  const cells: KawaguchiDepthWidthCell[] = [];
  for (const depth of s.depths) {
    for (const width of s.widths) {
      const cell = await kawaguchiCell({ data, settings: s, depth, width, createTrainer });
      cells.push(cell);
      args.onCell?.(cell);
    }
  }
  return cells;
}
