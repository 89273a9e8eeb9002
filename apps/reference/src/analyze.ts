import { existsSync } from 'node:fs';
import { type Dataset, getDataset, loadNpyDataset } from '@narrownet/datasets';
import { analyzeModel } from '@narrownet/landscape';
import { inputDim, loadCheckpoint, lossAndGrad64, outputDim } from '@narrownet/models';
import { UsageError } from './options.js';

/** What `narrownet analyze` reads. */
export interface AnalyzeArgs {
  /** Checkpoint base path or either of its files. */
  checkpoint: string;
  /** `x.npy,y.npy` or a dataset name of @narrownet/datasets. */
  data: string;
  /** Sample size for a generated dataset. */
  n?: number;
  /** Input dimension for a generated dataset. */
  d?: number;
  seed?: number;
}

function loadData(spec: string, opts: Record<string, number>): Dataset {
  if (spec.includes(',')) {
    const [x, y, ...more] = spec.split(',');
    if (more.length || !x || !y) throw new UsageError(`--data: expected "x.npy,y.npy", got "${spec}"`);
    for (const f of [x, y]) if (!existsSync(f)) throw new UsageError(`--data: file ${f} does not exist`);
    return loadNpyDataset(x, y);
  }
  try {
    return getDataset(spec, opts);
  } catch (err) {
    throw new UsageError(`--data: ${(err as Error).message}`);
  }
}

/**
 * Loads a checkpoint and data and returns, as JSON, the loss ½Σ(y − f)² and its gradient norm
 * plus every landscape quantity that applies to the model (landscape's `analyzeModel`: Zhang
 * λ_min(J) and width condition, Kawaguchi et al. projection losses, Kawaguchi–Huang rank and
 * bounds, Song et al. near-isometry quantities).
 */
export async function analyze(args: AnalyzeArgs): Promise<Record<string, unknown>> {
  if (
    !existsSync(args.checkpoint) &&
    !existsSync(`${args.checkpoint.replace(/\.(json|safetensors)$/, '')}.json`)
  )
    throw new UsageError(`--checkpoint: ${args.checkpoint} does not exist`);
  const ck = loadCheckpoint(args.checkpoint);
  const opts: Record<string, number> = {};
  for (const k of ['n', 'd', 'seed'] as const) if (args[k] !== undefined) opts[k] = args[k]!;
  const ds = loadData(args.data, opts);
  const spec = ck.spec;
  if (ds.d !== inputDim(spec))
    throw new UsageError(
      `--data: the data has d = ${ds.d} inputs, the checkpoint's model takes ${inputDim(spec)}`,
    );
  if (ds.k !== outputDim(spec))
    throw new UsageError(
      `--data: the data has k = ${ds.k} outputs, the checkpoint's model gives ${outputDim(spec)}`,
    );
  const p64: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(ck.params)) p64[k] = t.data;
  const { loss, grads } = lossAndGrad64(spec, p64, ds.X, ds.Y, ds.n, 'halfSse');
  let g2 = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g2 += g[i]! ** 2;
  return {
    checkpoint: args.checkpoint,
    data: { name: ds.name, n: ds.n, d: ds.d, k: ds.k },
    step: ck.state.step ?? null,
    loss: { halfSse: loss, gradNorm: Math.sqrt(g2) },
    ...analyzeModel({ spec, params: ck.params, X: ds.X, Y: ds.Y, n: ds.n }),
  };
}
