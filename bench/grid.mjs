#!/usr/bin/env node
// Grid throughput: a grid of paired-regime (Alg. 2) configurations — widths × ball radii × step
// sizes, full batch on Zhang's synthetic data (n = 1000, d = 200), `steps` steps each — timed end
// to end (session creation included) with createOnnxGridTrainer (one fused graph per width, all
// radii and step sizes of that width stepping together through stacked GEMMs), then the same
// configurations with PyTorch one after another in one process (bench/torch_grid.py), in ONE
// invocation. Prints one JSON line per side and the throughput ratio.
//
//   node bench/grid.mjs [--widths 40,400,800,1200] [--radii 0.5,1] [--lrs 1e-3,5e-4]
//                       [--steps 500] [--threads 2] [--k 10] [--spin 0] [--torch 1|0]
//                       [--torchThreads 0 (= --threads)] [--chunk 0 (default chunking)]
//
// `--chunk` sets createOnnxGridTrainer's chunkElements (1e9 stacks every configuration of a
// width into one GEMM, the layout measured slower than cache-sized chunks).
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOnnxGridTrainer, parseArgs, regimeConfig, startOnnx } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const a = parseArgs(process.argv.slice(2), {
  widths: [40, 400, 800, 1200],
  radii: [0.5, 1],
  lrs: [1e-3, 5e-4],
  n: 1000,
  d: 200,
  steps: 500,
  threads: 2,
  k: 10,
  spin: 0,
  seed: 0,
  torch: 1,
  torchThreads: 0,
  chunk: 0,
  python: '/usr/bin/python3',
});

const engine = await startOnnx({ device: 'cpu', threads: a.threads });
const t0 = process.hrtime.bigint();
const losses = [];
for (const m of a.widths) {
  const configs = [];
  for (const eps of a.radii)
    for (const lr of a.lrs)
      configs.push(
        regimeConfig({ regime: 'paired', n: a.n, d: a.d, m, eps, lr1: lr, lr2: lr, seed: a.seed }),
      );
  const grid = await createOnnxGridTrainer(engine, configs, {
    stepsPerCall: a.k,
    ...(a.chunk > 0 ? { chunkElements: a.chunk } : {}),
    sessionOptions: { extra: { session: { intra_op: { allow_spinning: String(a.spin) } } } },
  });
  losses.push(...(await grid.run(a.steps)));
  await grid.dispose();
}
const total = Number(process.hrtime.bigint() - t0) / 1e9;
const configs = losses.length;
const ours = {
  impl: `narrownet-onnxruntime-${engine.version}`,
  bench: 'grid',
  n: a.n,
  d: a.d,
  widths: a.widths,
  radii: a.radii,
  lrs: a.lrs,
  configs,
  steps: a.steps,
  threads: a.threads,
  steps_per_call: a.k,
  chunk_elements: a.chunk > 0 ? a.chunk : 'default',
  total_s: +total.toFixed(3),
  config_steps_per_s: +((configs * a.steps) / total).toFixed(1),
  final_losses: losses,
};
console.log(JSON.stringify(ours));
if (a.torch) {
  const args = [resolve(here, 'torch_grid.py'), '--widths', a.widths.join(','), '--radii', a.radii.join(',')];
  const torchThreads = a.torchThreads > 0 ? a.torchThreads : a.threads;
  args.push('--lrs', a.lrs.join(','), '--n', a.n, '--d', a.d, '--steps', a.steps, '--threads', torchThreads);
  args.push('--seed', a.seed);
  const r = spawnSync(a.python, args.map(String), { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(
      `# PyTorch grid not run (${a.python} failed: ${r.stderr.trim().split('\n').pop()}). On Debian: apt-get install -y python3-torch libopenblas0-pthread`,
    );
  } else {
    const torch = JSON.parse(r.stdout.trim().split('\n').pop());
    console.log(JSON.stringify(torch));
    console.log(
      JSON.stringify({
        throughput_ratio_narrownet_over_pytorch: +(
          ours.config_steps_per_s / torch.config_steps_per_s
        ).toFixed(2),
      }),
    );
  }
}
