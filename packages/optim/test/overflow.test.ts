import { startOnnx } from '@narrownet/engine';
import { OnnxGraph, type ParamTree } from '@narrownet/models';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type OptimizerSpec,
  type ProjectionSpec,
  createHostOptimizer,
  createTfOptimizer,
  lowerOptimizerOnnx,
  onnxSlotShapes,
  projectOnto,
} from '../src/index.js';

// A blown-up iterate must never be projected back into its set: with the norm ‖W − W0‖ computed
// in float32 it overflowed to ∞, the factor r/∞ was 0 and W was reset to W0 (issue #17).

type Engine = Awaited<ReturnType<typeof startOnnx>>;
let engine: Engine;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  engine = await startOnnx({ device: 'cpu' });
});

const SHAPES: Record<string, number[]> = { W: [3, 4], v: [5] };

function tree(W: number[], v: number[]): ParamTree {
  return { W: { shape: [3, 4], data: Float32Array.from(W) }, v: { shape: [5], data: Float32Array.from(v) } };
}

function spec(projection: ProjectionSpec): OptimizerSpec {
  return {
    groups: [
      { params: ['W'], lr: 1, update: { kind: 'sgd' }, projection },
      { params: ['v'], lr: 1, update: { kind: 'sgd' } },
    ],
  };
}

/** One optimizer step on each lowering: host (float32 storage), tfjs, ONNX, ONNX with a batch axis of 2. */
async function stepAll(
  s: OptimizerSpec,
  p0: ParamTree,
  grads: ParamTree,
  anchors: ParamTree,
): Promise<Record<string, Record<string, Float32Array>>> {
  const out: Record<string, Record<string, Float32Array>> = {};
  const host: ParamTree = {
    W: { shape: [3, 4], data: p0.W!.data.slice() },
    v: { shape: [5], data: p0.v!.data.slice() },
  };
  // (the host optimizer refuses non-finite gradients; every case here feeds finite ones)
  createHostOptimizer(s, host, anchors).step(host, grads);
  out.host = { W: host.W!.data, v: host.v!.data };
  const vars = { W: tf.variable(tf.tensor(p0.W!.data, [3, 4])), v: tf.variable(tf.tensor(p0.v!.data, [5])) };
  const opt = createTfOptimizer(s, vars, anchors);
  opt.step({ W: tf.tensor(grads.W!.data, [3, 4]), v: tf.tensor(grads.v!.data, [5]) });
  out.tfjs = { W: Float32Array.from(vars.W.dataSync()), v: Float32Array.from(vars.v.dataSync()) };
  opt.dispose();
  tf.dispose([vars.W, vars.v]);
  for (const batch of [0, 2]) {
    const g = new OnnxGraph('opt');
    const lead = batch ? [batch] : [];
    const io = { params: {} as Record<string, string>, grads: {} as Record<string, string> };
    const anchorIn: Record<string, string> = {};
    for (const [k, shape] of Object.entries(SHAPES)) {
      io.params[k] = g.input(`p.${k}`, 'float32', [...lead, ...shape]);
      io.grads[k] = g.input(`g.${k}`, 'float32', [...lead, ...shape]);
      anchorIn[k] = g.input(`a.${k}`, 'float32', [...lead, ...shape]);
    }
    expect(Object.keys(onnxSlotShapes(s, SHAPES))).toEqual([]);
    const stepIn = g.input('step', 'int64', []);
    // with a configuration axis the grid feeds lr (and ball radii) per configuration
    const lr = batch ? s.groups.map((_, i) => g.input(`lr.${i}`, 'float32', [batch])) : undefined;
    const radius = batch ? s.groups.map((_, i) => g.input(`radius.${i}`, 'float32', [batch])) : undefined;
    const o = lowerOptimizerOnnx(
      g,
      s,
      SHAPES,
      { ...io, slots: {}, anchors: anchorIn, step: stepIn },
      { batch, lr, radius },
    );
    for (const [k, shape] of Object.entries(SHAPES))
      g.output(o.params[k]!, 'float32', [...lead, ...shape], `P.${k}`);
    const session = await engine.createSession(g.toModel());
    const rep = (x: Float32Array): Float32Array => {
      if (!batch) return x;
      const r = new Float32Array(x.length * batch);
      for (let c = 0; c < batch; c++) r.set(x, c * x.length);
      return r;
    };
    const feeds: Record<string, unknown> = {
      step: new engine.ort.Tensor('int64', BigInt64Array.from([0n]), []),
    };
    if (batch)
      s.groups.forEach((gr, i) => {
        feeds[`lr.${i}`] = new engine.ort.Tensor('float32', new Float32Array(batch).fill(gr.lr), [batch]);
        const r = gr.projection?.kind === 'frobeniusBall' ? gr.projection.radius : 1;
        feeds[`radius.${i}`] = new engine.ort.Tensor('float32', new Float32Array(batch).fill(r), [batch]);
      });
    for (const [k, shape] of Object.entries(SHAPES)) {
      feeds[`p.${k}`] = new engine.ort.Tensor('float32', rep(p0[k]!.data as Float32Array), [
        ...lead,
        ...shape,
      ]);
      feeds[`g.${k}`] = new engine.ort.Tensor('float32', rep(grads[k]!.data as Float32Array), [
        ...lead,
        ...shape,
      ]);
      feeds[`a.${k}`] = new engine.ort.Tensor('float32', rep(anchors[k]!.data as Float32Array), [
        ...lead,
        ...shape,
      ]);
    }
    const res = await session.run(feeds as never);
    await session.release();
    for (let c = 0; c < Math.max(1, batch); c++) {
      const part = (k: string): Float32Array => {
        const all = res[`P.${k}`]!.data as Float32Array;
        const size = all.length / Math.max(1, batch);
        return all.slice(c * size, (c + 1) * size);
      };
      out[batch ? `onnx batch[${c}]` : 'onnx'] = { W: part('W'), v: part('v') };
    }
  }
  return out;
}

