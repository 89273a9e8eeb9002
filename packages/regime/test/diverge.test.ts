import { zhangSynthetic } from '@narrownet/datasets';
import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { createRng } from '@narrownet/models';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type RegimeSpec,
  type TrainResult,
  type TrainerConfig,
  createOnnxGridTrainer,
  createOnnxTrainer,
  train,
  zhang2021,
} from '../src/index.js';
import { tfjsFactory } from './helpers.js';

// Issue #17: with lr 10 the loss goes 1.5e3 → 1e14 → 1e24 … and then the float32 ball projection
// computed ‖W − W0‖ = ∞, scaled by r/∞ = 0 and reset W to W0: the run sat at its initial loss and
// ended as `budget`. Every engine must now end such a run as `diverged`, at the step it happened.

type Engine = Awaited<ReturnType<typeof startOnnx>>;
let engine: Engine;
beforeAll(async () => {
  engine = await startOnnx({ device: 'cpu', threads: 1 });
});

// App. H.2's data at a small size; on the old code every run below ended as `budget` (tfjs at its
// initial loss 118.2 with W = W0, onnxruntime at 1e13 / 9e18).
const data = zhangSynthetic({ n: 100, d: 20 });
const regimes: [string, RegimeSpec][] = [1, 1000].map((radius) => [
  `zhang2021 ε = ${radius}, lr 10`,
  zhang2021({ inputDim: 20, width: 20, radius, lr1: 10, lr2: 10, steps: 300 }),
]);

function expectDiverged(res: TrainResult, what: string): void {
  expect(res.status, `${what}: status (final loss ${res.finalLoss})`).toBe('diverged');
  expect(res.divergedAt, what).toBeGreaterThan(0);
  expect(res.divergedAt, what).toBeLessThan(300);
  expect(res.steps).toBe(res.divergedAt);
  expect(Number.isFinite(res.finalLoss), what).toBe(false);
  // the recorded curve before it is finite and the run really was blowing up
  const losses = res.metrics.map((m) => m.loss);
  expect(losses.every(Number.isFinite), what).toBe(true);
}

describe('a blown-up run is diverged, never reset (train, both engines)', () => {
  for (const [label, regime] of regimes) {
    it(`${label}: tfjs and onnxruntime (1 and 7 steps per call) agree on the diverged step`, async () => {
      // one chunk of 300 steps, as the reference app's sweep does (evalEvery ≥ steps)
      const tfjs = await train(regime, data, { createTrainer: tfjsFactory, evalEvery: 300 });
      expectDiverged(tfjs, `tfjs ${label}`);
      const fine = await train(regime, data, { createTrainer: tfjsFactory, evalEvery: 1 });
      expect(fine.divergedAt).toBe(tfjs.divergedAt);
      for (const stepsPerCall of [1, 7]) {
        const onnx = await train(regime, data, {
          createTrainer: (c) => createOnnxTrainer(engine, c, { stepsPerCall }),
          evalEvery: 300,
        });
        expectDiverged(onnx, `onnx K=${stepsPerCall} ${label}`);
        // float32 iterates of two engines drift apart as the loss explodes: allow one step
        expect(
          Math.abs(onnx.divergedAt! - tfjs.divergedAt!),
          `onnx K=${stepsPerCall} vs tfjs`,
        ).toBeLessThanOrEqual(1);
      }
    });
  }

  it('the grid trainer reports the exact first non-finite step of each configuration', async () => {
    const configs: TrainerConfig[] = [];
    const lrs = [0.01, 10, 10, 3];
    const radii = [1, 1, 1000, 1000];
    for (const [i, lr] of lrs.entries()) {
      const r = zhang2021({ inputDim: 20, width: 20, radius: radii[i]!, lr1: lr, lr2: lr, steps: 300 });
      const p0 = initParams(r.model, r.init, createRng(0));
      configs.push({ spec: r.model, loss: r.loss, optimizer: r.optimizer, params: p0, anchors: p0, data });
    }
    const want: (number | undefined)[] = [];
    for (const c of configs) {
      const t = await createOnnxTrainer(engine, c);
      const l = await t.run(300);
      want.push(Number.isFinite(l) ? undefined : (await t.state()).step);
      await t.dispose();
    }
    expect(want[0]).toBeUndefined();
    expect(want.slice(1).every((w) => w !== undefined)).toBe(true);
    for (const stepsPerCall of [1, 7]) {
      const gt = await createOnnxGridTrainer(engine, configs, { stepsPerCall });
      const losses = await gt.run(100);
      const more = await gt.run(200);
      expect(gt.divergedAt(), `K = ${stepsPerCall}`).toEqual(want);
      expect(Number.isFinite(losses[0]!) && Number.isFinite(more[0]!)).toBe(true);
      for (let c = 1; c < 4; c++) expect(Number.isFinite(more[c]!), `config ${c}`).toBe(false);
      await gt.dispose();
    }
  });
});

