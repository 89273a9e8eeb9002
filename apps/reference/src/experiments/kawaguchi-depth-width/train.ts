import type { TrainerInfo } from '@narrownet/regime';
import { kawaguchiCell } from '../../kawaguchi-depth-width.js';
import type { RunPlan, SweepRecord, UnitContext } from '../../sweep/experiment.js';
import { INPUT_DIM, OUTPUT_DIM, datasetOf } from './data.js';
import type { KawaguchiDataset, KawaguchiSweepSettings } from './settings.js';

/** One cell of the sweep: a data set, a depth and a width. */
export interface KawaguchiKey {
  dataset: KawaguchiDataset;
  depth: number;
  width: number;
}

/** The stable id of a cell, e.g. `synthetic/H2/m20`. */
export function cellId(k: KawaguchiKey): string {
  return `${k.dataset}/H${k.depth}/m${k.width}`;
}

/** What a J computation says besides its value. */
export interface JInfo {
  method: string;
  converged: boolean;
  certified: boolean;
  /** In words: "converged, certified", or why not. */
  status: string;
}

/** The stored record of one cell. */
export interface KawaguchiRecord extends SweepRecord, KawaguchiKey {
  /** Parameters of the net and samples of the data set. */
  params: number;
  n: number;
  /** √J and √L (both ½ convention) at the initial and trained weights; null where not computed. */
  sqrtJInit: number | null;
  sqrtJTrained: number | null;
  sqrtLInit: number | null;
  sqrtLTrained: number | null;
  jInit: JInfo | null;
  /** Null when training diverged (no trained weights to evaluate). */
  jTrained: JInfo | null;
  /** Optimizer steps of training (epochs × ⌈n / batch size⌉). */
  steps: number;
}

/** Training settings of one data set (App. C: momentum and batch size differ per data set). */
export function trainingOf(s: KawaguchiSweepSettings, dataset: KawaguchiDataset) {
  const syn = dataset === 'synthetic';
  return {
    n: syn ? s.syntheticN : dataset === 'mnist8x8' ? s.mnistN : s.imageN,
    momentum: syn ? s.syntheticMomentum : s.mnistMomentum,
    batchSize: syn ? s.syntheticBatchSize : s.mnistBatchSize,
  };
}

/** Every cell of the sweep: data sets, then depths, then widths. */
export function kawaguchiRuns(s: KawaguchiSweepSettings): RunPlan<KawaguchiKey>[] {
  const out: RunPlan<KawaguchiKey>[] = [];
  for (const dataset of s.datasets) {
    const { n } = trainingOf(s, dataset);
    const d = INPUT_DIM[dataset];
    for (const depth of s.depths)
      for (const width of s.widths) {
        const key = { dataset, depth, width };
        // ∝ parameters × samples × epochs (training), plus one pass each for J at init and end
        const params = d * width + (depth - 1) * width * width + width * OUTPUT_DIM[dataset];
        out.push({ id: cellId(key), key, cost: params * n * (s.epochs + 2) });
      }
  }
  return out;
}

/** The fields of a record that only depend on the cell and the settings. */
export function baseKawaguchiRecord(s: KawaguchiSweepSettings, k: KawaguchiKey) {
  const { n, batchSize } = trainingOf(s, k.dataset);
  return { id: cellId(k), ...k, n, steps: s.epochs * Math.ceil(n / batchSize) };
}

/** Trains one cell through the library's {@link kawaguchiCell} and makes its record. */
export async function trainKawaguchiCell(
  plan: RunPlan<KawaguchiKey>,
  ctx: UnitContext<KawaguchiSweepSettings, KawaguchiRecord>,
): Promise<KawaguchiRecord[] | undefined> {
  const s = ctx.settings;
  if (ctx.signal?.aborted) return undefined;
  const k = plan.key;
  const { momentum, batchSize } = trainingOf(s, k.dataset);
  let info: TrainerInfo | undefined;
  const cell = await kawaguchiCell({
    data: datasetOf(s, k.dataset),
    settings: {
      depths: [k.depth],
      widths: [k.width],
      epochs: s.epochs,
      lr: s.lr,
      momentum,
      batchSize,
      trainLoss: s.trainLoss,
      seed: s.seed,
      cutoff: s.cutoff,
    },
    depth: k.depth,
    width: k.width,
    createTrainer: async (config) => {
      const trainer = await ctx.engine.createTrainer(config);
      info = trainer.info;
      return trainer;
    },
  });
  ctx.progress(plan.cost, plan.id);
  const j = (status: string, method: string, flags: { converged: boolean; certified: boolean }): JInfo => ({
    method,
    ...flags,
    status,
  });
  return [
    {
      ...baseKawaguchiRecord(s, k),
      status: cell.training === 'diverged' ? 'diverged' : 'budget',
      params: cell.params,
      sqrtJInit: cell.sqrtJInit,
      sqrtJTrained: cell.sqrtJTrained,
      sqrtLInit: Number.isFinite(cell.sqrtLInit) ? cell.sqrtLInit : null,
      sqrtLTrained: cell.sqrtLTrained,
      jInit: j(cell.jStatus.init, cell.method.init, cell.jFlags.init),
      jTrained: cell.jFlags.trained
        ? j(cell.jStatus.trained, cell.method.trained, cell.jFlags.trained)
        : null,
      wallMs: Math.round(cell.seconds * 1000),
      engine: info
        ? { engine: info.engine, backend: info.backend, device: info.device }
        : { engine: 'none', backend: 'none', device: 'none' },
      finishedAt: new Date().toISOString(),
    },
  ];
}
