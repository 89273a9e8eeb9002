import { startOnnx } from '@narrownet/engine';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ActivationSpec,
  type LossName,
  type ModelSpec,
  OnnxGraph,
  buildLossGradModel,
  createRng,
  forwardTf,
  inputDim,
  lossAndGrad64,
  lowerModelOnnx,
  outputDim,
  paramShapes,
  toTfParams,
} from '../src/index.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;

const ACTIVATIONS: ActivationSpec[] = [
  'tanh',
  'sigmoid',
  'softplus',
  { name: 'softplus', alpha: 2.5 },
  'gelu',
  'relu',
  { name: 'leakyRelu', slope: 0.2 },
  'abs',
  'identity',
];
const LOSSES: LossName[] = ['halfSse', 'mse', 'softmaxCrossEntropy'];

function specs(act: ActivationSpec): ModelSpec[] {
  return [
    { kind: 'shallow', inputDim: 5, width: 7, activation: act },
    { kind: 'paired', inputDim: 5, width: 8, activation: act },
    // Width below the input dimension takes the other branch of the ∂W lowering.
    { kind: 'shallow', inputDim: 9, width: 4, activation: act },
    { kind: 'paired', inputDim: 9, width: 6, activation: act },
    { kind: 'mlp', layers: [5, 6, 4, 3], activation: act, bias: true, scaled: true },
    { kind: 'mlp', layers: [4, 5, 2], activation: act },
    { kind: 'pairedMlp', layers: [5, 6, 4, 3], activation: act, bias: true },
    { kind: 'pairedMlp', layers: [4, 8, 1], activation: act },
  ];
}

function randomCase(spec: ModelSpec, n: number, loss: LossName, seed: number) {
  const rng = createRng(seed);
  const params: Record<string, Float32Array> = {};
  for (const [k, shape] of Object.entries(paramShapes(spec))) {
    const size = shape.reduce((a, b) => a * b, 1);
    params[k] = Float32Array.from({ length: size }, () => rng.normal() * 0.8);
  }
  const d = inputDim(spec);
  const k = outputDim(spec);
  const X = Float32Array.from({ length: n * d }, () => rng.normal());
  let Y: Float32Array;
  if (loss === 'softmaxCrossEntropy') {
    // Probability targets (rows sum to 1) exercise the general Σ_c Y_ic factor.
    Y = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += Y[i * k + c] = rng.uniform() + 0.1;
      for (let c = 0; c < k; c++) Y[i * k + c]! /= s;
    }
  } else Y = Float32Array.from({ length: n * k }, () => rng.normal());
  return { params, X, Y };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rel = 2e-5): void {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(maxAbs(want), 1e-3);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  expect(err / scale, `${what}: max error ${err} vs scale ${scale}`).toBeLessThan(rel);
}

describe('lowerModelOnnx / buildLossGradModel', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
    await tf.setBackend('cpu');
  });

  for (const act of ACTIVATIONS) {
    const actName = typeof act === 'string' ? act : JSON.stringify(act);
    it(`matches lossAndGrad64 for every family and loss: ${actName}`, async () => {
      let seed = 1;
      for (const spec of specs(act)) {
        for (const loss of LOSSES) {
          const n = 9;
          const { params, X, Y } = randomCase(spec, n, loss, seed++);
          const want = lossAndGrad64(spec, params, X, Y, n, loss);
          const session = await engine.createSession(buildLossGradModel(spec, loss));
          const feeds: Record<string, ReturnType<Engine['tensor']>> = {
            X: engine.tensor(X, [n, inputDim(spec)]),
            Y: engine.tensor(Y, [n, outputDim(spec)]),
          };
          const shapes = paramShapes(spec);
          for (const [k, shape] of Object.entries(shapes)) feeds[k] = engine.tensor(params[k]!, shape);
          const out = await session.run(feeds);
          const tag = `${spec.kind}/${actName}/${loss}`;
          expect(out.loss!.dims, tag).toEqual([]);
          expectClose(out.loss!.data as Float32Array, [want.loss], `${tag} loss`);
          expectClose(out.pred!.data as Float32Array, want.pred, `${tag} pred`);
          for (const k of Object.keys(shapes)) {
            expect(out[`grad.${k}`]!.dims, `${tag} grad.${k} shape`).toEqual(shapes[k]);
            expectClose(out[`grad.${k}`]!.data as Float32Array, want.grads[k]!, `${tag} grad.${k}`);
          }
          await session.release();
        }
      }
    });
  }

  it('forward agrees with tfjs forwardTf on the cpu backend', async () => {
    let seed = 100;
    for (const act of ACTIVATIONS) {
      for (const spec of specs(act)) {
        const n = 6;
        const { params, X, Y } = randomCase(spec, n, 'halfSse', seed++);
        const g = new OnnxGraph('fwd');
        const shapes = paramShapes(spec);
        const names: Record<string, string> = {};
        for (const [k, shape] of Object.entries(shapes)) names[k] = g.input(k, 'float32', shape);
        const Xn = g.input('X', 'float32', ['n', inputDim(spec)]);
        const Yn = g.input('Y', 'float32', ['n', outputDim(spec)]);
        const out = lowerModelOnnx(g, spec, { X: Xn, Y: Yn, params: names }, 'halfSse', {
          gradients: false,
        });
        expect(Object.keys(out.grads)).toEqual([]);
        g.output(out.pred, 'float32', ['n', outputDim(spec)], 'pred');
        const session = await engine.createSession(g.toModel());
        const feeds: Record<string, ReturnType<Engine['tensor']>> = {
          X: engine.tensor(X, [n, inputDim(spec)]),
          Y: engine.tensor(Y, [n, outputDim(spec)]),
        };
        for (const [k, shape] of Object.entries(shapes)) feeds[k] = engine.tensor(params[k]!, shape);
        const res = await session.run(feeds);
        const tree: Record<string, { shape: number[]; data: Float32Array }> = {};
        for (const [k, shape] of Object.entries(shapes)) tree[k] = { shape, data: params[k]! };
        const tp = toTfParams(tree);
        const xt = tf.tensor2d(X, [n, inputDim(spec)]);
        const pt = forwardTf(spec, tp, xt);
        expectClose(res.pred!.data as Float32Array, pt.dataSync(), `${spec.kind}/${JSON.stringify(act)}`);
        tf.dispose([xt, pt, ...Object.values(tp)]);
        await session.release();
      }
    }
  });

  it('rejects a missing parameter name and an unknown loss', () => {
    const spec: ModelSpec = { kind: 'shallow', inputDim: 2, width: 3, activation: 'tanh' };
    const g = new OnnxGraph('bad');
    expect(() => lowerModelOnnx(g, spec, { X: 'X', Y: 'Y', params: { W: 'W' } }, 'halfSse')).toThrow(
      /parameter "v"/,
    );
    expect(() =>
      lowerModelOnnx(g, spec, { X: 'X', Y: 'Y', params: { W: 'W', v: 'v' } }, 'l1' as LossName),
    ).toThrow(/unknown loss/);
  });
});
