import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOnnx } from '@narrownet/engine';
import { createRng } from '@narrownet/models';
import { afterAll, describe, expect, it } from 'vitest';
import { batchIndices, createBatchOrder, createOnnxTrainer, train, zhang2021 } from '../src/index.js';
import { sphereData, tfjsFactory } from './helpers.js';

/** The definition of the batch order as it stood before the cache (one O(n) shuffle per step). */
function definition(n: number, b: number, seed: number, step: number): number[] {
  const perEpoch = Math.floor(n / b);
  const epoch = Math.floor(step / perEpoch);
  const perm = Array.from({ length: n }, (_, i) => i);
  const rng = createRng(seed).fork(`epoch${epoch}`);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const k = step % perEpoch;
  return perm.slice(k * b, (k + 1) * b);
}

const dir = mkdtempSync(join(tmpdir(), 'regime-batches-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mini-batch order', () => {
  const cases: [number, number, number][] = [
    [10, 3, 0],
    [30, 4, 7],
    [64, 64, 2],
    [101, 10, 5],
  ];
  it('batchIndices and the cached order give the batches of the definition', () => {
    for (const [n, b, seed] of cases) {
      const order = createBatchOrder(n, b, seed);
      expect(order.stepsPerEpoch).toBe(Math.floor(n / b));
      for (let step = 0; step < 4 * order.stepsPerEpoch + 1; step++) {
        const want = definition(n, b, seed, step);
        expect(Array.from(batchIndices(n, b, seed, step))).toEqual(want);
        expect(Array.from(order.indices(step))).toEqual(want);
      }
    }
  });
  it('the cached order answers steps in any order (a resume mid-epoch, a step back)', () => {
    const order = createBatchOrder(30, 4, 7);
    const rng = createRng(1);
    for (let i = 0; i < 60; i++) {
      const step = rng.int(40);
      expect(Array.from(order.indices(step))).toEqual(definition(30, 4, 7, step));
    }
  });
  it('every epoch visits ⌊n/b⌋·b distinct samples, and epochs differ', () => {
    const order = createBatchOrder(30, 4, 7);
    const epochs: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const seen: number[] = [];
      for (let s = 0; s < 7; s++) seen.push(...order.indices(e * 7 + s));
      expect(new Set(seen).size).toBe(28);
      epochs.push(seen);
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
  });
  it('rejects bad arguments naming them', () => {
    expect(() => createBatchOrder(10, 11, 0)).toThrow(/batchSize/);
    expect(() => createBatchOrder(10, 3, 0).indices(-1)).toThrow(/step/);
    expect(() => batchIndices(10, 3, 0, 1.5)).toThrow(/step/);
  });
});

describe('resume mid-epoch is exact with mini-batches', () => {
  const data = sphereData(30, 6, 5);
  const r = zhang2021({ inputDim: 6, width: 8, radius: 0.3, lr1: 0.05, lr2: 0.05, steps: 20 });
  // 30 samples in batches of 4: 7 steps per epoch, so step 10 is inside the second epoch
  const engines = {
    tfjs: tfjsFactory,
    onnx: async (c: Parameters<typeof tfjsFactory>[0]) => createOnnxTrainer(await startOnnx(), c),
  };
  for (const [name, createTrainer] of Object.entries(engines)) {
    it(`${name}: 10 steps + checkpoint + resume 10 = 20 straight, bit for bit`, async () => {
      const opts = { createTrainer, evalEvery: 5, seed: 3, batchSize: 4 };
      const straight = await train(r, data, opts);
      const ck = join(dir, name);
      await train(r, data, { ...opts, steps: 10, checkpointPath: ck, checkpointEvery: 10 });
      const resumed = await train(r, data, { ...opts, resumeFrom: ck });
      expect(resumed.steps).toBe(20);
      expect(Array.from(resumed.params.W!.data)).toEqual(Array.from(straight.params.W!.data));
      expect(Array.from(resumed.params.v!.data)).toEqual(Array.from(straight.params.v!.data));
    });
  }
});
