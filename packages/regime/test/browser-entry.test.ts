import { describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import * as index from '../src/index.js';
import { sphereData, tfjsFactory } from './helpers.js';

describe('the browser entry', () => {
  it('is the index minus the checkpoint files, with its own train', () => {
    const missing = Object.keys(index).filter((k) => !(k in browser));
    expect(missing.sort()).toEqual(['loadTrainCheckpoint', 'saveTrainCheckpoint']);
    expect(browser.train).not.toBe(index.train);
  });

  it('train refuses checkpointPath and resumeFrom (no file I/O) and trains without them', async () => {
    const regime = browser.zhang2021({ inputDim: 4, width: 6, lr1: 0.01, lr2: 0.01, radius: 1, steps: 5 });
    const data = sphereData(10, 4);
    for (const o of [{ checkpointPath: 'ck' }, { resumeFrom: 'ck' }])
      await expect(browser.train(regime, data, { createTrainer: tfjsFactory, ...o })).rejects.toThrow(
        /need file I\/O, which the browser build/,
      );
    const res = await browser.train(regime, data, { createTrainer: tfjsFactory, evalEvery: 5 });
    expect(res.status).toBe('budget');
    expect(res.steps).toBe(5);
  });
});
