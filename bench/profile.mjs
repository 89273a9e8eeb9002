#!/usr/bin/env node
// Per-node time profile of narrownet's fused step (onnxruntime's enableProfiling): where the
// time of one step goes, summed by operator type and listed for the slowest nodes.
//
//   node bench/profile.mjs [--regime paired] [--m 1200] [--n 1000] [--d 200] [--steps 30]
//                          [--threads 2] [--k 1] [--spin 1] [--top 12]
import {
  createOnnxTrainer,
  parseArgs,
  printProfile,
  readProfiles,
  regimeConfig,
  startOnnx,
} from './common.mjs';

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
const { byOp, byNode, runs, runTime, total } = readProfiles(prefix);
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
printProfile({ byOp, byNode, total }, a.top);
