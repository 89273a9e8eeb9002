// J(θ) of Kawaguchi, Huang & Kaelbling (2019) at the paper's sizes (issue 14):
//   synthetic: teacher H = 7, width 50, tanh, x ∈ R^10, n = 5,000; student relu depth 3 width 50;
//   MNIST 8×8: the 10,000 offline digits of the `mnist` package, centre-crop 24×24 → area 8×8,
//              10 one-hot outputs (vec(Y) has 100,000 entries); student relu depth 2 width 50.
// Students at initialisation N(0, 1/fan_in), no bias (the paper's "initial" heat maps).
// Run after building: `npm run bench:kawaguchi` in packages/landscape. Prints one JSON line per case.
// BENCH_DUMP=<dir> also writes X, Y and the weights as raw float64 (.f64) for
// scripts/kawaguchi_scale_reference.py (the NumPy/PyTorch comparison).
// BENCH_DUMP_ONLY=1 writes the dump and computes nothing. BENCH_CASES=synthetic,mnist selects cases. `seconds` is wall time, `cpuSeconds` the process's CPU
// time (user + system): on a shared machine the second is the one that measures the work.
// `phaseSeconds` is kawaguchiLoss's own wall-clock split (gram, factor, refinement, deflation), `kernel`
// the matrix kernel that ran (wasm-simd, or js where WebAssembly SIMD is missing), `load` the
// 1/5/15-minute load averages when the case finished. BENCH_THREADS=2,1 runs each case once per
// thread count (default: kawaguchiLoss's default); `threads` is how many formed the Gram matrix,
// `cpuPhaseSeconds` the process CPU per phase (all threads).
// Paper-scale cells (not in the default cases): BENCH_CASES=synthetic-paper,mnist-paper, depth 5 ×
// width 100; BENCH_LSQR_ITERATIONS caps LSQR on the matrixFree route (default kawaguchiLoss's 1000).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { kawaguchiMnist8x8, kawaguchiTeacher, mnistSample } from '@narrownet/datasets';
import { createRng } from '@narrownet/models';
import { kawaguchiLoss } from '../dist/index.js';

const dump = process.env.BENCH_DUMP;
const which = (process.env.BENCH_CASES ?? 'synthetic,mnist').split(',');

function student(layers, seed) {
  const rng = createRng(seed);
  const params = {};
  for (let l = 1; l < layers.length; l++) {
    params[`W${l}`] = rng.fillNormal(
      new Float64Array(layers[l] * layers[l - 1]),
      0,
      1 / Math.sqrt(layers[l - 1]),
    );
  }
  return { spec: { kind: 'mlp', layers, activation: 'relu' }, params };
}

const threadList = process.env.BENCH_THREADS ? process.env.BENCH_THREADS.split(',').map(Number) : [undefined];

function run(name, ds, layers, seed) {
  for (const threads of threadList) runOnce(name, ds, layers, seed, threads);
}

function runOnce(name, ds, layers, seed, threads) {
  const { spec, params } = student(layers, seed);
  const X = Float64Array.from(ds.X);
  const Y = Float64Array.from(ds.Y);
  if (dump) {
    const dir = join(dump, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'X.f64'), Buffer.from(X.buffer));
    writeFileSync(join(dir, 'Y.f64'), Buffer.from(Y.buffer));
    for (const [k, v] of Object.entries(params)) writeFileSync(join(dir, `${k}.f64`), Buffer.from(v.buffer));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ n: ds.n, layers }));
    if (process.env.BENCH_DUMP_ONLY) return;
  }
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const opts = threads === undefined ? {} : { threads };
  if (process.env.BENCH_LSQR_ITERATIONS) opts.maxIterations = Number(process.env.BENCH_LSQR_ITERATIONS);
  const r = kawaguchiLoss(spec, params, X, Y, ds.n, opts);
  const s = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    JSON.stringify({
      bench: 'kawaguchi.scale',
      case: name,
      n: ds.n,
      layers,
      rows: r.rows,
      params: r.cols,
      seconds: Number(s.toFixed(2)),
      cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      J: r.J,
      sqrtJ: r.J === null ? null : Math.sqrt(r.J),
      rank: r.rank,
      method: r.method,
      converged: r.converged,
      certified: r.certified,
      deflated: r.deflated,
      refinements: r.refinements,
      cutoff: r.cutoff.value,
      sigmaMax: r.sigmaMax,
      gap: r.gap,
      reason: r.reason,
      upperBound: r.upperBound,
      lsqr: r.lsqr,
      kernel: r.kernel,
      threads: r.threads,
      threadFallback: r.threadFallback || undefined,
      phaseSeconds: seconds(r.timings),
      cpuPhaseSeconds: r.cpuTimings && seconds(r.cpuTimings),
      load: os.loadavg().map((x) => Number(x.toFixed(1))),
    }),
  );
}

function seconds(ms) {
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Number((v / 1000).toFixed(2))]));
}

if (which.includes('synthetic')) {
  const ds = kawaguchiTeacher({ n: 5000, seed: 0 });
  run('synthetic-depth3-width50', ds, [10, 50, 50, 50, 1], 1);
}
if (which.includes('mnist')) {
  const ds = kawaguchiMnist8x8(mnistSample());
  run('mnist8x8-depth2-width50', ds, [64, 50, 50, 10], 2);
}
if (which.includes('synthetic-paper')) {
  const ds = kawaguchiTeacher({ n: 5000, seed: 0 });
  run('synthetic-depth5-width100', ds, [10, 100, 100, 100, 100, 100, 1], 3);
}
if (which.includes('mnist-paper')) {
  const ds = kawaguchiMnist8x8(mnistSample());
  run('mnist8x8-depth5-width100', ds, [64, 100, 100, 100, 100, 100, 10], 4);
}
