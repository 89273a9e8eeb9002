import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jacobianLambdaMin } from '@narrownet/landscape';
import { afterAll, describe, expect, it } from 'vitest';
import { constrainedRegular, regular, train, zhang2021 } from '../src/index.js';
import { sphereData, tfjsFactory } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'regime-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = sphereData(30, 6, 5);

describe('train', () => {
  it('resume from a checkpoint continues exactly: k + resume + k = 2k straight', async () => {
    const r = zhang2021({ inputDim: 6, width: 8, radius: 0.3, lr1: 0.05, lr2: 0.05, steps: 20 });
    const straight = await train(r, data, { createTrainer: tfjsFactory, evalEvery: 5, seed: 3 });
    const ck = join(dir, 'half');
    const first = await train(r, data, {
      createTrainer: tfjsFactory,
      evalEvery: 5,
      seed: 3,
      steps: 10,
      checkpointPath: ck,
      checkpointEvery: 5,
    });
    expect(first.steps).toBe(10);
    const second = await train(r, data, { createTrainer: tfjsFactory, evalEvery: 5, resumeFrom: ck });
    expect(second.steps).toBe(20);
    expect(Array.from(second.params.W!.data)).toEqual(Array.from(straight.params.W!.data));
    expect(Array.from(second.params.v!.data)).toEqual(Array.from(straight.params.v!.data));
    expect(second.finalLoss).toBe(straight.finalLoss);
    // and the state really moved between step 10 and 20
    expect(Array.from(first.params.W!.data)).not.toEqual(Array.from(straight.params.W!.data));
  });

  it('a non-finite loss ends the run as diverged at the exact first bad step', async () => {
    const r = regular({ inputDim: 6, width: 8, lr1: 5, lr2: 5, steps: 200 });
    const coarse = await train(r, data, { createTrainer: tfjsFactory, evalEvery: 50 });
    const fine = await train(r, data, { createTrainer: tfjsFactory, evalEvery: 1 });
    expect(coarse.status).toBe('diverged');
    expect(fine.status).toBe('diverged');
    expect(coarse.divergedAt).toBe(fine.divergedAt);
    expect(coarse.steps).toBe(coarse.divergedAt);
    expect(Number.isFinite(coarse.finalLoss)).toBe(false);
    expect(fine.metrics.at(-1)!.step).toBe(fine.divergedAt! - 1);
    expect(Number.isFinite(fine.metrics.at(-1)!.loss)).toBe(true);
  });

  it('stops as converged at the loss tolerance, records metrics and λ_min', async () => {
    const r = constrainedRegular({ inputDim: 6, width: 8, radius: 2, lr1: 0.02, lr2: 0.02, steps: 400 });
    const all = await train(r, data, { createTrainer: tfjsFactory, evalEvery: 10 });
    const tol = all.metrics[3]!.loss;
    const res = await train(r, data, {
      createTrainer: tfjsFactory,
      evalEvery: 10,
      lossTolerance: tol,
      lambdaMinAtEnd: true,
      lambdaMinEvery: 20,
    });
    expect(res.status).toBe('converged');
    expect(res.steps).toBe(30);
    expect(res.metrics.map((m) => m.step)).toEqual([0, 10, 20, 30]);
    expect(res.metrics[2]!.lambdaMin).toBeGreaterThan(0);
    expect(res.metrics[1]!.lambdaMin).toBeUndefined();
    expect(res.lambdaMin).toBeCloseTo(jacobianLambdaMin(r.model, res.params, data.X, data.n), 10);
    expect(res.metrics[1]!.kktResidual).toBeGreaterThan(0);
    expect(all.status).toBe('budget');
    expect(all.steps).toBe(400);
  });

  it('onStep sees every chunk; an aborted signal stops the run', async () => {
    const r = zhang2021({ inputDim: 6, width: 8, radius: 1, lr1: 0.01, lr2: 0.01, steps: 50 });
    const seen: number[] = [];
    const ac = new AbortController();
    const res = await train(r, data, {
      createTrainer: tfjsFactory,
      evalEvery: 10,
      onStep: (s) => {
        seen.push(s);
        if (s === 20) ac.abort();
      },
      signal: ac.signal,
    });
    expect(seen).toEqual([10, 20]);
    expect(res.status).toBe('aborted');
  });

  it('creates a missing checkpoint folder, and an unwritable one fails before the first step (issue #17)', async () => {
    const r = zhang2021({ inputDim: 6, width: 8, radius: 1, lr1: 0.01, lr2: 0.01, steps: 10 });
    const ck = join(dir, 'new', 'nested', 'zhang');
    const res = await train(r, data, {
      createTrainer: tfjsFactory,
      evalEvery: 5,
      checkpointPath: ck,
      checkpointEvery: 5,
    });
    expect(res.status).toBe('budget');
    expect(readdirSync(join(dir, 'new', 'nested')).sort()).toEqual(['zhang.json', 'zhang.safetensors']);
    writeFileSync(join(dir, 'a-file'), 'x');
    const steps: number[] = [];
    await expect(
      train(r, data, {
        createTrainer: tfjsFactory,
        evalEvery: 5,
        checkpointPath: join(dir, 'a-file', 'zhang'),
        onStep: (s) => steps.push(s),
      }),
    ).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(steps).toEqual([]);
  });

  it('rejects bad options', async () => {
    const r = zhang2021({ inputDim: 6, width: 8, radius: 1, lr1: 0.01, lr2: 0.01 });
    await expect(train(r, data, { createTrainer: tfjsFactory, evalEvery: 0 })).rejects.toThrow(/evalEvery/);
    await expect(train(r, data, { createTrainer: tfjsFactory, checkpointEvery: 5 })).rejects.toThrow(
      /checkpointPath/,
    );
  });
});
