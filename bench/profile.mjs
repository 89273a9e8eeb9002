#!/usr/bin/env node
// Per-node time profile of narrownet's fused step (onnxruntime's enableProfiling): where the
// time of one step goes, summed by operator type and listed for the slowest nodes.
//
//   node bench/profile.mjs [--regime paired] [--m 1200] [--n 1000] [--d 200] [--steps 30]
//                          [--threads 2] [--k 1] [--spin 1] [--top 12]
import { readFileSync, rmSync } from 'node:fs';
import { createOnnxTrainer, parseArgs, regimeConfig, startOnnx } from './common.mjs';

const a = parseArgs(process.argv.slice(2), {
  regime: 'paired',
  m: 1200,
  n: 1000,
  d: 200,
  steps: 30,
  threads: 2,
  k: 1,
  spin: 1,
  top: 12,
});
const engine = await startOnnx({ device: 'cpu', threads: a.threads });
const prefix = `/tmp/narrownet-profile-${process.pid}`;
const trainer = await createOnnxTrainer(engine, regimeConfig(a), {
  stepsPerCall: a.k,
  sessionOptions: {
    enableProfiling: true,
    profileFilePrefix: prefix,
    extra: { session: { intra_op: { allow_spinning: String(a.spin) } } },
  },
});
await trainer.run(5);
const t0 = process.hrtime.bigint();
await trainer.run(a.steps);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
await trainer.dispose(); // releasing a session writes its profile file
const { readdirSync } = await import('node:fs');
const files = readdirSync('/tmp').filter((f) => f.startsWith(`narrownet-profile-${process.pid}`));
const byOp = new Map();
const byNode = new Map();
let runs = 0;
let runTime = 0;
for (const f of files) {
  const events = JSON.parse(readFileSync(`/tmp/${f}`, 'utf8'));
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
  rmSync(`/tmp/${f}`);
}
const total = [...byOp.values()].reduce((s, x) => s + x, 0);
console.log(
  JSON.stringify({
    regime: a.regime,
    m: a.m,
    threads: a.threads,
    k: a.k,
    steps_timed: a.steps,
    wall_ms_per_step: +(wall / a.steps).toFixed(3),
    session_runs: runs,
    model_run_ms_total: +(runTime / 1e3).toFixed(1),
    kernel_ms_total: +(total / 1e3).toFixed(1),
  }),
);
console.log('by operator type (ms over all profiled runs, share of kernel time):');
for (const [op, t] of [...byOp.entries()].sort((x, y) => y[1] - x[1]))
  console.log(`  ${op.padEnd(22)} ${(t / 1e3).toFixed(1).padStart(9)}  ${((100 * t) / total).toFixed(1)}%`);
console.log(`slowest ${a.top} nodes:`);
for (const [node, t] of [...byNode.entries()].sort((x, y) => y[1] - x[1]).slice(0, a.top))
  console.log(`  ${node.padEnd(50)} ${(t / 1e3).toFixed(1).padStart(9)}`);