describe('a non-finite parameter is a non-finite iterate even where the loss saturates', () => {
  it('tanh(∞) = 1 keeps the forward finite; every trainer still stops there with a NaN loss', async () => {
    const r = zhang2021({ inputDim: 20, width: 20, radius: 1, lr1: 0.01, lr2: 0.01, steps: 10 });
    const p0 = initParams(r.model, r.init, createRng(0));
    const params = { W: { shape: p0.W!.shape, data: p0.W!.data.slice() }, v: p0.v! };
    params.W.data[3] = Number.POSITIVE_INFINITY;
    const config: TrainerConfig = {
      spec: r.model,
      loss: r.loss,
      optimizer: r.optimizer,
      params,
      anchors: p0,
      data,
    };
    for (const [name, make] of [
      ['tfjs', () => tfjsFactory(config)],
      ['onnx', () => createOnnxTrainer(engine, config)],
      ['onnx K=4', () => createOnnxTrainer(engine, config, { stepsPerCall: 4 })],
    ] as const) {
      const t = await make();
      expect(Number.isNaN(await t.run(8)), name).toBe(true);
      expect((await t.state()).step, name).toBe(0);
      expect(Number.isNaN((await t.evaluate()).loss), name).toBe(true);
      await t.dispose();
    }
    const gt = await createOnnxGridTrainer(engine, [config, { ...config, params: p0 }]);
    const losses = await gt.run(3);
    expect(Number.isNaN(losses[0]!)).toBe(true);
    expect(Number.isFinite(losses[1]!)).toBe(true);
    expect(gt.divergedAt()).toEqual([0, undefined]);
    await gt.dispose();
  });
});

describe('a non-finite gradient at a finite iterate', () => {
  it('ends the run one step later on every engine (tfjs used to throw)', async () => {
    // f ≡ 0 at a mirrored W, so r = −y: loss ½·(1.5e19)² ≈ 1.1e38 is finite, ∂W = v·σ'·r·x ≈ 1e39 is not
    const r = zhang2021({ inputDim: 2, width: 2, radius: 1, lr1: 0.1, lr2: 0.1, steps: 10 });
    const W = Float32Array.from([0.3, -0.2, 0.3, -0.2]);
    const params = { W: { shape: [2, 2], data: W }, v: { shape: [1], data: Float32Array.from([1e20]) } };
    const one = { X: Float32Array.from([0.6, 0.8]), Y: Float32Array.from([1.5e19]), n: 1 };
    const config: TrainerConfig = { spec: r.model, loss: r.loss, optimizer: r.optimizer, params, data: one };
    for (const [name, make] of [
      ['tfjs', () => tfjsFactory(config)],
      ['onnx', () => createOnnxTrainer(engine, config)],
    ] as const) {
      const t = await make();
      const e = await t.evaluate();
      expect(Number.isFinite(e.loss), name).toBe(true);
      expect(
        Array.from(e.grads.W!.data).some((x) => !Number.isFinite(x)),
        name,
      ).toBe(true);
      expect(Number.isFinite(await t.run(5)), name).toBe(false);
      expect((await t.state()).step, name).toBe(1);
      await t.dispose();
    }
    const res = await train({ ...r, model: r.model }, one, { createTrainer: tfjsFactory, params });
    expect(res.status).toBe('diverged');
    expect(res.divergedAt).toBe(1);
  });
});
