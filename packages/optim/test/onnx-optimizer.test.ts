import { startOnnx } from '@narrownet/engine';
import { OnnxGraph, type ParamTree, createRng } from '@narrownet/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { type OptimizerSpec, createHostOptimizer, lowerOptimizerOnnx, onnxSlotShapes } from '../src/index.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;
type OrtTensor = ReturnType<Engine['tensor']>;

const SHAPES: Record<string, number[]> = { W: [6, 4], b: [6], v: [5] };

function randomTree(seed: number, scale = 1, shift = 0): ParamTree {
  const rng = createRng(seed);
  const out: ParamTree = {};
  for (const [k, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out[k] = { shape, data: Float32Array.from({ length: n }, () => shift + scale * rng.normal()) };
  }
  return out;
}

function int64(engine: Engine, value: number): OrtTensor {
  return new engine.ort.Tensor('int64', BigInt64Array.from([BigInt(value)]), []) as OrtTensor;
}

/** One-step graph: inputs p.*, g.*, s.*, a.*, step (+ hyper inputs); outputs P.* and S.*. */
function stepModel(spec: OptimizerSpec, batch = 0, hyper = false): Uint8Array {
  const g = new OnnxGraph('opt');
  const lead = batch > 0 ? [batch] : [];
  const io = { params: {} as Record<string, string>, grads: {} as Record<string, string> };
  const slots: Record<string, string> = {};
  const anchors: Record<string, string> = {};
  for (const [k, shape] of Object.entries(SHAPES)) {
    io.params[k] = g.input(`p.${k}`, 'float32', [...lead, ...shape]);
    io.grads[k] = g.input(`g.${k}`, 'float32', [...lead, ...shape]);
    anchors[k] = g.input(`a.${k}`, 'float32', [...lead, ...shape]);
  }
  const slotShapes = onnxSlotShapes(spec, SHAPES);
  for (const [s, shape] of Object.entries(slotShapes))
    slots[s] = g.input(`s.${s}`, 'float32', [...lead, ...shape]);
  const step = g.input('step', 'int64', []);
  const lr = hyper ? spec.groups.map((_, i) => g.input(`lr.${i}`, 'float32', [batch])) : undefined;
  const radius = hyper ? spec.groups.map((_, i) => g.input(`radius.${i}`, 'float32', [batch])) : undefined;
  const out = lowerOptimizerOnnx(g, spec, SHAPES, { ...io, slots, anchors, step }, { batch, lr, radius });
  for (const [k, shape] of Object.entries(SHAPES))
    g.output(out.params[k]!, 'float32', [...lead, ...shape], `P.${k}`);
  for (const [s, shape] of Object.entries(slotShapes))
    g.output(out.slots[s]!, 'float32', [...lead, ...shape], `S.${s}`);
  return g.toModel();
}

function expectTreeClose(got: Record<string, Float32Array>, want: ParamTree, what: string, tol = 1e-5): void {
  for (const [k, t] of Object.entries(want)) {
    const a = got[k]!;
    let scale = 1e-6;
    for (const x of t.data) scale = Math.max(scale, Math.abs(x));
    let err = 0;
    for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - t.data[i]!));
    expect(err / scale, `${what} ${k}: max error ${err} (scale ${scale})`).toBeLessThan(tol);
  }
}

