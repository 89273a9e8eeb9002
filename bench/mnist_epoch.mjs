#!/usr/bin/env node
// One epoch of Zhang et al.'s Alg. 2 on the MNIST net of App. H.2 / Fig. 7 — 784-784-256-10 ReLU,
// the last two layers paired (`zhang2021Deep`: mirrored LeCun init, V [10, 128], SGD lr 0.01 +
// momentum 0.9 + weight decay 5e-4 on every layer, ‖W2 − W2⁰‖_F ≤ eps projected after every
// step, softmax cross-entropy), mini-batches of 64, one epoch = ⌊n/64⌋ steps — on narrownet's
// fused onnxruntime trainer (`createOnnxTrainer` with `batchSize: 64`) against the same model and
// step in PyTorch (bench/torch_mnist_epoch.py), interleaved case by case in ONE invocation so both
// see the same machine load. Data: the 10,000 offline MNIST digits (`mnistSample`), normalised
// with the global mean/std of the pixels.
//
//   node bench/mnist_epoch.mjs [--repeats 3] [--threads 2] [--torchThreads 1,2] [--k 1]
//                              [--warmup 5] [--eps 1] [--m2 256] [--spin 0] [--profile 0|1]
//                              [--resident 0|1] [--prealloc 0|1]
//
// `--profile 1` runs narrownet's epoch once with onnxruntime's profiler and prints where the
// kernel time of the step session goes (by operator type and the slowest nodes; the full-data
// loss evaluations are left out), without the PyTorch side.
//
// narrownet's `trainer.run(steps)` ends by evaluating the training loss on all n samples (what it
// returns); the PyTorch side does the same (`epoch_ms`), and both also report the epoch without
// it (narrownet: run(steps) − run(0), run(0) being that evaluation alone).
// Prints one JSON line per measurement, the ratio narrownet/PyTorch per repeat against PyTorch's
// fastest thread setting of that repeat, and the median.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mnistSample } from '../packages/datasets/dist/index.js';
import { initParams } from '../packages/init/dist/index.js';
import { createRng } from '../packages/models/dist/index.js';
import { zhang2021Deep } from '../packages/regime/dist/index.js';
import { createOnnxTrainer, parseArgs, printProfile, readProfiles, startOnnx } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const a = parseArgs(process.argv.slice(2), {
  repeats: 3,
  threads: 2,
  torchThreads: [1, 2],
  k: 1,
  warmup: 5,
  eps: 1,
  m2: 256,
  spin: 0,
  batch: 64,
  profile: 0,
  top: 15,
  resident: 0,
  prealloc: 0,
  python: '/usr/bin/python3',
});

const data = mnistSample();
const { n } = data;
let sum = 0;
let sq = 0;
for (const x of data.X) {
  sum += x;
  sq += x * x;
}
const mean = sum / data.X.length;
const std = Math.sqrt(sq / data.X.length - mean * mean);
const X = Float32Array.from(data.X, (x) => (x - mean) / std);
const labels = new Int32Array(n);
for (let i = 0; i < n; i++) for (let c = 0; c < 10; c++) if (data.Y[i * 10 + c] === 1) labels[i] = c;
const steps = Math.floor(n / a.batch);

const dir = mkdtempSync(join(tmpdir(), 'mnist-epoch-'));
const prefix = join(dir, 'mnist');
writeFileSync(`${prefix}.X.f32`, Buffer.from(X.buffer));
writeFileSync(`${prefix}.labels.i32`, Buffer.from(labels.buffer));

const torchScript = resolve(here, 'torch_mnist_epoch.py');
const torchOk = spawnSync(a.python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torchOk)
  console.log(
    `# PyTorch side not run: ${a.python} cannot import torch (Debian: apt-get install -y python3-torch libopenblas0-pthread)`,
  );

const engine = await startOnnx({ device: 'cpu', threads: a.threads });
const regime = zhang2021Deep({ layers: [784, 784, a.m2, 10], radius: a.eps });

