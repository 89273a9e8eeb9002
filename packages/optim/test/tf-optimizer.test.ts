import { type ModelSpec, type ParamTree, cloneParams, createRng, lossAndGrad64 } from '@narrownet/models';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type OptimizerSpec,
  type ProjectionSpec,
  createHostOptimizer,
  createTfOptimizer,
  kktResidual,
  projectOnto,
} from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

// A small paired tanh net (Zhang eq. 6) at a mirrored start with v ≥ ζ; each optimizer gets the
// float64 reference gradient at its OWN iterate, so any drift between the lowerings compounds.
// Step sizes are small enough for the dynamics to be stable (with lr 0.05 the momentum iteration
// on this problem becomes unstable near step 80 and ANY 1-ulp difference is amplified ~1.6×/step).
const spec: ModelSpec = { kind: 'paired', inputDim: 3, width: 8, activation: 'tanh' };
const n = 10;
const rng = createRng(99);
const X = rng.fork('X').fillNormal(new Float64Array(n * 3));
const Y = rng.fork('Y').fillNormal(new Float64Array(n));
function start(): ParamTree {
  const W = rng.fork('W').fillNormal(new Float32Array(24), 0, 1 / Math.sqrt(3));
  W.copyWithin(12, 0, 12);
  const v = Float32Array.from(rng.fork('v').fillNormal(new Float32Array(4), 0, 0.5), Math.abs);
  return { W: { shape: [8, 3], data: W }, v: { shape: [4], data: v } };
}
function grads(p: ParamTree): ParamTree {
  const { grads: g } = lossAndGrad64(spec, { W: p.W!.data, v: p.v!.data }, X, Y, n);
  return {
    W: { shape: [8, 3], data: Float32Array.from(g.W!) },
    v: { shape: [4], data: Float32Array.from(g.v!) },
  };
}

