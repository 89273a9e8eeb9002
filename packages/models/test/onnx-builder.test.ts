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

  it('domainOp: a node of another operator set runs, and toModel imports that set', async () => {
    const g = new OnnxGraph('dom');
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [3, 2]);
    // onnxruntime's contrib FusedMatMul: alpha · a · b
    g.output(
      g.domainOp('com.microsoft', 'FusedMatMul', [a, b], { alpha: attr.f(0.5) }),
      'float32',
      [2, 2],
      'y',
    );
    const model = g.toModel();
    expect(Buffer.from(model).includes('com.microsoft')).toBe(true);
    const plain = new OnnxGraph('plain');
    plain.output(plain.op('Relu', [plain.input('x', 'float32', [1])]), 'float32', [1], 'y');
    expect(Buffer.from(plain.toModel()).includes('com.microsoft')).toBe(false);
    const engine = await startOnnx({ device: 'cpu' });
    const session = await engine.createSession(model);
    const A = [1, 2, 3, 4, 5, 6];
    const B = [1, -1, 0.5, 2, -2, 0.25];
    const res = await session.run({
      a: engine.tensor(Float32Array.from(A), [2, 3]),
      b: engine.tensor(Float32Array.from(B), [3, 2]),
    });
    const y = res.y!.data as Float32Array;
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++) {
        let z = 0;
        for (let t = 0; t < 3; t++) z += A[i * 3 + t]! * B[t * 2 + j]!;
        expect(y[i * 2 + j]).toBeCloseTo(0.5 * z, 5);
      }
    expect(() => g.domainOp('', 'Relu', [a])).toThrow(/OnnxGraph.domainOp: domain/);
  });

  it('folds Add(Gemm(A, B), Mul(C, s)) into Gemm(A, B, C, beta = s), and only where nothing else reads the parts', async () => {
    const engine = await startOnnx({ device: 'cpu' });
    const A = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
    const B = Float32Array.from({ length: 20 }, (_, i) => Math.cos(i));
    const C = Float32Array.from({ length: 15 }, (_, i) => i / 7 - 1);
    const want = new Float64Array(15);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let t = 0; t < 4; t++) s += A[i * 4 + t]! * B[j * 4 + t]!;
        want[i * 5 + j] = s + 0.25 * C[i * 5 + j]!;
      }
    const opTypes = (bytes: Uint8Array): string[] =>
      ['Add', 'Mul', 'Gemm'].filter((op) => Buffer.from(bytes).includes(Buffer.from(op)));
    for (const [label, extraUse] of [
      ['folded', false],
      ['kept: the Gemm output is read twice', true],
    ] as const) {
      const g = new OnnxGraph('fold');
      const a = g.input('A', 'float32', [3, 4]);
      const b = g.input('B', 'float32', [5, 4]);
      const c = g.input('C', 'float32', [3, 5]);
      const gemm = g.op('Gemm', [a, b], { transB: attr.i(1) });
      const y = g.op('Add', [g.op('Mul', [c, g.scalar(0.25)]), gemm]);
      g.output(y, 'float32', [3, 5], 'y');
      if (extraUse) g.output(g.op('Neg', [gemm]), 'float32', [3, 5], 'z');
      const bytes = g.toModel();
      expect(opTypes(bytes), label).toEqual(extraUse ? ['Add', 'Mul', 'Gemm'] : ['Gemm']);
      const session = await engine.createSession(bytes);
      const out = await session.run({
        A: engine.tensor(A, [3, 4]),
        B: engine.tensor(B, [5, 4]),
        C: engine.tensor(C, [3, 5]),
      });
      const got = out.y!.data as Float32Array;
      for (let i = 0; i < 15; i++) expect(got[i], `${label} [${i}]`).toBeCloseTo(want[i]!, 5);
      await session.release();
    }
  });
});
