#!/usr/bin/env node
// narrownet (onnxruntime fused step) vs the PyTorch reference, interleaved case by case in ONE
// invocation so both see the same machine load; prints each pair, the ratio
// narrownet/PyTorch of ms_per_step, and per case the median ratio over the repeats.
//
//   node bench/compare.mjs [--regime paired,regular] [--m 40,400,1200] [--n 1000] [--d 200]
//                          [--steps 50] [--warmup 5] [--threads 2] [--k auto] [--spin 0]
//                          [--repeats 3] [--torchThreads 0] [--torch <path of torch_reference.py>]
//
// `--threads` sets both sides' threads; `--torchThreads n` (> 0) gives PyTorch its own count
// (its OpenBLAS build is fastest on 1 thread on this 2-core machine).
//
// The PyTorch side is /work/shared/bench/torch_reference.py (default path: ../shared/bench/
// relative to the repository root) run with /usr/bin/python3. Where python3-torch is missing,
// it says how to install it and prints narrownet's figures alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './common.mjs';
import { DEFAULTS, runCase } from './step.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const a = parseArgs(process.argv.slice(2), {
  ...DEFAULTS,
  repeats: 3,
  torchThreads: 0,
  torch: resolve(repo, '../shared/bench/torch_reference.py'),
  python: '/usr/bin/python3',
});

function torchAvailable() {
  if (!existsSync(a.torch)) return `the reference script ${a.torch} does not exist (pass --torch <path>)`;
  const r = spawnSync(a.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status !== 0)
    return `${a.python} cannot import torch. On Debian: apt-get install -y python3-torch libopenblas0-pthread`;
  return undefined;
}

function runTorch(regime, m) {
  const args = [a.torch, '--regime', regime, '--n', a.n, '--d', a.d, '--m', m, '--steps', a.steps];
  const threads = a.torchThreads > 0 ? a.torchThreads : a.threads;
  args.push('--warmup', a.warmup, '--threads', threads, '--eps', a.eps, '--seed', a.seed);
  const r = spawnSync(a.python, args.map(String), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_reference.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const missing = torchAvailable();
if (missing) console.log(`# PyTorch reference not run: ${missing}`);
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = [];
for (const regime of a.regime) {
  for (const m of a.m) {
    const ratios = [];
    for (let r = 0; r < a.repeats; r++) {
      const ours = await runCase({ ...a, regime, m });
      console.log(JSON.stringify(ours));
      if (missing) continue;
      const torch = runTorch(regime, m);
      console.log(JSON.stringify(torch));
      const ratio = ours.ms_per_step / torch.ms_per_step;
      ratios.push(ratio);
      console.log(
        JSON.stringify({
          pair: `${regime} m=${m} #${r + 1}`,
          ratio_narrownet_over_pytorch: +ratio.toFixed(3),
        }),
      );
    }
    if (ratios.length)
      summary.push({
        regime,
        m,
        median_ratio: +median(ratios).toFixed(3),
        ratios: ratios.map((x) => +x.toFixed(3)),
      });
  }
}
if (summary.length) {
  console.log('# median ratio narrownet/PyTorch (ms_per_step; < 1 means narrownet is faster):');
  for (const s of summary) console.log(JSON.stringify(s));
}