const SPECS: Record<string, OptimizerSpec> = {
  'plain sgd + none, frozen v': {
    groups: [
      { params: ['W', 'b'], lr: 0.1, update: { kind: 'sgd' } },
      {
        params: ['v'],
        lr: 0,
        update: { kind: 'sgd', momentum: 0.9 },
        projection: { kind: 'box', lo: 0, hi: 0.1 },
      },
    ],
  },
  'momentum + joint ball, zetaKappa κ=1': {
    groups: [
      {
        params: ['W', 'b'],
        lr: 0.3,
        update: { kind: 'sgd', momentum: 0.9 },
        projection: { kind: 'frobeniusBall', radius: 0.5 },
      },
      {
        params: ['v'],
        lr: 0.2,
        update: { kind: 'sgd', momentum: 0.5, dampening: 0.3 },
        projection: { kind: 'zetaKappa', zeta: 0.4, kappa: 1, method: 'exact' },
      },
    ],
  },
  'nesterov + wd + cosine, general κ exact': {
    groups: [
      {
        params: ['W'],
        lr: 0.2,
        update: { kind: 'sgd', momentum: 0.8, nesterov: true, weightDecay: 0.05 },
        schedule: { kind: 'cosine', tMax: 4, etaMin: 0.01 },
      },
      {
        params: ['b', 'v'],
        lr: 0.3,
        update: { kind: 'sgd', momentum: 0.9 },
        projection: { kind: 'zetaKappa', zeta: 0.2, kappa: 2.5, method: 'exact' },
      },
    ],
  },
  'momentum + ball on b, perRow exact general κ on a matrix and a vector': {
    groups: [
      {
        params: ['b'],
        lr: 0.3,
        update: { kind: 'sgd', momentum: 0.9 },
        projection: { kind: 'frobeniusBall', radius: 0.5 },
      },
      {
        params: ['W', 'v'],
        lr: 0.2,
        update: { kind: 'sgd', momentum: 0.5, weightDecay: 0.01 },
        projection: { kind: 'zetaKappa', zeta: 0.2, kappa: 2.5, method: 'exact', perRow: true },
      },
    ],
  },
  'perRow κ = 1 exact on W, perRow paper heuristic on b and v': {
    groups: [
      {
        params: ['W'],
        lr: 0.2,
        update: { kind: 'sgd', momentum: 0.9 },
        projection: { kind: 'zetaKappa', zeta: 0.3, kappa: 1, method: 'exact', perRow: true },
      },
      {
        params: ['b', 'v'],
        lr: 0.1,
        update: { kind: 'adam' },
        projection: { kind: 'zetaKappa', zeta: 0.2, kappa: 1.5, method: 'paperHeuristic', perRow: true },
      },
    ],
  },
  'adam + multistep + paper heuristic, adamw + box': {
    groups: [
      {
        params: ['W', 'v'],
        lr: 0.05,
        update: { kind: 'adam', weightDecay: 0.01 },
        schedule: { kind: 'multistep', milestones: [2, 4, 4], gamma: 0.5 },
        projection: { kind: 'zetaKappa', zeta: 0.3, kappa: 1.5, method: 'paperHeuristic' },
      },
      {
        params: ['b'],
        lr: 0.05,
        update: { kind: 'adamw', beta1: 0.8, beta2: 0.99, weightDecay: 0.1 },
        projection: { kind: 'box', lo: -0.5, hi: 0.7 },
      },
    ],
  },
};

