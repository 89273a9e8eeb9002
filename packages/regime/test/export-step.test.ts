import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { createRng } from '@narrownet/models';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ExportedStepModel,
  type ExportedTensor,
  type TrainerConfig,
  batchIndices,
  createOnnxTrainer,
  exportStepModel,
  zhang2021,
} from '../src/index.js';
import { sphereData } from './helpers.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;
let engine: Engine;
beforeAll(async () => {
  engine = await startOnnx({ device: 'cpu', threads: 1 });
});

function config(batchSize?: number): TrainerConfig {
  // A tight radius so the ball projection of Alg. 2 is active within the run.
  const regime = zhang2021({ inputDim: 5, width: 8, lr1: 0.05, lr2: 0.05, radius: 0.05 });
  return {
    spec: regime.model,
    loss: regime.loss,
    optimizer: regime.optimizer,
    params: initParams(regime.model, regime.init, createRng(3)),
    data: sphereData(24, 5, 7),
    ...(batchSize ? { batchSize, seed: 11 } : {}),
  };
}

const toOrt = (t: ExportedTensor): Tensor => new engine.ort.Tensor(t.type, t.data, t.dims);

/** Runs the exported models by hand: `calls` entries are the steps per call (K for the loop model, 1 for the step model). */
async function runByHand(ex: ExportedStepModel, calls: number[], n: number, seed: number) {
  const open = (m: Uint8Array) => engine.ort.InferenceSession.create(m);
  const step = await open(ex.models.step);
  const loop = ex.models.loop ? await open(ex.models.loop) : undefined;
  const lossModel = await open(ex.models.loss);
  const feeds: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(ex.feeds)) feeds[name] = toOrt(t);
  const losses: number[] = [];
  let taken = 0;
  for (const count of calls) {
    const session: InferenceSession = count === 1 ? step : loop!;
    const extra: Record<string, Tensor> = {};
    if (ex.batchSize !== undefined) {
      const idx = new BigInt64Array(count * ex.batchSize);
      for (let c = 0; c < count; c++)
        batchIndices(n, ex.batchSize, seed, taken + c).forEach((r, i) => {
          idx[c * ex.batchSize! + i] = BigInt(r);
        });
      extra.idx = new engine.ort.Tensor('int64', idx, count === 1 ? [ex.batchSize] : [count, ex.batchSize]);
    }
    const out = await session.run({ ...feeds, ...extra });
    losses.push(...(count === 1 ? [out.loss!] : [out.losses!]).flatMap((t) => [...(t.data as Float32Array)]));
    for (const [o, i] of Object.entries(ex.stateMap)) feeds[i] = out[o]!;
    taken += count;
  }
  const final = await lossModel.run({ X: feeds.X!, Y: feeds.Y!, 'p.W': feeds['p.W']!, 'p.v': feeds['p.v']! });
  return { feeds, losses, finalLoss: (final.loss!.data as Float32Array)[0]! };
}

describe('exportStepModel', () => {
  it('names the feeds and the carried state as documented', () => {
    const ex = exportStepModel(config(), { stepsPerCall: 4 });
    expect(Object.keys(ex.feeds).sort()).toEqual([
      'X',
      'Y',
      'a.W',
      'p.W',
      'p.v',
      's.momentum.W',
      's.momentum.v',
      'step',
    ]);
    expect(ex.stateMap).toEqual({
      'P.W': 'p.W',
      'P.v': 'p.v',
      'S.momentum.W': 's.momentum.W',
      'S.momentum.v': 's.momentum.v',
      step_out: 'step',
    });
    expect(ex.feeds.X!.dims).toEqual([24, 5]);
    expect(ex.models.loop).toBeInstanceOf(Uint8Array);
    expect(exportStepModel(config()).models.loop).toBeUndefined();
    expect(() => exportStepModel(config(), { stepsPerCall: 0 })).toThrow(/stepsPerCall/);
  });

  for (const batchSize of [undefined, 8]) {
    it(`run by hand in onnxruntime-node, it reproduces createOnnxTrainer's iterates exactly (${batchSize ? 'mini-batch' : 'full batch'})`, async () => {
      const cfg = config(batchSize);
      const trainer = await createOnnxTrainer(engine, cfg, { stepsPerCall: 4 });
      const perStep: number[] = [];
      const single = await createOnnxTrainer(engine, cfg);
      for (let i = 0; i < 10; i++) {
        perStep.push((await single.evaluate()).loss);
        await single.run(1);
      }
      const trainerLoss = await trainer.run(10); // two 4-step Loop calls, then two single steps
      const state = await trainer.state();
      const ex = exportStepModel(cfg, { stepsPerCall: 4 });
      const hand = await runByHand(ex, [4, 4, 1, 1], 24, 11);
      expect(hand.feeds['p.W']!.data).toEqual(state.params.W!.data);
      expect(hand.feeds['p.v']!.data).toEqual(state.params.v!.data);
      expect(hand.feeds['s.momentum.W']!.data).toEqual(state.slots['momentum.W']!.data);
      expect(hand.feeds.step!.data).toEqual(BigInt64Array.from([10n]));
      expect(hand.finalLoss).toBe(trainerLoss);
      // Full batch: the per-step losses (at each step's input iterate) match a one-step-per-call
      // trainer's (with mini-batches they are batch losses).
      if (!batchSize) for (let i = 0; i < 10; i++) expect(hand.losses[i]).toBeCloseTo(perStep[i]!, 5);
      // The ball of Alg. 2 was active: ‖W − W0‖_F reached the radius.
      const W0 = cfg.params.W!.data;
      const W = hand.feeds['p.W']!.data as Float32Array;
      expect(Math.hypot(...W.map((w, i) => w - W0[i]!))).toBeCloseTo(0.05, 5);
      await trainer.dispose();
      await single.dispose();
    });
  }
});

describe('onnx trainer device reporting', () => {
  it('reports wasm (onnxruntime-web) as a CPU device and webgpu as a GPU', async () => {
    const cfg = config();
    const wasm = await createOnnxTrainer({ ...engine, device: 'wasm' }, cfg);
    expect(wasm.info).toEqual({ engine: 'onnx', backend: 'wasm', device: 'cpu' });
    const gpu = await createOnnxTrainer({ ...engine, device: 'webgpu' }, cfg);
    expect(gpu.info.device).toBe('gpu');
    await wasm.dispose();
    await gpu.dispose();
  });
});
