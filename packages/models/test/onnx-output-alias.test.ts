import { startOnnx } from '@narrownet/engine';
import { describe, expect, it } from 'vitest';
import { OnnxGraph, attr } from '../src/index.js';

function count(bytes: Uint8Array, text: string): number {
  const s = Buffer.from(bytes).toString('latin1');
  return s.split(text).length - 1;
}

describe('OnnxGraph.output renaming', () => {
  it('renames produced values without a copy, keeps old names usable, reaches Loop bodies', async () => {
    const g = new OnnxGraph('t');
    const x = g.input('x', 'float32', [3]);
    const a = g.op('Add', [x, g.scalar(1)]);
    g.output(a, 'float32', [3], 'y'); // renamed in place: no Identity
    const b = g.op('Mul', [a, g.scalar(2)]); // the old name still refers to y
    g.output(b, 'float32', [3], 'z');
    g.output(x, 'float32', [3], 'xcopy'); // a graph input: needs an Identity
    g.output(a, 'float32', [3], 'ytwice'); // already an output under another name: Identity
    // A Loop body that reads the renamed outer value `a` (2 iterations of acc ← acc + a).
    const body = new OnnxGraph('body');
    body.input('body.i', 'int64', []);
    const cond = body.input('body.c', 'bool', []);
    const acc = body.input('body.acc', 'float32', [3]);
    body.output(body.op('Identity', [cond]), 'bool', []);
    body.output(body.op('Add', [acc, a]), 'float32', [3]);
    const [loopOut] = g.opN('Loop', [g.constant({ dtype: 'int64', shape: [], values: [2] }), '', x], 1, {
      body: attr.g(body),
    });
    g.output(loopOut!, 'float32', [3], 'loop');
    const bytes = g.toModel();
    // Identity nodes: body cond, xcopy, ytwice — none for y, z, loop.
    expect(count(bytes, 'Identity')).toBe(3);
    const engine = await startOnnx({ device: 'cpu', threads: 1 });
    const session = await engine.createSession(bytes);
    const out = await session.run({ x: engine.tensor(Float32Array.from([1, 2, 3]), [3]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 3, 4]);
    expect(Array.from(out.z!.data as Float32Array)).toEqual([4, 6, 8]);
    expect(Array.from(out.xcopy!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(out.ytwice!.data as Float32Array)).toEqual([2, 3, 4]);
    expect(Array.from(out.loop!.data as Float32Array)).toEqual([5, 8, 11]);
    await session.release();
  });
});