describe('lowerOptimizerOnnx vs createHostOptimizer', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  for (const [label, spec] of Object.entries(SPECS)) {
    it(`gives the host iterates over 8 steps: ${label}`, async () => {
      const session = await engine.createSession(stepModel(spec));
      const params = randomTree(1, 0.5, 0.3);
      const host = createHostOptimizer(spec, params);
      const anchors = randomTree(1, 0.5, 0.3);
      let cur: Record<string, Float32Array> = Object.fromEntries(
        Object.entries(params).map(([k, t]) => [k, t.data.slice()]),
      );
      const slotShapes = onnxSlotShapes(spec, SHAPES);
      let slots: Record<string, Float32Array> = Object.fromEntries(
        Object.entries(slotShapes).map(([s, sh]) => [s, new Float32Array(sh.reduce((a, b) => a * b, 1))]),
      );
      for (let t = 0; t < 8; t++) {
        const grads = randomTree(100 + t, 2);
        const feeds: Record<string, OrtTensor> = { step: int64(engine, t) };
        for (const [k, shape] of Object.entries(SHAPES)) {
          feeds[`p.${k}`] = engine.tensor(cur[k]!, shape);
          feeds[`g.${k}`] = engine.tensor(grads[k]!.data, shape);
          feeds[`a.${k}`] = engine.tensor(anchors[k]!.data, shape);
        }
        for (const [s, shape] of Object.entries(slotShapes))
          feeds[`s.${s}`] = engine.tensor(slots[s]!, shape);
        const out = await session.run(feeds);
        host.step(params, grads);
        cur = Object.fromEntries(Object.keys(SHAPES).map((k) => [k, out[`P.${k}`]!.data as Float32Array]));
        slots = Object.fromEntries(
          Object.keys(slotShapes).map((s) => [s, out[`S.${s}`]!.data as Float32Array]),
        );
        expectTreeClose(cur, params, `${label} step ${t} params`);
        expectTreeClose(slots, host.slots(), `${label} step ${t} slots`);
      }
      await session.release();
    });
  }

  it.each([
    'momentum + joint ball, zetaKappa κ=1',
    'momentum + ball on b, perRow exact general κ on a matrix and a vector',
  ])(
    'per-configuration lr and radius inputs on a batch axis match separate host optimizers: %s',
    async (label) => {
      const G = 3;
      const spec = SPECS[label]!;
      const lrs = [
        [0.3, 0.05, 0.6],
        [0.2, 0.1, 0.4],
      ];
      const radii = [
        [0.5, 0.05, 10],
        [1, 1, 1],
      ];
      const session = await engine.createSession(stepModel(spec, G, true));
      const hosts = Array.from({ length: G }, (_, c) => {
        const p = randomTree(10 + c, 0.5, 0.3);
        const s: OptimizerSpec = {
          groups: spec.groups.map((gr, i) => ({
            ...gr,
            lr: lrs[i]![c]!,
            projection:
              gr.projection?.kind === 'frobeniusBall'
                ? { kind: 'frobeniusBall', radius: radii[i]![c]! }
                : gr.projection,
          })),
        };
        return { params: p, anchors: randomTree(10 + c, 0.5, 0.3), opt: createHostOptimizer(s, p) };
      });
      const stack = (trees: ParamTree[], k: string): Float32Array => {
        const n = trees[0]![k]!.data.length;
        const out = new Float32Array(G * n);
        for (const [c, t] of trees.entries()) out.set(t[k]!.data, c * n);
        return out;
      };
      let cur: Record<string, Float32Array> = Object.fromEntries(
        Object.keys(SHAPES).map((k) => [
          k,
          stack(
            hosts.map((h) => h.params),
            k,
          ),
        ]),
      );
      const slotShapes = onnxSlotShapes(spec, SHAPES);
      let slots: Record<string, Float32Array> = Object.fromEntries(
        Object.entries(slotShapes).map(([s, sh]) => [s, new Float32Array(G * sh.reduce((a, b) => a * b, 1))]),
      );
      for (let t = 0; t < 6; t++) {
        const grads = hosts.map((_, c) => randomTree(200 + 10 * t + c, 2));
        const feeds: Record<string, OrtTensor> = { step: int64(engine, t) };
        for (const [k, shape] of Object.entries(SHAPES)) {
          feeds[`p.${k}`] = engine.tensor(cur[k]!, [G, ...shape]);
          feeds[`g.${k}`] = engine.tensor(stack(grads, k), [G, ...shape]);
          feeds[`a.${k}`] = engine.tensor(
            stack(
              hosts.map((h) => h.anchors),
              k,
            ),
            [G, ...shape],
          );
        }
        for (const [s, shape] of Object.entries(slotShapes))
          feeds[`s.${s}`] = engine.tensor(slots[s]!, [G, ...shape]);
        spec.groups.forEach((_, i) => {
          feeds[`lr.${i}`] = engine.tensor(Float32Array.from(lrs[i]!), [G]);
          feeds[`radius.${i}`] = engine.tensor(Float32Array.from(radii[i]!), [G]);
        });
        const out = await session.run(feeds);
        for (const [c, h] of hosts.entries()) h.opt.step(h.params, grads[c]!);
        cur = Object.fromEntries(Object.keys(SHAPES).map((k) => [k, out[`P.${k}`]!.data as Float32Array]));
        slots = Object.fromEntries(
          Object.keys(slotShapes).map((s) => [s, out[`S.${s}`]!.data as Float32Array]),
        );
        const want: ParamTree = {};
        for (const k of Object.keys(SHAPES))
          want[k] = {
            shape: [G, ...SHAPES[k]!],
            data: stack(
              hosts.map((h) => h.params),
              k,
            ),
          };
        expectTreeClose(cur, want, `batch step ${t}`);
      }
      await session.release();
    },
  );

  it('general-κ exact projection lands on the host projection when many entries move', async () => {
    const spec: OptimizerSpec = {
      groups: [
        { params: ['W', 'b'], lr: 0, update: { kind: 'sgd' } },
        {
          params: ['v'],
          lr: 1e-3,
          update: { kind: 'sgd' },
          projection: { kind: 'zetaKappa', zeta: 0.1, kappa: 1.7, method: 'exact' },
        },
      ],
    };
    const session = await engine.createSession(stepModel(spec));
    for (let trial = 0; trial < 20; trial++) {
      const params = randomTree(300 + trial, 1 + trial / 4, trial % 3 === 0 ? -0.5 : 0.5);
      const host = createHostOptimizer(spec, params);
      const zeros = randomTree(0, 0);
      const feeds: Record<string, OrtTensor> = { step: int64(engine, 0) };
      for (const [k, shape] of Object.entries(SHAPES)) {
        feeds[`p.${k}`] = engine.tensor(params[k]!.data.slice(), shape);
        feeds[`g.${k}`] = engine.tensor(zeros[k]!.data, shape);
        feeds[`a.${k}`] = engine.tensor(zeros[k]!.data, shape);
      }
      const out = await session.run(feeds);
      host.step(params, zeros);
      const v = params.v!.data;
      // Feasible: v ≥ ζ and max ≤ κ·min (float32 slack).
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0.1 - 1e-6);
      expectTreeClose({ v: out['P.v']!.data as Float32Array }, { v: params.v! }, `trial ${trial}`, 1e-5);
    }
    await session.release();
  });

  it('names the missing value in errors', () => {
    const g = new OnnxGraph('e');
    const spec: OptimizerSpec = {
      groups: [{ params: ['W', 'b', 'v'], lr: 0.1, update: { kind: 'sgd', momentum: 0.9 } }],
    };
    expect(() =>
      lowerOptimizerOnnx(g, spec, SHAPES, {
        params: { W: 'W', b: 'b', v: 'v' },
        grads: {},
        slots: {},
        anchors: {},
        step: 's',
      }),
    ).toThrow(/momentum\.W/);
    expect(() =>
      onnxSlotShapes({ groups: [{ params: ['x'], lr: 1, update: { kind: 'sgd' } }] }, SHAPES),
    ).toThrow(/"x"/);
  });
});
