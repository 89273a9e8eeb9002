#!/usr/bin/env node
// The GEMM floor of the MNIST epoch benchmark (bench/mnist_epoch.mjs, issue 12): the five matrix
// products one step of the paired 784-784-256-10 net cannot avoid (batch 64; forward X·W1ᵀ and
// H1·W2ᵀ, backward δ2ᵀ·H1, δ2·W2 and δ1ᵀ·X — the output layer's [64, 128]·[128, 10] products are
// left out, they are < 0.3 % of the work), alone in one onnxruntime session (MLAS, the kernels the
// fused trainer's step runs) at 1 and 2 threads, against the same five products in PyTorch at 1
// thread and against PyTorch's whole training step (bench/torch_mnist_epoch.py, ms per step), all
// in ONE invocation. No elementwise work, no optimizer, no copies: a lower bound on what
// narrownet's fused step can cost with these GEMM kernels, whatever is fused around them.
//
//   node bench/mnist_gemm_floor.mjs [--reps 200] [--repeats 3] [--python /usr/bin/python3]
//
// Prints one JSON line per measurement and, per repeat, floor(onnxruntime, faster setting) /
// PyTorch's whole step.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxGraph, attr } from '../packages/models/dist/index.js';
import { parseArgs, startOnnx } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const a = parseArgs(process.argv.slice(2), { reps: 200, repeats: 3, warmup: 20, python: '/usr/bin/python3' });
const [B, D, M1, M2] = [64, 784, 784, 256];
const SHAPES = { X: [B, D], W1: [M1, D], W2: [M2, M1], D2: [B, M2], D1: [B, M1] };

function gemmGraph() {
  const g = new OnnxGraph('mnist_gemm_floor');
  const v = Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, g.input(k, 'float32', s)]));
  const outs = {
    Z1: g.op('Gemm', [v.X, v.W1], { transB: attr.i(1) }), // X·W1ᵀ [64, 784]
    Z2: g.op('Gemm', [v.D1, v.W2], { transB: attr.i(1) }), // H1·W2ᵀ [64, 256]
    dW2: g.op('Gemm', [v.D2, v.D1], { transA: attr.i(1) }), // δ2ᵀ·H1 [256, 784]
    dH1: g.op('MatMul', [v.D2, v.W2]), // δ2·W2 [64, 784]
    dW1: g.op('Gemm', [v.D1, v.X], { transA: attr.i(1) }), // δ1ᵀ·X [784, 784]
  };
  for (const [name, value] of Object.entries(outs)) g.output(value, 'float32', undefined, name);
  return g.toModel();
}

async function ortFloor(threads) {
  const engine = await startOnnx({ device: 'cpu', threads });
  const session = await engine.createSession(gemmGraph());
  const feeds = {};
  let seed = 1;
  for (const [k, s] of Object.entries(SHAPES)) {
    const data = new Float32Array(s[0] * s[1]);
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      data[i] = seed / 2147483648 - 0.5;
    }
    feeds[k] = engine.tensor(data, s);
  }
  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < a.reps; i++) await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / a.reps;
  await session.release();
  return { impl: `onnxruntime-${engine.version} GEMMs only`, threads, ms_per_step: +ms.toFixed(3) };
}

const TORCH_GEMMS = `
import json, sys, time, torch
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
X, W1, W2 = torch.randn(${B}, ${D}, generator=g), torch.randn(${M1}, ${D}, generator=g), torch.randn(${M2}, ${M1}, generator=g)
D2, D1 = torch.randn(${B}, ${M2}, generator=g), torch.randn(${B}, ${M1}, generator=g)
def step():
    X @ W1.t(); D1 @ W2.t(); D2.t() @ D1; D2 @ W2; D1.t() @ X
for _ in range(${a.warmup}): step()
t0 = time.perf_counter()
for _ in range(${a.reps}): step()
print(json.dumps({"impl": "torch-" + torch.__version__ + " GEMMs only", "threads": 1, "ms_per_step": round((time.perf_counter() - t0) * 1e3 / ${a.reps}, 3)}))
`;

function python(args) {
  const r = spawnSync(a.python, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${a.python} ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

const ratios = [];
for (let rep = 0; rep < a.repeats; rep++) {
  const ort1 = await ortFloor(1);
  const ort2 = await ortFloor(2);
  const tg = python(['-c', TORCH_GEMMS]);
  const step = python([resolve(here, 'torch_mnist_epoch.py'), '--threads', '1']);
  for (const r of [ort1, ort2, tg, { ...step, what: 'PyTorch whole step (N(0,1) inputs)' }])
    console.log(JSON.stringify(r));
  const floor = Math.min(ort1.ms_per_step, ort2.ms_per_step);
  const ratio = floor / step.ms_per_step;
  ratios.push(ratio);
  console.log(
    `repeat ${rep + 1}: onnxruntime GEMM floor ${floor.toFixed(2)} ms = ${ratio.toFixed(3)}× PyTorch's whole step (${step.ms_per_step} ms); PyTorch's own GEMMs ${tg.ms_per_step} ms`,
  );
}
ratios.sort((x, y) => x - y);
console.log(`median floor / PyTorch step: ${ratios[Math.floor(ratios.length / 2)].toFixed(3)}`);
