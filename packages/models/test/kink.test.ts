import { startOnnx } from '@narrownet/engine';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ActivationSpec, OnnxGraph, activateTf, activation, lowerActivationOnnx } from '../src/index.js';

// The derivative convention at the kink, pinned on all three paths (host float64 `activation().df`,
// the ONNX lowering, tfjs autodiff): relu and leakyRelu take the LEFT derivative at 0 (0 and the
// slope) everywhere; abs takes 0 on host and ONNX, while tfjs's Abs gradient (dy·step(x, −1)) gives
// −1 — pinned here so that the difference stays documented rather than silent.
const Z = [-1, 0, 1];
const CASES: [ActivationSpec, number[], number[]][] = [
  ['relu', [0, 0, 1], [0, 0, 1]],
  [{ name: 'leakyRelu', slope: 0.2 }, [0.2, 0.2, 1], [0.2, 0.2, 1]],
  ['abs', [-1, 0, 1], [-1, -1, 1]],
];

describe('σ′ at the kink z = 0', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  for (const [spec, want, tfjs] of CASES) {
    it(`${JSON.stringify(spec)}: host and ONNX give ${want}, tfjs ${tfjs}`, async () => {
      expect(Z.map(activation(spec).df)).toEqual(want);
      const g = new OnnxGraph('kink');
      const z = g.input('z', 'float32', [3]);
      const { dh } = lowerActivationOnnx(g, spec, z, true);
      g.output(dh!, 'float32', [3], 'dh');
      const engine = await startOnnx({ device: 'cpu', threads: 1 });
      const session = await engine.createSession(g.toModel());
      const out = await session.run({ z: new engine.ort.Tensor('float32', Float32Array.from(Z), [3]) });
      expect(Array.from(out.dh!.data as Float32Array)).toEqual(want.map(Math.fround));
      await session.release();
      const grad = tf.grad((x: tf.Tensor) => tf.sum(activateTf(spec, x)))(tf.tensor1d(Z));
      expect(Array.from(grad.dataSync())).toEqual(tfjs.map(Math.fround));
    });
  }
});
