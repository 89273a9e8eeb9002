import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { createRng } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  type TrainerConfig,
  createOnnxGridTrainer,
  createOnnxTrainer,
  createTfjsTrainer,
  train,
  zhang2021,
} from '../src/index.js';
import { sphereData, tf, tfjsFactory } from './helpers.js';

// Issue #17: NaN/∞ in the training data reached the step and failed as "gradient of W has a
// non-finite entry"; it must fail at the door, naming the array and the first bad index.

const regime = zhang2021({ inputDim: 20, width: 8, radius: 1, lr1: 0.01, lr2: 0.01, steps: 5 });

function bad(which: 'X' | 'Y', index: number, value: number) {
  const data = sphereData(10, 20, 2);
  data[which][index] = value;
  return data;
}

describe('non-finite training data fails at the door, naming the array and index', () => {
  it('train: X with NaN at [37] = row 1, column 17; Y with ∞ at [4]', async () => {
    await expect(train(regime, bad('X', 37, Number.NaN), { createTrainer: tfjsFactory })).rejects.toThrow(
      'train: data.X[37] (row 1, column 17) is NaN; training data must be finite',
    );
    await expect(
      train(regime, bad('Y', 4, Number.POSITIVE_INFINITY), { createTrainer: tfjsFactory }),
    ).rejects.toThrow('train: data.Y[4] (row 4, column 0) is Infinity');
    // the first bad index, when there are several
    const two = bad('X', 90, Number.NaN);
    two.X[55] = Number.NEGATIVE_INFINITY;
    await expect(train(regime, two, { createTrainer: tfjsFactory })).rejects.toThrow(
      'data.X[55] (row 2, column 15) is -Infinity',
    );
  });

  it('train: wrong data sizes name the array', async () => {
    const d = sphereData(10, 20, 2);
    await expect(train(regime, { ...d, Y: d.Y.subarray(1) }, { createTrainer: tfjsFactory })).rejects.toThrow(
      /train: data\.Y must be a Float32Array of n·1 = 10 entries, got 9/,
    );
  });

  it('every trainer config check rejects it too (tfjs, onnx, onnx grid)', async () => {
    const engine = await startOnnx({ device: 'cpu', threads: 1 });
    const params = initParams(regime.model, regime.init, createRng(0));
    const config: TrainerConfig = {
      spec: regime.model,
      loss: regime.loss,
      optimizer: regime.optimizer,
      params,
      data: bad('X', 37, Number.NaN),
    };
    await expect(createTfjsTrainer(tf, config)).rejects.toThrow(
      'trainer: data.X[37] (row 1, column 17) is NaN',
    );
    await expect(createOnnxTrainer(engine, config)).rejects.toThrow(
      'createOnnxTrainer: data.X[37] (row 1, column 17) is NaN',
    );
    await expect(
      createOnnxGridTrainer(engine, [{ ...config, data: bad('Y', 3, Number.NaN) }]),
    ).rejects.toThrow('createOnnxGridTrainer: configs[0]: data.Y[3] (row 3, column 0) is NaN');
  });
});