const W0 = [0.1, -0.2, 0.3, 0.05, -0.4, 0.2, 0.1, 0.0, 0.25, -0.15, 0.3, -0.05];
const v0 = [0.5, 0.6, 0.7, 0.8, 0.9];

describe('the Frobenius-ball projection does not overflow', () => {
  it('a step to ‖W − W0‖ ≈ 1e31 lands on the sphere of radius r in the direction moved, on every lowering', async () => {
    // gradient −1e30·u: W − W0 = 1e30·u, ‖·‖² = 1e60·‖u‖² overflows float32 (max 3.4e38)
    const u = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const grads = tree(
      u.map((x) => -1e30 * x),
      [0, 0, 0, 0, 0],
    );
    const p0 = tree(W0, v0);
    const radius = 2;
    const un = Math.hypot(...u);
    const res = await stepAll(spec({ kind: 'frobeniusBall', radius }), p0, grads, p0);
    expect(Object.keys(res)).toHaveLength(5);
    for (const [engineName, r] of Object.entries(res)) {
      for (let i = 0; i < 12; i++) {
        // float64 truth: W0 + r·u/‖u‖ (the 1e30 shift dominates W0 entirely)
        const want = W0[i]! + (radius * u[i]!) / un;
        expect(Math.abs(r.W![i]! - want), `${engineName} W[${i}] = ${r.W![i]}, want ${want}`).toBeLessThan(
          1e-5,
        );
      }
    }
  });

  it('projectOnto (float64 storage) handles ‖x − x0‖ beyond the float64 range of its square', () => {
    const x = Float64Array.from([3e200, 4e200]);
    projectOnto({ kind: 'frobeniusBall', radius: 10 }, [x]);
    expect(x[0]).toBeCloseTo(6, 12);
    expect(x[1]).toBeCloseTo(8, 12);
  });
});

describe('a non-finite iterate stays non-finite through every projection and lowering', () => {
  const projections: ProjectionSpec[] = [
    { kind: 'frobeniusBall', radius: 1 },
    { kind: 'box', lo: -1, hi: 1 },
    { kind: 'zetaKappa', zeta: 0.01, kappa: 1, method: 'exact' },
    { kind: 'zetaKappa', zeta: 0.01, kappa: 2, method: 'exact' },
    { kind: 'zetaKappa', zeta: 0.01, kappa: 2, method: 'paperHeuristic' },
  ];
  for (const bad of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
    for (const p of projections) {
      it(`${JSON.stringify(p)} with a ${bad} entry: the whole group is NaN, the other group untouched`, async () => {
        const W = W0.map((x) => Math.abs(x) + 0.1);
        W[5] = bad;
        const p0 = tree(W, v0);
        const anchors = tree(
          W0.map((x) => Math.abs(x) + 0.1),
          v0,
        );
        const zero = tree(new Array(12).fill(0), [0.1, 0.1, 0.1, 0.1, 0.1]);
        const res = await stepAll(spec(p), p0, zero, anchors);
        for (const [engineName, r] of Object.entries(res)) {
          expect(Array.from(r.W!).every(Number.isNaN), `${engineName}: W = ${Array.from(r.W!)}`).toBe(true);
          for (let i = 0; i < 5; i++) expect(r.v![i]).toBeCloseTo(v0[i]! - 0.1, 6);
        }
        // the host projection directly, on float64 arrays
        const x = Float64Array.from(W);
        projectOnto(p, [x], [Float64Array.from(anchors.W!.data)]);
        expect(Array.from(x).every(Number.isNaN)).toBe(true);
      });
    }
  }
});
