import { type Engine, startOnnx, startTfjs } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { type MlpSpec, createRng, forward64, hiddenOutputs64 } from '@narrownet/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { forwardRows } from '../src/forward.js';

// a scaled softplus MLP with biases (Kawaguchi–Huang's net) and a bias-free GeLU one (Song's student)
const kh: MlpSpec = {
  kind: 'mlp',
  layers: [5, 7, 9, 3],
  activation: { name: 'softplus', alpha: 2 },
  bias: true,
  scaled: true,
};
const song: MlpSpec = { kind: 'mlp', layers: [5, 11, 4], activation: 'gelu' };
const n = 10;
const X = Float32Array.from({ length: n * 5 }, (_, i) => Math.sin(1.7 * i) * 1.5);
const arrays = (p: ReturnType<typeof initParams>) =>
  Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.data]));

const engines: [string, () => Promise<Engine | undefined>][] = [
  ['onnxruntime cpu', () => startOnnx({ device: 'cpu' })],
  ['tfjs cpu', () => startTfjs({ backend: 'cpu' })],
  ['float64 reference (no engine)', async () => undefined],
];

describe.each(engines)('forwardRows on %s, in chunks of 3 rows', (_name, start) => {
  let engine: Engine | undefined;
  beforeAll(async () => {
    engine = await start();
  });

  it('predictions equal forward64 (float32 tolerance)', async () => {
    for (const spec of [kh, song]) {
      const p = initParams(spec, { kind: 'kawaguchiHuang', cw: 1, cb: 0.5 }, createRng(3));
      const got = await forwardRows(engine, spec, p, X, n, 'prediction', 3);
      const want = forward64(spec, arrays(p), X, n);
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    }
  });

  it('lastHidden equals the last of hiddenOutputs64 (σ and the 1/√m_H scale applied)', async () => {
    const p = initParams(kh, { kind: 'kawaguchiHuang', cw: 1, cb: 0.5 }, createRng(4));
    const got = await forwardRows(engine, kh, p, X, n, 'lastHidden', 3);
    const want = hiddenOutputs64(kh, arrays(p), X, n)[1]!;
    expect(got.length).toBe(n * 9);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });

  it('rejects a net without hidden layer for lastHidden, and a bad X length', async () => {
    const lin: MlpSpec = { kind: 'mlp', layers: [5, 3], activation: 'identity' };
    const p = initParams(lin, { kind: 'kawaguchiHuang', cw: 1, cb: 1 }, createRng(1));
    await expect(forwardRows(engine, lin, p, X, n, 'lastHidden')).rejects.toThrow(/hidden layer/);
    await expect(forwardRows(engine, lin, p, X.subarray(1), n, 'prediction')).rejects.toThrow(/X has/);
  });
});