const cases: Record<string, OptimizerSpec> = {
  'sgd momentum + ball on W + exact zetaKappa on v (Alg. 2)': {
    groups: [
      {
        params: ['W'],
        lr: 0.01,
        update: { kind: 'sgd', momentum: 0.9 },
        projection: { kind: 'frobeniusBall', radius: 0.2 },
      },
      {
        params: ['v'],
        lr: 0.01,
        update: { kind: 'sgd', momentum: 0.9 },
        projection: { kind: 'zetaKappa', zeta: 0.3, kappa: 1.5, method: 'exact' },
      },
    ],
  },
  'nesterov + wd, paperHeuristic, multistep': {
    groups: [
      {
        params: ['W'],
        lr: 0.05,
        update: { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
        projection: { kind: 'frobeniusBall', radius: 0.1 },
        schedule: { kind: 'multistep', milestones: [30, 60], gamma: 0.5 },
      },
      {
        params: ['v'],
        lr: 0.02,
        update: { kind: 'sgd', momentum: 0.5, dampening: 0.1 },
        projection: { kind: 'zetaKappa', zeta: 0.2, kappa: 1, method: 'paperHeuristic' },
      },
    ],
  },
  'adam + box, adamw + cosine + exact zetaKappa (joint group)': {
    groups: [
      {
        params: ['W'],
        lr: 0.01,
        update: { kind: 'adam', weightDecay: 1e-3 },
        projection: { kind: 'box', lo: -0.5, hi: 0.5 },
      },
      {
        params: ['v'],
        lr: 0.01,
        update: { kind: 'adamw' },
        schedule: { kind: 'cosine', tMax: 100, etaMin: 1e-3 },
        projection: { kind: 'zetaKappa', zeta: 0.4, kappa: 2, method: 'exact' },
      },
    ],
  },
};

describe('tfjs lowering of perRow B_{ζ,κ} equals the host one', () => {
  it.each([
    ['exact', 1],
    ['exact', 1.7],
    ['paperHeuristic', 1.5],
  ] as const)('%s κ = %s on a [4, 5] matrix and a [3] vector', (method, kappa) => {
    const spec: ProjectionSpec = { kind: 'zetaKappa', zeta: 0.2, kappa, method, perRow: true };
    const r = createRng(5);
    const a = Float32Array.from(r.fillNormal(new Float32Array(20), 0.3, 0.5));
    const b = Float32Array.from(r.fillNormal(new Float32Array(3), 0.3, 0.5));
    const host = [a.slice(), b.slice()];
    projectOnto(spec, host, undefined, [[4, 5], [3]]);
    const vars = { A: tf.variable(tf.tensor(a, [4, 5])), B: tf.variable(tf.tensor(b, [3])) };
    const opt = createTfOptimizer(
      { groups: [{ params: ['A', 'B'], lr: 1e-30, update: { kind: 'sgd' }, projection: spec }] },
      vars,
    );
    opt.step({ A: tf.zeros([4, 5]), B: tf.zeros([3]) });
    const got = [vars.A.dataSync(), vars.B.dataSync()];
    for (const k of [0, 1])
      for (let i = 0; i < host[k]!.length; i++) expect(got[k]![i]).toBeCloseTo(host[k]![i]!, 6);
    expect(Array.from(host[0]!)).not.toEqual(Array.from(a)); // the projection moved something
    opt.dispose();
    tf.dispose(Object.values(vars));
  });
});

describe('tfjs lowering gives the host iterates to float32 tolerance (100 steps)', () => {
  for (const [name, ospec] of Object.entries(cases)) {
    it(name, () => {
      const host = start();
      const vars: Record<string, tf.Variable> = {};
      for (const [k, t] of Object.entries(cloneParams(host)))
        vars[k] = tf.variable(tf.tensor(t.data, [...t.shape]));
      const ho = createHostOptimizer(ospec, host);
      const to = createTfOptimizer(ospec, vars);
      let worst = 0;
      let moved = 0;
      for (let t = 0; t < 100; t++) {
        ho.step(host, grads(host));
        const cur: ParamTree = {};
        for (const k of ['W', 'v'])
          cur[k] = { shape: [...vars[k]!.shape], data: vars[k]!.dataSync() as Float32Array };
        const g = grads(cur);
        const gt = { W: tf.tensor(g.W!.data, [8, 3]), v: tf.tensor(g.v!.data, [4]) };
        to.step(gt);
        tf.dispose(Object.values(gt));
        for (const k of ['W', 'v']) {
          const a = host[k]!.data;
          const b = vars[k]!.dataSync();
          for (let i = 0; i < a.length; i++)
            worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
        }
      }
      const h0 = start();
      for (let i = 0; i < 4; i++) moved = Math.max(moved, Math.abs(host.v!.data[i]! - h0.v!.data[i]!));
      expect(moved).toBeGreaterThan(1e-3); // the run did something
      expect(worst).toBeLessThan(5e-6); // measured ≤ 8e-7 (a few float32 ulps)
      // Projections were doing work: some constraint is active at the final iterate.
      expect(kktResidual(ospec, host, grads(host), start()).groups.some((g) => g.active)).toBe(true);
      expect(to.stepCount).toBe(100);
      const hs = ho.slots();
      const ts = to.slots();
      expect(Object.keys(ts).sort()).toEqual(Object.keys(hs).sort());
      for (const k of Object.keys(hs)) {
        for (const [i, x] of hs[k]!.data.entries()) {
          expect(Math.abs(x - ts[k]!.data[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(x)));
        }
      }
      to.dispose();
      tf.dispose(Object.values(vars));
    });
  }

  it('tf exact zetaKappa projection equals the host one (κ with inexact v/κ·κ)', () => {
    const r = createRng(5);
    let worst = 0;
    for (let k = 0; k < 400; k++) {
      const p: ProjectionSpec = {
        kind: 'zetaKappa',
        zeta: 0.3,
        kappa: [1, 1.5, 1.7, 3, 1.1][k % 5]!,
        method: 'exact',
      };
      const v = r.fillNormal(new Float32Array(1 + (k % 7)), 0.3, 0.5);
      const h = v.slice();
      projectOnto(p, [h]);
      const vars = { v: tf.variable(tf.tensor(v)) };
      // lr tiny: the step leaves v unchanged in float32, so only the projection acts.
      const o = createTfOptimizer(
        { groups: [{ params: ['v'], lr: 1e-30, update: { kind: 'sgd' }, projection: p }] },
        vars,
      );
      const g = tf.zeros([v.length]);
      o.step({ v: g });
      const t = vars.v.dataSync();
      for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(h[i]! - t[i]!));
      tf.dispose([g, vars.v]);
      o.dispose();
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('rejects non-finite gradients naming the parameter', () => {
    const vars = { W: tf.variable(tf.zeros([2])), v: tf.variable(tf.zeros([1])) };
    const o = createTfOptimizer({ groups: [{ params: ['W', 'v'], lr: 1, update: { kind: 'sgd' } }] }, vars);
    expect(() => o.step({ W: tf.tensor([1, Number.POSITIVE_INFINITY]), v: tf.tensor([0]) })).toThrow(
      /gradient of "W"/,
    );
    expect(() => o.step({ W: tf.tensor([1, 2, 3]), v: tf.tensor([0]) })).toThrow(/"W" has shape \[3\]/);
  });
});
