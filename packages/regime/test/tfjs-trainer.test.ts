import { initParams } from '@narrownet/init';
import { type ParamTree, createRng, lossAndGrad64 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { batchIndices, createTfjsTrainer, zhang2021 } from '../src/index.js';
import { sphereData, tf } from './helpers.js';

/** Float64 transcription of PGD with heavy-ball momentum (PyTorch SGD) on the W ball. */
function reference(
  spec: Parameters<typeof lossAndGrad64>[0],
  p0: ParamTree,
  data: { X: Float32Array; Y: Float32Array; n: number },
  lr: { W: number; v: number },
  mu: number,
  eps: number,
  steps: number,
) {
  const W0 = Float64Array.from(p0.W!.data);
  const p = { W: Float64Array.from(p0.W!.data), v: Float64Array.from(p0.v!.data) };
  const buf = { W: new Float64Array(p.W.length), v: new Float64Array(p.v.length) };
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { grads } = lossAndGrad64(spec, p, data.X, data.Y, data.n);
    for (const k of ['W', 'v'] as const) {
      const g = grads[k]!;
      for (let i = 0; i < g.length; i++) {
        buf[k][i] = s === 0 ? g[i]! : mu * buf[k][i]! + g[i]!;
        p[k][i]! -= lr[k] * buf[k][i]!;
      }
    }
    let nrm = 0;
    for (let i = 0; i < W0.length; i++) nrm += (p.W[i]! - W0[i]!) ** 2;
    nrm = Math.sqrt(nrm);
    if (nrm > eps) for (let i = 0; i < W0.length; i++) p.W[i] = W0[i]! + ((p.W[i]! - W0[i]!) * eps) / nrm;
    losses.push(lossAndGrad64(spec, p, data.X, data.Y, data.n).loss);
  }
  return { p, losses };
}

describe('createTfjsTrainer', () => {
  it('gives the iterates of a float64 transcription of PGD + momentum (lossAndGrad64)', async () => {
    const data = sphereData(20, 5, 7);
    const r = zhang2021({ inputDim: 5, width: 6, radius: 0.08, lr1: 0.1, lr2: 0.05, momentum: 0.9 });
    const p0 = initParams(r.model, r.init, createRng(11));
    const trainer = await createTfjsTrainer(tf, {
      spec: r.model,
      loss: 'halfSse',
      optimizer: r.optimizer,
      params: p0,
      data,
    });
    const ref = reference(r.model, p0, data, { W: 0.1, v: 0.05 }, 0.9, 0.08, 6);
    const losses: number[] = [];
    for (let s = 0; s < 6; s++) losses.push(await trainer.run(1));
    const st = await trainer.state();
    expect(st.step).toBe(6);
    for (let s = 0; s < 6; s++) expect(losses[s]).toBeCloseTo(ref.losses[s]!, 4);
    for (const k of ['W', 'v'] as const) {
      const a = st.params[k]!.data;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - ref.p[k][i]!)).toBeLessThan(2e-5);
    }
    // the iterates moved (the comparison is not between two copies of p0)
    expect(Math.abs(st.params.v!.data[0]! - p0.v!.data[0]!)).toBeGreaterThan(1e-3);
    const ev = await trainer.evaluate();
    const g64 = lossAndGrad64(
      r.model,
      { W: st.params.W!.data, v: st.params.v!.data },
      data.X,
      data.Y,
      data.n,
    );
    expect(ev.loss).toBeCloseTo(g64.loss, 4);
    for (let i = 0; i < g64.grads.v!.length; i++)
      expect(ev.grads.v!.data[i]).toBeCloseTo(g64.grads.v![i]!, 4);
    await trainer.dispose();
  });

  it('rejects data of the wrong size, naming the field', async () => {
    const r = zhang2021({ inputDim: 5, width: 6, radius: 1, lr1: 0.1, lr2: 0.1 });
    const p0 = initParams(r.model, r.init, createRng(1));
    const data = { X: new Float32Array(9), Y: new Float32Array(2), n: 2 };
    await expect(
      createTfjsTrainer(tf, { spec: r.model, loss: 'halfSse', optimizer: r.optimizer, params: p0, data }),
    ).rejects.toThrow(/data.X/);
  });

  it('mini-batches: each epoch visits every sample once, in a seeded order', () => {
    const n = 10;
    const seen = new Set<number>();
    for (let s = 0; s < 3; s++) for (const i of batchIndices(n, 3, 4, s)) seen.add(i);
    expect(seen.size).toBe(9);
    expect(Array.from(batchIndices(n, 3, 4, 5))).toEqual(Array.from(batchIndices(n, 3, 4, 5)));
    expect(Array.from(batchIndices(n, 3, 4, 0))).not.toEqual(Array.from(batchIndices(n, 3, 4, 3)));
  });

  it('a mini-batch step is the full-batch step on the chosen rows', async () => {
    const data = sphereData(12, 4, 3);
    const r = zhang2021({ inputDim: 4, width: 4, radius: 10, lr1: 0.1, lr2: 0.1, momentum: 0 });
    const p0 = initParams(r.model, r.init, createRng(2));
    const mb = await createTfjsTrainer(tf, {
      spec: r.model,
      loss: 'halfSse',
      optimizer: r.optimizer,
      params: p0,
      data,
      batchSize: 4,
      seed: 9,
    });
    await mb.run(1);
    const idx = batchIndices(12, 4, 9, 0);
    const Xb = new Float32Array(16);
    const Yb = new Float32Array(4);
    idx.forEach((i, b) => {
      Xb.set(data.X.subarray(i * 4, i * 4 + 4), b * 4);
      Yb[b] = data.Y[i]!;
    });
    const fb = await createTfjsTrainer(tf, {
      spec: r.model,
      loss: 'halfSse',
      optimizer: r.optimizer,
      params: p0,
      data: { X: Xb, Y: Yb, n: 4 },
    });
    await fb.run(1);
    const a = (await mb.state()).params.W!.data;
    const b = (await fb.state()).params.W!.data;
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 6);
    await mb.dispose();
    await fb.dispose();
  });
});
