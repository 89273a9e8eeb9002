import { readFileSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import {
  type ModelSpec,
  type ParamTree,
  buildLossGradModel,
  createRng,
  forwardTf,
  lossAndGrad64,
  paramShapes,
  toTfParams,
} from '@narrownet/models';
import { type ProjectionSpec, projectOnto } from '@narrownet/optim';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type RegimeSpec,
  type TrainerConfig,
  createOnnxTrainer,
  createTfjsTrainer,
  zhang2021Deep,
} from '../src/index.js';
import { tf } from './helpers.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;

/** Written by scripts/paired_mlp_torch.py (PyTorch 1.13, float64 autograd and torch.optim.SGD). */
interface TorchCase {
  name: string;
  layers: number[];
  activation: 'relu' | 'tanh';
  bias: boolean;
  n: number;
  eps: number;
  zeta: number;
  kappa: number;
  method: 'exact' | 'paperHeuristic';
  lr: number;
  momentum: number;
  weightDecay: number;
  X: number[];
  Y: number[];
  params: Record<string, number[]>;
  iterates: {
    pred: number[];
    loss: number;
    grads: Record<string, number[]>;
    after?: Record<string, number[]>;
  }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/paired-mlp-torch.json', import.meta.url), 'utf8'),
) as { cases: TorchCase[] };

function specOf(c: TorchCase): ModelSpec {
  return { kind: 'pairedMlp', layers: c.layers, activation: c.activation, ...(c.bias ? { bias: true } : {}) };
}

/** The Alg. 2 regime of the case, from the preset (so the preset's groups are what is tested). */
function regimeOf(c: TorchCase): RegimeSpec {
  return zhang2021Deep({
    layers: c.layers,
    activation: c.activation,
    bias: c.bias,
    radius: c.eps,
    lr: c.lr,
    momentum: c.momentum,
    weightDecay: c.weightDecay,
    vConstraint: c.method,
    zeta: c.zeta,
    kappa: c.kappa,
  });
}

function tree(spec: ModelSpec, values: Record<string, ArrayLike<number>>): ParamTree {
  const out: ParamTree = {};
  for (const [k, shape] of Object.entries(paramShapes(spec)))
    out[k] = { shape, data: Float32Array.from(values[k]!) };
  return out;
}

