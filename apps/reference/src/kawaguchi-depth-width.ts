import { initParams } from '@narrownet/init';
import { kawaguchiLoss } from '@narrownet/landscape';
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
  /** 'finished' or 'diverged' (the training loss left the finite range). */
  training: 'finished' | 'diverged';
  /** The kawaguchiLoss method of each J (sampleGram / parameterGram). */
  method: { init: string; trained: string };
  seconds: number;
}

function jSummary(r: ReturnType<typeof kawaguchiLoss>) {
  if (r.J === null) return { sqrt: null, status: `not converged: ${r.reason}`, method: r.method };
  const status = r.certified ? 'converged, certified' : `converged; ${r.reason}`;
  return { sqrt: Math.sqrt(r.J), status, method: r.method };
}

/**
 * The experiment behind Fig. 1 of Kawaguchi, Huang & Kaelbling (2019) for one data set: for every
 * depth × width cell, a bias-free ReLU MLP with weights N(0, 1/d_{l−1}) (LeCun normal) is
 * evaluated — √J(θ) by {@link kawaguchiLoss} and √L(θ) — at initialisation, trained with mini-batch
 * SGD with momentum for `epochs` epochs on the trainer the caller supplies (onnx or tfjs, via the
 * app's engine), and evaluated again. Cells run one after another; `onCell` sees each as it ends.
 * A run whose loss leaves the finite range is reported `diverged` with no trained J.
 */
export async function kawaguchiDepthWidth(args: {
  data: { X: Float32Array; Y: Float32Array; n: number; d: number; k: number };
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
  const X64 = Float64Array.from(data.X);
  const Y64 = Float64Array.from(data.Y);
  const halfSse = (p: ParamTree, spec: MlpSpec) => {
    const arrays = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.data]));
    return loss64('halfSse', forward64(spec, arrays, X64, data.n), Y64, data.k).value;
  };
  const steps = s.epochs * Math.ceil(data.n / s.batchSize);
  for (const depth of s.depths) {
    for (const width of s.widths) {
      const t0 = performance.now();
      const spec: MlpSpec = {
        kind: 'mlp',
        layers: [data.d, ...Array.from({ length: depth }, () => width), data.k],
        activation: 'relu',
      };
      const cellSeed = s.seed * 1000003 + depth * 1009 + width;
      const params = initParams(spec, { kind: 'lecun', distribution: 'normal' }, createRng(cellSeed));
      const j0 = jSummary(kawaguchiLoss(spec, params, X64, Y64, data.n));
      const l0 = halfSse(params, spec);
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
      const l1 = trained ? halfSse(trained, spec) : Number.NaN;
      const ok = trained !== null && Number.isFinite(l1);
      const j1 = ok ? jSummary(kawaguchiLoss(spec, trained!, X64, Y64, data.n)) : null;
      const cell: KawaguchiDepthWidthCell = {
        depth,
        width,
        params: names.reduce((a, nm) => a + params[nm]!.data.length, 0),
        sqrtJInit: j0.sqrt,
        sqrtJTrained: j1?.sqrt ?? null,
        sqrtLInit: Math.sqrt(l0),
        sqrtLTrained: ok ? Math.sqrt(l1) : null,
        jStatus: { init: j0.status, trained: j1?.status ?? 'training diverged: no J' },
        training: ok ? 'finished' : 'diverged',
        method: { init: j0.method, trained: j1?.method ?? 'none' },
        seconds: (performance.now() - t0) / 1000,
      };
      cells.push(cell);
      args.onCell?.(cell);
    }
  }
  return cells;
}
