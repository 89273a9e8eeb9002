import { startTfjs } from '@narrownet/engine';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convForwardTf, lossTf, resnetBufferShapes, resnetParamShapes } from '../src/index.js';
import { gradFloor, loadConvFixture, relError } from './conv-fixture.js';

const CASES = loadConvFixture();
const TOL = 1e-4;

describe('convForwardTf (tfjs cpu, float32) against PyTorch', () => {
  beforeAll(async () => {
    // startTfjs registers tfjs-core's gradient functions (tf.valueAndGrads needs them).
    await startTfjs({ backend: 'cpu' });
  });

  for (const c of CASES) {
    for (const mode of ['train', 'eval'] as const) {
      it(`${c.name} (${mode}): logits, tfjs-autodiff gradients and running statistics to ${TOL}`, () => {
        const want = c[mode];
        const names = Object.keys(resnetParamShapes(c.spec));
        const shapes = resnetParamShapes(c.spec);
        const d = c.spec.input[0] * c.spec.input[1] * c.spec.input[2];
        const x = tf.tensor2d(Float32Array.from(c.X), [c.n, d]);
        const y = tf.tensor2d(Float32Array.from(c.Y), [c.n, c.spec.classes]);
        const buffers = Object.fromEntries(
          Object.entries(resnetBufferShapes(c.spec)).map(([k, s]) => [
            k,
            tf.tensor(Float32Array.from(c.buffers[k]!), s),
          ]),
        );
        const ps = names.map((k) => tf.tensor(Float32Array.from(c.params[k]!), shapes[k]!));
        const train = mode === 'train';
        const fwd = convForwardTf(c.spec, Object.fromEntries(names.map((k, i) => [k, ps[i]!])), buffers, x, {
          train,
        });
        expect(relError(fwd.logits.dataSync(), want.logits), 'logits').toBeLessThan(TOL);
        for (const [k, v] of Object.entries(want.buffers))
          expect(relError(fwd.buffers[k]!.dataSync(), v), `buffer ${k}`).toBeLessThan(TOL);
        const lossOf = (...args: tf.Tensor[]) => {
          const p = Object.fromEntries(names.map((k, i) => [k, args[i]!]));
          return lossTf('softmaxCrossEntropy', convForwardTf(c.spec, p, buffers, x, { train }).logits, y);
        };
        const { value, grads } = tf.valueAndGrads(lossOf)(ps);
        expect(Math.abs(value.dataSync()[0]! - want.loss), 'loss').toBeLessThan(TOL);
        names.forEach((k, i) => {
          expect(
            relError(grads[i]!.dataSync(), want.grads[k]!, gradFloor(want.grads, k)),
            `grad ${k}`,
          ).toBeLessThan(TOL);
        });
        tf.dispose([
          x,
          y,
          fwd.logits,
          value,
          ...grads,
          ...ps,
          ...Object.values(fwd.buffers),
          ...Object.values(buffers),
        ]);
      });
    }
  }

  it('rejects x of the wrong width and a missing parameter', () => {
    const c = CASES[0]!;
    const x = tf.zeros([2, 5]) as tf.Tensor2D;
    expect(() => convForwardTf(c.spec, {}, {}, x, { train: true })).toThrow(/x must be \[n, 168\]/);
    const d = c.spec.input[0] * c.spec.input[1] * c.spec.input[2];
    const x2 = tf.zeros([2, d]) as tf.Tensor2D;
    expect(() => convForwardTf(c.spec, {}, {}, x2, { train: true })).toThrow(
      /params is missing tensor "layer1.0.conv1.weight"/,
    );
    tf.dispose([x, x2]);
  });
});
