import { startOnnx } from '@narrownet/engine';
import { describe, expect, it } from 'vitest';
import { OnnxGraph, attr } from '../src/index.js';

describe('OnnxGraph', () => {
  it('builds a model onnxruntime runs: y = tanh(x·W) summed over columns', async () => {
    const g = new OnnxGraph('t');
    const x = g.input('x', 'float32', ['n', 3]);
    const w = g.constant({ dtype: 'float32', shape: [3, 2], values: [1, -1, 0.5, 2, -0.25, 0] });
    const h = g.op('Tanh', [g.op('MatMul', [x, w])]);
    const s = g.op('ReduceSum', [h, g.ints([1])], { keepdims: attr.i(0) });
    g.output(s, 'float32', ['n'], 'y');
    const engine = await startOnnx({ device: 'cpu' });
    const session = await engine.createSession(g.toModel());
    const xs = Float32Array.from([0.1, 0.2, 0.3, -1, 0.5, 2]);
    const res = await session.run({ x: engine.tensor(xs, [2, 3]) });
    const y = res.y!.data as Float32Array;
    const W = [1, -1, 0.5, 2, -0.25, 0];
    for (let i = 0; i < 2; i++) {
      let want = 0;
      for (let j = 0; j < 2; j++) {
        let z = 0;
        for (let t = 0; t < 3; t++) z += xs[i * 3 + t]! * W[t * 2 + j]!;
        want += Math.tanh(z);
      }
      expect(y[i]).toBeCloseTo(want, 5);
    }
  });
});
