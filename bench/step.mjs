#!/usr/bin/env node
// Times narrownet's full regime step (forward, analytic gradient, momentum update, projection)
// on onnxruntime for the cases of /work/shared/bench/torch_reference.py, printing one JSON line
// per case in that script's schema (impl, regime, n, d, m, steps, threads, ms_per_step,
// final_loss) plus `steps_per_call`.
//
//   node bench/step.mjs [--regime paired,regular] [--m 40,400,1200] [--n 1000] [--d 200]
//                       [--steps 50] [--warmup 5] [--threads 2] [--k auto|<int>] [--eps 1]
//                       [--spin 0|1] [--prealloc 0|1] [--schedule constant|cosine]
//
// `--spin 0` turns off the spinning of onnxruntime's idle intra-op threads
// (session.intra_op.allow_spinning), which wastes the cores on a shared machine.
//
// `--k` is the number of steps fused per onnxruntime call (ONNX Loop); `auto` is 10 (measured
// faster than 1 at every width, bench/levers.mjs). final_loss is the loss at the
// iterate reached after warmup + steps steps (torch_reference.py reports the loss evaluated at
// the start of its last step, one step earlier).
import { pathToFileURL } from 'node:url';
import { createOnnxTrainer, parseArgs, regimeConfig, startOnnx } from './common.mjs';

export const DEFAULTS = {
  regime: ['paired', 'regular'],
  m: [40, 400, 1200],
  n: 1000,
  d: 200,
  steps: 50,
  warmup: 5,
  threads: 2,
  k: 'auto',
  eps: 1,
  seed: 0,
  spin: 0,
  prealloc: 0,
  schedule: 'constant',
};

export function stepsPerCall(k, _m) {
  // Measured (bench/levers.mjs): K = 10 beats K = 1 at m = 40 and at m = 1200 alike.
  if (k === 'auto') return 10;
  const v = Number(k);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--k must be auto or a positive integer, got ${k}`);
  return v;
}

let engineCache;
async function engineFor(threads) {
  engineCache ??= new Map();
  if (!engineCache.has(threads)) engineCache.set(threads, await startOnnx({ device: 'cpu', threads }));
  return engineCache.get(threads);
}

/** Runs one case and resolves to its JSON record. */
export async function runCase({
  regime,
  n,
  d,
  m,
  steps,
  warmup,
  threads,
  k,
  eps,
  seed,
  spin = 0,
  prealloc = 0,
  schedule = 'constant',
}) {
  const engine = await engineFor(threads);
  const K = stepsPerCall(k, m);
  const trainer = await createOnnxTrainer(engine, regimeConfig({ regime, n, d, m, eps, seed, schedule }), {
    stepsPerCall: K,
    preallocate: prealloc === 1,
    sessionOptions: { extra: { session: { intra_op: { allow_spinning: String(spin) } } } },
  });
  await trainer.run(warmup);
  const t0 = process.hrtime.bigint();
  const loss = await trainer.run(steps);
  const dt = Number(process.hrtime.bigint() - t0) / 1e6;
  await trainer.dispose();
  return {
    impl: `narrownet-onnxruntime-${engine.version}`,
    regime,
    n,
    d,
    m,
    steps,
    threads,
    ms_per_step: Math.round((dt / steps) * 1000) / 1000,
    final_loss: loss,
    steps_per_call: K,
    spin,
    prealloc,
    ...(schedule !== 'constant' ? { schedule } : {}),
  };
}

async function main() {
  const a = parseArgs(process.argv.slice(2), DEFAULTS);
  for (const regime of a.regime)
    for (const m of a.m) console.log(JSON.stringify(await runCase({ ...a, regime, m })));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
