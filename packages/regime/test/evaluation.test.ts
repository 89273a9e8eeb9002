import { startOnnx } from '@narrownet/engine';
import {
  type ModelSpec,
  classificationMetrics,
  createRng,
  forward64,
  labelsFromTargets,
  loss64,
} from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  type RegimeSpec,
  type TrainData,
  type TrainerConfig,
  createOnnxTrainer,
  evaluateSplit,
  train,
} from '../src/index.js';
import { tfjsFactory } from './helpers.js';

const model: ModelSpec = { kind: 'mlp', layers: [5, 12, 8, 3], activation: 'relu', bias: true };
const regime: RegimeSpec = {
  name: 'mlp-ce',
  description: 'a small ReLU MLP trained with softmax cross-entropy',
  model,
  init: { kind: 'lecun' },
  loss: 'softmaxCrossEntropy',
  optimizer: {
    groups: [
      { params: ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'], lr: 0.1, update: { kind: 'sgd', momentum: 0.9 } },
    ],
  },
  stopping: { maxSteps: 1000 },
};

/** Three Gaussian blobs in R^5 with one-hot targets. */
function blobs(n: number, seed: number): TrainData {
  const rng = createRng(seed);
  const X = new Float32Array(n * 5);
  const Y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    for (let j = 0; j < 5; j++) X[i * 5 + j] = rng.normal() + (j === c ? 2 : 0);
    Y[i * 3 + c] = 1;
  }
  return { X, Y, n };
}
const data = blobs(40, 1);
const test = blobs(31, 2);

/** What evaluateSplit must give, from the float64 forward pass of the trained parameters. */
function expected(params: Record<string, { data: Float32Array }>, split: TrainData) {
  const arrays = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, t.data]));
  const pred = forward64(model, arrays, split.X, split.n);
  const m = classificationMetrics(pred, labelsFromTargets(split.Y, 3), 3);
  return { loss: loss64('softmaxCrossEntropy', pred, split.Y, 3).value, m };
}

const engines = {
  tfjs: tfjsFactory,
  onnx: async (c: TrainerConfig) => createOnnxTrainer(await startOnnx(), c),
};

describe('evaluation at chosen epochs', () => {
  for (const [name, createTrainer] of Object.entries(engines)) {
    it(`${name}: train and test loss, accuracy and per-class counts agree with forward64 + classificationMetrics`, async () => {
      // 40 samples in batches of 6: 6 steps per epoch; chunks of 7 rows exercise the chunking
      const opts = { createTrainer, seed: 4, batchSize: 6, evalEvery: 6 };
      const seen: number[] = [];
      const run = await train(regime, data, {
        ...opts,
        epochs: 5,
        evaluation: { test, atEpochs: [0, 2], chunkRows: 7, onEvaluation: (e) => seen.push(e.epoch) },
      });
      expect(run.steps).toBe(30);
      expect(run.evaluations.map((e) => e.epoch)).toEqual([0, 2, 5]);
      expect(seen).toEqual([0, 2, 5]);
      expect(run.evaluations.map((e) => e.step)).toEqual([0, 12, 30]);
      const last = run.evaluations.at(-1)!;
      for (const [split, got] of [
        [data, last.train],
        [test, last.test!],
      ] as const) {
        const want = expected(run.params, split);
        expect(got.n).toBe(split.n);
        expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, want.loss));
        expect(got.correct).toBe(want.m.correct);
        expect(got.accuracy).toBe(want.m.accuracy);
        expect(got.perClassCorrect).toEqual(Array.from(want.m.perClassCorrect));
        expect(got.perClassTotal).toEqual(Array.from(want.m.perClassTotal));
      }
      // training moved the model: the loss at epoch 5 is below the loss at init
      expect(last.train.loss).toBeLessThan(run.evaluations[0]!.train.loss);
      // the epoch-2 evaluation is the final one of a 2-epoch run with the same seed
      const short = await train(regime, data, { ...opts, epochs: 2, evaluation: { test } });
      expect(short.evaluations).toHaveLength(1);
      expect(short.evaluations[0]!.test).toEqual(run.evaluations[1]!.test);
      const mid = expected(short.params, test);
      expect(run.evaluations[1]!.test!.correct).toBe(mid.m.correct);
    });
  }

  it('evaluateSplit reads the trainer parameters as they move (no stale copy)', async () => {
    const engine = await startOnnx();
    const config: TrainerConfig = {
      spec: model,
      loss: 'softmaxCrossEntropy',
      optimizer: regime.optimizer,
      params: (await train(regime, data, { createTrainer: tfjsFactory, steps: 0 })).params,
      data,
    };
    const trainer = await createOnnxTrainer(engine, config);
    const before = await evaluateSplit(trainer, 'softmaxCrossEntropy', test, 3, 5);
    await trainer.run(20);
    const after = await evaluateSplit(trainer, 'softmaxCrossEntropy', test, 3, 5);
    expect(after.loss).not.toBe(before.loss);
    const want = expected((await trainer.state()).params, test);
    expect(Math.abs(after.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, want.loss));
    await trainer.dispose();
  });

  it('stationarity: false records the same losses without the gradient pass', async () => {
    const opts = { createTrainer: tfjsFactory, seed: 4, batchSize: 6, evalEvery: 6, epochs: 2 };
    const full = await train(regime, data, opts);
    const lean = await train(regime, data, { ...opts, stationarity: false });
    expect(lean.metrics.map((m) => m.loss)).toEqual(full.metrics.map((m) => m.loss));
    expect(lean.metrics.every((m) => Number.isNaN(m.kktResidual) && m.groups.length === 0)).toBe(true);
    expect(full.metrics.every((m) => Number.isFinite(m.kktResidual))).toBe(true);
  });

  it('bad options are rejected naming the field', async () => {
    const base = { createTrainer: tfjsFactory };
    await expect(train(regime, data, { ...base, steps: 3, epochs: 1 })).rejects.toThrow(/steps or epochs/);
    await expect(train(regime, data, { ...base, epochs: 1, evaluation: { everyEpochs: 0 } })).rejects.toThrow(
      /evaluation\.everyEpochs/,
    );
    await expect(
      train(regime, data, { ...base, epochs: 1, evaluation: { atEpochs: [1.5] } }),
    ).rejects.toThrow(/evaluation\.atEpochs\[0\]/);
    const badTest = { X: new Float32Array(9), Y: new Float32Array(6), n: 2 };
    await expect(train(regime, data, { ...base, epochs: 1, evaluation: { test: badTest } })).rejects.toThrow(
      /evaluation\.test\.X/,
    );
    await expect(train(regime, data, { ...base, epochs: 1, batchSize: 41 })).rejects.toThrow(/batchSize/);
  });
});
