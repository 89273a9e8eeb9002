// Shared setup of narrownet's benchmark scripts: the regimes of /work/shared/bench/torch_reference.py
// (same data distribution, init, hyperparameters), built from the BUILT packages (run
// `npx -y pnpm@10.34.8 exec turbo run build --filter=@narrownet/regime...` first; the root
// scripts `bench` and `bench:compare` do).
import { zhangSynthetic } from '../packages/datasets/dist/index.js';
import { startOnnx } from '../packages/engine/dist/index.js';
import { initParams } from '../packages/init/dist/index.js';
import { createRng } from '../packages/models/dist/index.js';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createOnnxGridTrainer, createOnnxTrainer } from '../packages/regime/dist/index.js';

export { startOnnx, createOnnxTrainer, createOnnxGridTrainer };

/** Parses `--key value` flags with defaults; numbers and comma lists are converted. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (!(key in defaults))
      throw new Error(`unknown flag --${key}; known: ${Object.keys(defaults).join(', ')}`);
    const raw = argv[++i];
    if (raw === undefined) throw new Error(`flag --${key} needs a value`);
    const d = defaults[key];
    if (Array.isArray(d)) out[key] = raw.split(',').map((s) => (typeof d[0] === 'number' ? Number(s) : s));
    else out[key] = typeof d === 'number' ? Number(raw) : raw;
  }
  return out;
}

/** Data sets by (n, d, seed): a grid of configurations shares one (as torch_grid.py does). */
const dataCache = new Map();

/**
 * The TrainerConfig of one torch_reference.py case: Zhang's synthetic data (x ~ N(0, I) unit
 * normed, y = (1ᵀx)²), tanh, ½Σ loss, SGD with momentum for both layers. `paired`: mirrored
 * LeCun init, v of m/2 entries, W projected on ‖W − W0‖_F ≤ eps, v free (as the reference
 * script). `regular`: LeCun init, free v, no projection.
 */
export function regimeConfig({
  regime,
  n,
  d,
  m,
  eps = 1,
  lr1 = 1e-3,
  lr2 = 1e-3,
  momentum = 0.9,
  seed = 0,
  schedule = 'constant',
}) {
  const key = `${n},${d},${seed}`;
  if (!dataCache.has(key)) dataCache.set(key, zhangSynthetic({ n, d, seed }));
  const data = dataCache.get(key);
  const spec = {
    kind: regime === 'paired' ? 'paired' : 'shallow',
    inputDim: d,
    width: m,
    activation: 'tanh',
  };
  const init = regime === 'paired' ? { kind: 'mirroredLecun' } : { kind: 'lecun' };
  const params = initParams(spec, init, createRng(seed + 1));
  const update = { kind: 'sgd', momentum };
  // `cosine` (over 1000 steps) only exists to measure the cost of the in-graph schedule.
  const sched = schedule === 'cosine' ? { kind: 'cosine', tMax: 1000 } : undefined;
  const optimizer = {
    groups: [
      {
        params: ['W'],
        lr: lr1,
        update,
        schedule: sched,
        projection: regime === 'paired' ? { kind: 'frobeniusBall', radius: eps } : { kind: 'none' },
      },
      { params: ['v'], lr: lr2, update, schedule: sched },
    ],
  };
  return { spec, loss: 'halfSse', optimizer, params, data: { X: data.X, Y: data.Y, n } };
}

/**
 * Reads (and deletes) the onnxruntime profiles written under `prefix` (sessionOptions
 * `enableProfiling` + `profileFilePrefix`; a session writes its file when released): kernel time
 * summed by operator type and by node (µs), the number of model runs and their total time; with
 * `busiestOnly`, of the session with the most runs only.
 */
export function readProfiles(prefix, { busiestOnly = false } = {}) {
  const dir = dirname(prefix);
  const files = readdirSync(dir).filter((f) => f.startsWith(basename(prefix)));
  const byOp = new Map();
  const byNode = new Map();
  let runs = 0;
  let runTime = 0;
  const parsed = files.map((f) => {
    const events = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
    rmSync(`${dir}/${f}`);
    return { events, runs: events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length };
  });
  // `busiestOnly`: the session with the most runs alone (the step session of a trainer).
  const most = Math.max(0, ...parsed.map((p) => p.runs));
  for (const { events, runs: r } of parsed) {
    if (busiestOnly && r !== most) continue;
    for (const e of events) {
      if (e.cat === 'Session' && e.name === 'model_run') {
        runs++;
        runTime += e.dur;
      }
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      const key = `${op} ${e.name.replace('_kernel_time', '')}`;
      byNode.set(key, (byNode.get(key) ?? 0) + e.dur);
    }
  }
  const total = [...byOp.values()].reduce((s, x) => s + x, 0);
  return { byOp, byNode, runs, runTime, total };
}

/** Prints a {@link readProfiles} result: time per operator type and the `top` slowest nodes. */
export function printProfile({ byOp, byNode, total }, top) {
  console.log('by operator type (ms over all profiled runs, share of kernel time):');
  for (const [op, t] of [...byOp.entries()].sort((x, y) => y[1] - x[1]))
    console.log(`  ${op.padEnd(22)} ${(t / 1e3).toFixed(1).padStart(9)}  ${((100 * t) / total).toFixed(1)}%`);
  console.log(`slowest ${top} nodes:`);
  for (const [node, t] of [...byNode.entries()].sort((x, y) => y[1] - x[1]).slice(0, top))
    console.log(`  ${node.padEnd(50)} ${(t / 1e3).toFixed(1).padStart(9)}`);
}