async function narrownet(seed, extraSession = {}) {
  const params = initParams(regime.model, regime.init, createRng(seed));
  const trainer = await createOnnxTrainer(
    engine,
    {
      spec: regime.model,
      loss: regime.loss,
      optimizer: regime.optimizer,
      params,
      data: { X, Y: data.Y, n },
      batchSize: a.batch,
      seed,
    },
    {
      stepsPerCall: a.k,
      resident: a.resident === 1,
      preallocate: a.prealloc === 1,
      sessionOptions: {
        ...extraSession,
        extra: { session: { intra_op: { allow_spinning: String(a.spin) } } },
      },
    },
  );
  await trainer.run(a.warmup);
  let t0 = process.hrtime.bigint();
  await trainer.run(0);
  const fullLossMs = Number(process.hrtime.bigint() - t0) / 1e6;
  t0 = process.hrtime.bigint();
  const loss = await trainer.run(steps);
  const epochMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await trainer.dispose();
  return {
    impl: `narrownet-onnxruntime-${engine.version}`,
    n,
    m2: a.m2,
    batch: a.batch,
    steps,
    threads: a.threads,
    steps_per_call: a.k,
    resident: a.resident,
    prealloc: a.prealloc,
    epoch_ms: +epochMs.toFixed(1),
    epoch_ms_without_full_loss: +(epochMs - fullLossMs).toFixed(1),
    full_loss_ms: +fullLossMs.toFixed(1),
    ms_per_step: +((epochMs - fullLossMs) / steps).toFixed(3),
    full_loss: loss,
  };
}

function torch(threads) {
  const args = [torchScript, '--data', prefix, '--threads', threads, '--warmup', a.warmup, '--eps', a.eps];
  args.push('--m2', a.m2, '--batch', a.batch);
  const r = spawnSync(a.python, args.map(String), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_mnist_epoch.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

if (a.profile) {
  const prefix = join(dir, 'profile');
  const r = await narrownet(0, { enableProfiling: true, profileFilePrefix: prefix });
  console.log(JSON.stringify(r));
  const prof = readProfiles(prefix, { busiestOnly: true }); // the step session alone
  console.log(JSON.stringify({ session_runs: prof.runs, kernel_ms_total: +(prof.total / 1e3).toFixed(1) }));
  printProfile(prof, a.top);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ratios = [];
const ratiosNoLoss = [];
try {
  for (let r = 0; r < a.repeats; r++) {
    const ours = await narrownet(r);
    console.log(JSON.stringify(ours));
    if (!torchOk) continue;
    const theirs = a.torchThreads.map((t) => torch(t));
    for (const t of theirs) console.log(JSON.stringify(t));
    const best = theirs.reduce((x, y) => (y.epoch_ms < x.epoch_ms ? y : x));
    const bestNoLoss = theirs.reduce((x, y) =>
      y.epoch_ms_without_full_loss < x.epoch_ms_without_full_loss ? y : x,
    );
    ratios.push(ours.epoch_ms / best.epoch_ms);
    ratiosNoLoss.push(ours.epoch_ms_without_full_loss / bestNoLoss.epoch_ms_without_full_loss);
    console.log(
      JSON.stringify({
        repeat: r + 1,
        ratio_narrownet_over_pytorch: +(ours.epoch_ms / best.epoch_ms).toFixed(3),
        pytorch_fastest_threads: best.threads,
        ratio_without_full_loss: +ratiosNoLoss[r].toFixed(3),
      }),
    );
  }
  if (ratios.length)
    console.log(
      JSON.stringify({
        summary: 'one epoch, 784-784-256-10 paired net, batch 64, SGD momentum + wd + ball projection',
        median_ratio: +median(ratios).toFixed(3),
        ratios: ratios.map((x) => +x.toFixed(3)),
        median_ratio_without_full_loss: +median(ratiosNoLoss).toFixed(3),
      }),
    );
} finally {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
