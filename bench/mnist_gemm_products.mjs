#!/usr/bin/env node
// The matrix products of one MNIST step (bench/mnist_gemm_floor.mjs) one at a time: each in its
// own onnxruntime session (MLAS) at --threads, in the layouts the fused step uses (Gemm with
// transB for the forward, transA for the weight gradients) and the alternatives, and the same
// products in PyTorch at 1 thread (OpenBLAS), in one invocation. Prints ms and GFLOP/s per product.
//
//   node bench/mnist_gemm_products.mjs [--threads 1] [--reps 200] [--python /usr/bin/python3]
import { spawnSync } from 'node:child_process';
import { OnnxGraph, attr } from '../packages/models/dist/index.js';
import { parseArgs, startOnnx } from './common.mjs';

const a = parseArgs(process.argv.slice(2), { threads: 1, reps: 200, python: '/usr/bin/python3' });
const engine = await startOnnx({ device: 'cpu', threads: a.threads });
// [A shape, B shape, attributes, op, (m, k, n)]
const cases = {
  'X·W1ᵀ (Gemm transB)': [[64, 784], [784, 784], { transB: attr.i(1) }, 'Gemm', [64, 784, 784]],
  'X·W1 (MatMul, W1 stored [in, out])': [[64, 784], [784, 784], {}, 'MatMul', [64, 784, 784]],
  'δ1ᵀ·X (Gemm transA)': [[64, 784], [64, 784], { transA: attr.i(1) }, 'Gemm', [784, 64, 784]],
  'δ1ᵀ·X (Transpose + MatMul)': [[64, 784], [64, 784], {}, 'TMatMul', [784, 64, 784]],
  'H1·W2ᵀ (Gemm transB)': [[64, 784], [256, 784], { transB: attr.i(1) }, 'Gemm', [64, 784, 256]],
  'δ2·W2 (MatMul)': [[64, 256], [256, 784], {}, 'MatMul', [64, 256, 784]],
  'δ2ᵀ·H1 (Gemm transA)': [[64, 256], [64, 784], { transA: attr.i(1) }, 'Gemm', [256, 64, 784]],
};
const fill = (n, f) => Float32Array.from({ length: n }, (_, i) => f(i));
for (const [name, [sa, sb, at, op, [m, k, n]]] of Object.entries(cases)) {
  const g = new OnnxGraph('product');
  const A = g.input('A', 'float32', sa);
  const B = g.input('B', 'float32', sb);
  const out =
    op === 'TMatMul'
      ? g.op('MatMul', [g.op('Transpose', [A], { perm: attr.ints([1, 0]) }), B])
      : g.op(op, [A, B], at);
  g.output(out, 'float32', undefined, 'Y');
  const s = await engine.createSession(g.toModel());
  const feeds = {
    A: engine.tensor(fill(sa[0] * sa[1], Math.sin), sa),
    B: engine.tensor(fill(sb[0] * sb[1], Math.cos), sb),
  };
  for (let i = 0; i < 20; i++) await s.run(feeds);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < a.reps; i++) await s.run(feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / a.reps;
  await s.release();
  console.log(
    JSON.stringify({
      impl: `onnxruntime-${engine.version}`,
      threads: a.threads,
      product: name,
      ms: +ms.toFixed(3),
      gflops: +((2 * m * k * n) / ms / 1e6).toFixed(1),
    }),
  );
}
const torch = `
import json, time, torch
torch.set_num_threads(1)
X, W1, D1, H1 = torch.randn(64, 784), torch.randn(784, 784), torch.randn(64, 784), torch.randn(64, 784)
W2, D2 = torch.randn(256, 784), torch.randn(64, 256)
cases = {"X·W1ᵀ": (lambda: X @ W1.t(), 64*784*784), "δ1ᵀ·X": (lambda: D1.t() @ X, 784*64*784),
         "H1·W2ᵀ": (lambda: H1 @ W2.t(), 64*784*256), "δ2·W2": (lambda: D2 @ W2, 64*256*784),
         "δ2ᵀ·H1": (lambda: D2.t() @ H1, 256*64*784)}
for name, (f, mkn) in cases.items():
    for _ in range(20): f()
    t = time.perf_counter()
    for _ in range(${a.reps}): f()
    ms = (time.perf_counter() - t) * 1e3 / ${a.reps}
    print(json.dumps({"impl": "torch-" + torch.__version__, "threads": 1, "product": name, "ms": round(ms, 3), "gflops": round(2 * mkn / ms / 1e6, 1)}))
`;
const r = spawnSync(a.python, ['-c', torch], { encoding: 'utf8' });
process.stdout.write(
  r.status === 0 ? r.stdout : `# PyTorch side not run: ${r.stderr.split('\n').at(-2) ?? ''}\n`,
);