/** max |a − b| / max(1, max |b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

describe('pairedMlp vs PyTorch float64 (scripts/paired_mlp_torch.py)', () => {
  for (const c of fixture.cases) {
    const spec = specOf(c);
    const names = Object.keys(paramShapes(spec));

    it(`${c.name}: forward, loss and every gradient at every iterate (float64, 1e-10)`, () => {
      expect(Object.keys(c.params)).toEqual(names);
      c.iterates.forEach((it, t) => {
        const at = t === 0 ? c.params : c.iterates[t - 1]!.after!;
        const r = lossAndGrad64(spec, at, c.X, c.Y, c.n, 'softmaxCrossEntropy');
        expect(relErr(r.pred, it.pred), `pred t=${t}`).toBeLessThan(1e-10);
        expect(Math.abs(r.loss - it.loss), `loss t=${t}`).toBeLessThan(1e-10);
        for (const k of names)
          expect(relErr(r.grads[k]!, it.grads[k]!), `grad ${k} t=${t}`).toBeLessThan(1e-10);
      });
      // The mirrored start outputs exactly 0 (loss log k) and its V and W1 gradients vanish.
      expect(c.iterates[0]!.pred.every((x) => x === 0)).toBe(true);
      expect(c.iterates[0]!.loss).toBeCloseTo(Math.log(c.layers[3]!), 14);
    });

    it(`${c.name}: 3 SGD-momentum + weight-decay steps with the projections (float64, 1e-10)`, () => {
      // The update is PyTorch SGD transcribed in float64 here; the projections are the library's
      // (projectOnto in float64), with the groups of the zhang2021Deep preset.
      const groups = regimeOf(c).optimizer.groups;
      const p: Record<string, Float64Array> = {};
      for (const k of names) p[k] = Float64Array.from(c.params[k]!);
      const anchors: Record<string, Float64Array> = {};
      for (const k of names) anchors[k] = p[k]!.slice();
      const buf: Record<string, Float64Array> = {};
      const shapes = paramShapes(spec);
      for (let t = 0; t < 3; t++) {
        const { grads } = lossAndGrad64(spec, p, c.X, c.Y, c.n, 'softmaxCrossEntropy');
        for (const k of names) {
          const x = p[k]!;
          const g = grads[k]!;
          buf[k] ??= new Float64Array(x.length);
          for (let i = 0; i < x.length; i++) {
            const d = g[i]! + c.weightDecay * x[i]!;
            buf[k]![i] = t === 0 ? d : c.momentum * buf[k]![i]! + d;
            x[i]! -= c.lr * buf[k]![i]!;
          }
        }
        for (const grp of groups) {
          if (!grp.projection || grp.projection.kind === 'none') continue;
          projectOnto(
            grp.projection as ProjectionSpec,
            grp.params.map((k) => p[k]!),
            grp.params.map((k) => anchors[k]!),
            grp.params.map((k) => shapes[k]!),
          );
        }
        for (const k of names)
          expect(relErr(p[k]!, c.iterates[t]!.after![k]!), `${k} after step ${t + 1}`).toBeLessThan(1e-10);
      }
    });
  }
});

describe('pairedMlp: fused ONNX and tfjs trainers vs PyTorch (float32 tolerance)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  for (const c of fixture.cases) {
    const spec = specOf(c);
    const config = (): TrainerConfig => {
      const r = regimeOf(c);
      return {
        spec: r.model,
        loss: r.loss,
        optimizer: r.optimizer,
        params: tree(spec, c.params),
        data: { X: Float32Array.from(c.X), Y: Float32Array.from(c.Y), n: c.n },
      };
    };

    it(`${c.name}: createOnnxTrainer step by step and 3 steps per call`, async () => {
      for (const K of [1, 3]) {
        const t = await createOnnxTrainer(engine, config(), { stepsPerCall: K });
        for (let s = 0; s < 3; s += K) {
          const loss = await t.run(K);
          const st = await t.state();
          const want = c.iterates[s + K - 1]!;
          for (const [k, x] of Object.entries(want.after!))
            expect(relErr(st.params[k]!.data, x), `${k} after ${s + K} (K=${K})`).toBeLessThan(2e-5);
          expect(Math.abs(loss - c.iterates[s + K]!.loss), `loss after ${s + K}`).toBeLessThan(2e-5);
        }
        const { grads } = await t.evaluate();
        for (const [k, g] of Object.entries(c.iterates[3]!.grads))
          expect(relErr(grads[k]!.data, g), `grad ${k}`).toBeLessThan(1e-4);
        await t.dispose();
      }
    });

    it(`${c.name}: createTfjsTrainer`, async () => {
      const t = await createTfjsTrainer(tf, config());
      for (let s = 0; s < 3; s++) {
        const loss = await t.run(1);
        const st = await t.state();
        for (const [k, x] of Object.entries(c.iterates[s]!.after!))
          expect(relErr(st.params[k]!.data, x), `${k} after ${s + 1}`).toBeLessThan(2e-5);
        expect(Math.abs(loss - c.iterates[s + 1]!.loss)).toBeLessThan(2e-5);
      }
      await t.dispose();
    });
  }
});

describe('pairedMlp at the mirrored LeCun start outputs exactly 0 on every engine', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  const cases: [number[], number][] = [];
  for (const hidden of [[12], [10, 12], [9, 10, 12]]) for (const k of [1, 3, 10]) cases.push([hidden, k]);
  it.each(cases)('hidden %j, k = %i: float64, ONNX and tfjs', async (hidden, k) => {
    const spec: ModelSpec = { kind: 'pairedMlp', layers: [6, ...hidden, k], activation: 'relu', bias: true };
    const p = initParams(spec, { kind: 'mirroredLecun' }, createRng(hidden.length * 100 + k));
    const n = 7;
    const X = createRng(5).fillNormal(new Float32Array(n * 6));
    const Y = new Float32Array(n * k);
    const zeros = new Array(n * k).fill(0);
    const arrays = Object.fromEntries(Object.entries(p).map(([name, t]) => [name, t.data]));
    expect(Array.from(lossAndGrad64(spec, arrays, X, Y, n).pred)).toEqual(zeros);
    const session = await engine.createSession(buildLossGradModel(spec, 'halfSse'));
    const feeds: Record<string, ReturnType<Engine['tensor']>> = {
      X: engine.tensor(X, [n, 6]),
      Y: engine.tensor(Y, [n, k]),
    };
    for (const [name, t] of Object.entries(p)) feeds[name] = engine.tensor(t.data, [...t.shape]);
    const out = await session.run(feeds);
    expect(Array.from(out.pred!.data as Float32Array)).toEqual(zeros);
    // At f ≡ 0 the output half's gradient Gᵀ(σ(z_top) − σ(z_bot)) is exactly 0 too.
    expect(Array.from(out['grad.V']!.data as Float32Array).every((x) => x === 0)).toBe(true);
    await session.release();
    const tp = toTfParams(p);
    const x = tf.tensor2d(X, [n, 6]);
    const y = forwardTf(spec, tp, x);
    expect(Array.from(y.dataSync())).toEqual(zeros);
    tf.dispose([x, y, ...Object.values(tp)]);
  });
});
