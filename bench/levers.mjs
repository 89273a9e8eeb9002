#!/usr/bin/env node
// Effect of each performance lever of the fused ONNX step, measured interleaved (round-robin over
// the variants, `repeats` rounds) so that all variants see the same machine load; prints the
// median ms_per_step per variant and its ratio to the baseline of its group.
//
//   node bench/levers.mjs [--repeats 5] [--steps 40] [--regime paired]
//
// Groups: (1) steps fused per call K ∈ {1, 10, 50} at m = 40 and {1, 10} at m = 1200;
// (2) intra-op threads 1 vs 2 and thread spinning on/off at m = 40 and m = 1200;
// (3) preallocated ping-pong outputs on/off; the step-size schedule computed in-graph (cosine)
// vs constant; (4) the paired forward layout — one GEMM and
// u = [v; −v] (what narrownet emits) vs two weight tensors W₁, W₂ (two GEMMs) vs PyTorch-style
// slicing of σ(XWᵀ) — as forward-only graphs at n = 1000, d = 200, m = 1200.
import { OnnxGraph, attr } from '../packages/models/dist/index.js';
import { parseArgs } from './common.mjs';
import { runCase } from './step.mjs';
import { startOnnx } from './common.mjs';

const a = parseArgs(process.argv.slice(2), { repeats: 5, steps: 40, regime: 'paired', n: 1000, d: 200 });
const base = { regime: a.regime, n: a.n, d: a.d, steps: a.steps, warmup: 5, eps: 1, seed: 0 };
const groups = {
  'K at m=40 (threads 2, spin 0)': [1, 10, 50].map((k) => ({ ...base, m: 40, threads: 2, spin: 0, k })),
  'K at m=1200 (threads 2, spin 0)': [1, 10].map((k) => ({ ...base, m: 1200, threads: 2, spin: 0, k })),
  'threads/spin at m=40 (K 10)': [
    [2, 1],
    [2, 0],
    [1, 0],
  ].map(([threads, spin]) => ({ ...base, m: 40, k: 10, threads, spin })),
  'threads/spin at m=1200 (K 1)': [
    [2, 1],
    [2, 0],
    [1, 0],
  ].map(([threads, spin]) => ({ ...base, m: 1200, k: 1, threads, spin })),
  'preallocated outputs at m=1200 (K 1, threads 2, spin 0)': [0, 1].map((prealloc) => ({
    ...base,
    m: 1200,
    k: 1,
    threads: 2,
    spin: 0,
    prealloc,
  })),
  'in-graph cosine schedule at m=40 (K 10, threads 2, spin 0)': ['constant', 'cosine'].map((schedule) => ({
    ...base,
    m: 40,
    k: 10,
    threads: 2,
    spin: 0,
    schedule,
  })),
};
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const label = (c) =>
  `m=${c.m} K=${c.k} threads=${c.threads} spin=${c.spin}${c.prealloc ? ' prealloc' : ''}${c.schedule ? ` schedule=${c.schedule}` : ''}`;
for (const [name, variants] of Object.entries(groups)) {
  const times = variants.map(() => []);
  for (let r = 0; r < a.repeats; r++)
    for (const [i, v] of variants.entries()) times[i].push((await runCase(v)).ms_per_step);
  const meds = times.map(median);
  for (const [i, v] of variants.entries())
    console.log(
      JSON.stringify({
        group: name,
        variant: label(v),
        median_ms_per_step: +meds[i].toFixed(3),
        vs_first: +(meds[i] / meds[0]).toFixed(3),
        all: times[i],
      }),
    );
}

// (4) Paired forward layouts, forward + loss only (where they differ), threads 2, spin 0.
const n = a.n;
const d = a.d;
const m = 1200;
const engine = await startOnnx({ device: 'cpu', threads: 2 });
const layouts = {
  'one W [m,d], u = [v; -v] (narrownet)': (g, X) => {
    const W = g.input('W', 'float32', [m, d]);
    const v = g.input('v', 'float32', [m / 2]);
    const h = g.op('Tanh', [g.op('Gemm', [X, W], { transB: attr.i(1) })]);
    const u = g.op('Unsqueeze', [g.op('Concat', [v, g.op('Neg', [v])], { axis: attr.i(0) }), g.ints([1])]);
    return g.op('MatMul', [h, u]);
  },
  'two tensors W1, W2 [m/2,d]': (g, X) => {
    const W1 = g.input('W1', 'float32', [m / 2, d]);
    const W2 = g.input('W2', 'float32', [m / 2, d]);
    const v = g.op('Unsqueeze', [g.input('v', 'float32', [m / 2]), g.ints([1])]);
    const h1 = g.op('Tanh', [g.op('Gemm', [X, W1], { transB: attr.i(1) })]);
    const h2 = g.op('Tanh', [g.op('Gemm', [X, W2], { transB: attr.i(1) })]);
    return g.op('MatMul', [g.op('Sub', [h1, h2]), v]);
  },
  'one W, slice h (PyTorch style)': (g, X) => {
    const W = g.input('W', 'float32', [m, d]);
    const v = g.op('Unsqueeze', [g.input('v', 'float32', [m / 2]), g.ints([1])]);
    const h = g.op('Tanh', [g.op('Gemm', [X, W], { transB: attr.i(1) })]);
    const [h1, h2] = g.opN('Split', [h, g.ints([m / 2, m / 2])], 2, { axis: attr.i(1) });
    return g.op('MatMul', [g.op('Sub', [h1, h2]), v]);
  },
};
const rnd = (k, s) => Float32Array.from({ length: k }, () => (Math.random() - 0.5) * s);
const sessions = [];
for (const [name, build] of Object.entries(layouts)) {
  const g = new OnnxGraph('fwd');
  const X = g.input('X', 'float32', [n, d]);
  const Y = g.input('Y', 'float32', [n, 1]);
  const P = build(g, X);
  g.output(g.op('ReduceSumSquare', [g.op('Sub', [P, Y])], { keepdims: attr.i(0) }), 'float32', [], 'loss');
  const s = await engine.createSession(g.toModel(), {
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const feeds = { X: engine.tensor(rnd(n * d, 0.1), [n, d]), Y: engine.tensor(rnd(n, 1), [n, 1]) };
  const shapes = { W: [m, d], W1: [m / 2, d], W2: [m / 2, d], v: [m / 2] };
  for (const k of s.inputNames)
    if (!(k in feeds))
      feeds[k] = engine.tensor(
        rnd(
          shapes[k].reduce((x, y) => x * y, 1),
          0.1,
        ),
        shapes[k],
      );
  sessions.push({ name, s, feeds, times: [] });
}
for (let r = 0; r < a.repeats; r++)
  for (const v of sessions) {
    for (let i = 0; i < 3; i++) await v.s.run(v.feeds);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 20; i++) await v.s.run(v.feeds);
    v.times.push(Number(process.hrtime.bigint() - t0) / 1e6 / 20);
  }
const first = median(sessions[0].times);
for (const v of sessions)
  console.log(
    JSON.stringify({
      group: 'paired forward layout, m=1200 (threads 2, spin 0)',
      variant: v.name,
      median_ms_per_forward: +median(v.times).toFixed(3),
      vs_first: +(median(v.times) / first).toFixed(3),
    }),
  );
