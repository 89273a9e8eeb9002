// Softmax cross-entropy against PyTorch's F.cross_entropy on extreme logits (±1e4, equal logits,
// one-hot and probability targets), recorded by scripts/torch_cross_entropy.py (torch 1.13): the
// float64 reference (loss64), the ONNX lowering (a linear output layer P = X Wᵀ at W = I, so its
// ∂W is what a trained output layer receives) and tfjs must give torch's loss and gradients, finite.
import { readFileSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ModelSpec, buildLossGradModel, loss64, lossTf } from '../src/index.js';

interface Case {
  name: string;
  n: number;
  k: number;
  P: number[];
  Y: number[];
  loss64: number;
  loss32: number;
  gradP64: number[];
  gradP32: number[];
  gradW32: number[];
}
const fx = JSON.parse(
  readFileSync(new URL('./fixtures/cross_entropy_torch.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

/** |a − b| ≤ tol · max(1, |b|) entrywise, and every entry finite. */
function expectClose(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Number.isFinite(got[i]!), `${what}[${i}] = ${got[i]} is finite`).toBe(true);
    expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(want[i]!)),
    );
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('softmax cross-entropy matches torch F.cross_entropy on extreme logits', () => {
  it('covers the extreme cases', () => {
    expect(fx.cases.map((c) => c.name)).toEqual(
      expect.arrayContaining(['huge_logits_one_hot', 'equal_logits', 'probability_targets']),
    );
    expect(fx.cases.some((c) => c.P.some((p) => Math.abs(p) >= 1e4))).toBe(true);
  });

  for (const c of fx.cases) {
    it(`${c.name}: loss64 (float64)`, () => {
      const r = loss64('softmaxCrossEntropy', c.P, c.Y, c.k);
      expectClose([r.value], [c.loss64], 1e-12, 'loss');
      expectClose(r.grad, c.gradP64, 1e-12, 'dloss/dP');
    });

    it(`${c.name}: ONNX lowering (output layer P = X Wᵀ at W = I)`, async () => {
      const engine = await startOnnx();
      const spec: ModelSpec = { kind: 'mlp', layers: [c.k, c.k], activation: 'identity' };
      const session = await engine.createSession(buildLossGradModel(spec, 'softmaxCrossEntropy'));
      const eye = new Float32Array(c.k * c.k);
      for (let i = 0; i < c.k; i++) eye[i * c.k + i] = 1;
      const out = await session.run({
        X: new engine.ort.Tensor('float32', Float32Array.from(c.P), [c.n, c.k]),
        Y: new engine.ort.Tensor('float32', Float32Array.from(c.Y), [c.n, c.k]),
        W1: new engine.ort.Tensor('float32', eye, [c.k, c.k]),
      } as never);
      expectClose(out.loss!.data as Float32Array, [c.loss32], 2e-6, 'loss');
      expectClose(out.pred!.data as Float32Array, c.P, 0, 'pred');
      expectClose(out['grad.W1']!.data as Float32Array, c.gradW32, 2e-6, 'dloss/dW');
      await session.release();
    });

    it(`${c.name}: tfjs lossTf and its autodiff gradient`, () => {
      const P = tf.tensor2d(c.P, [c.n, c.k]);
      const Y = tf.tensor2d(c.Y, [c.n, c.k]);
      const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => lossTf('softmaxCrossEntropy', p, Y))(P);
      expectClose(value.dataSync(), [c.loss32], 2e-6, 'loss');
      expectClose(grad.dataSync(), c.gradP32, 2e-6, 'dloss/dP');
      tf.dispose([P, Y, value, grad]);
    });
  }
});
