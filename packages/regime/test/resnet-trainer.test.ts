import { join } from 'node:path';
import { type ParamTree, convForward64, convLossAndGrad64 } from '@narrownet/models';
import { createHostOptimizer } from '@narrownet/optim';
import { describe, expect, it } from 'vitest';
import {
  type TrainerConfig,
  batchIndices,
  createOnnxResNetTrainer,
  resnetOptimizer,
  train,
} from '../src/index.js';
import { relError } from './rel-error.js';
import {
  config,
  d,
  data,
  init,
  k,
  n,
  optimizer,
  spec,
  engineAndTempDir,
  regimeOf,
} from './resnet-fixture.js';

const env = engineAndTempDir('resnet-trainer-');

const arrays = (t: ParamTree) => Object.fromEntries(Object.entries(t).map(([name, v]) => [name, v.data]));
const copy = (t: ParamTree): ParamTree =>
  Object.fromEntries(
    Object.entries(t).map(([name, v]) => [name, { shape: [...v.shape], data: v.data.slice() }]),
  );

describe('createOnnxResNetTrainer', () => {
  it('five steps equal float64 reference SGD (convLossAndGrad64 + host PGD) on the same batches', async () => {
    const trainer = await createOnnxResNetTrainer(env.engine, config());
    const losses: number[] = [];
    for (let s = 0; s < 5; s++) losses.push(await trainer.run(1));
    const got = await trainer.state();
    await trainer.dispose();

    // reference: batches of batchIndices(n, 4, seed 7, t), train-mode gradients in float64, the
    // host optimizer (PyTorch SGD semantics, cosine per epoch, ball projection of the final stage)
    const params = copy(init.params);
    let buffers: Record<string, Float64Array> = Object.fromEntries(
      Object.entries(init.buffers).map(([name, v]) => [name, Float64Array.from(v.data)]),
    );
    const host = createHostOptimizer(optimizer, params);
    for (let t = 0; t < 5; t++) {
      const rows = batchIndices(n, 4, 7, t);
      const Xb = new Float64Array(rows.length * d);
      const Yb = new Float64Array(rows.length * k);
      rows.forEach((r, i) => {
        Xb.set(data.X.subarray(r * d, (r + 1) * d), i * d);
        Yb.set(data.Y.subarray(r * k, (r + 1) * k), i * k);
      });
      const res = convLossAndGrad64(spec, arrays(params), buffers, Xb, Yb, 4, 'softmaxCrossEntropy', {
        train: true,
      });
      expect(Math.abs(losses[t]! - res.loss), `loss of step ${t}`).toBeLessThan(1e-4);
      buffers = res.buffers;
      host.step(
        params,
        Object.fromEntries(
          Object.entries(res.grads).map(([name, g]) => [
            name,
            { shape: [...params[name]!.shape], data: Float32Array.from(g) },
          ]),
        ),
      );
    }
    expect(got.step).toBe(5);
    // Batch norm over batches of 4 (1×1 maps in the last stage) amplifies float32 rounding: after
    // five steps entries differ by up to ~2e-5 (1.2e-4 relative); a wrong schedule, projection or
    // gradient is off by 1e-2 and more.
    for (const [name, p] of Object.entries(params))
      expect(relError(got.params[name]!.data, p.data, 1e-2), name).toBeLessThan(5e-4);
    for (const [name, b] of Object.entries(buffers))
      expect(relError(got.buffers![name]!.data, b, 1e-2), name).toBeLessThan(5e-4);
    // the steps moved the parameters (the comparison is not trivially the initial point)
    expect(
      relError(got.params['layer1.0.conv1.weight']!.data, init.params['layer1.0.conv1.weight']!.data),
    ).toBeGreaterThan(1e-3);
  });

  it('predict is the eval-mode forward (running statistics) at the current iterate', async () => {
    const trainer = await createOnnxResNetTrainer(env.engine, config());
    await trainer.run(3);
    const s = await trainer.state();
    const pred = await trainer.predict(data.X, n);
    const want = convForward64(spec, arrays(s.params), arrays(s.buffers!), data.X, n, {
      train: false,
    }).logits;
    expect(relError(pred, want)).toBeLessThan(1e-4);
    // run(0): the training-set loss in eval mode
    const l0 = await trainer.run(0);
    expect(Number.isFinite(l0)).toBe(true);
    await expect(trainer.evaluate()).rejects.toThrow(/stationarity: false/);
    await trainer.dispose();
  });

  it('setState to a mid-run state continues bit-exactly (batches, augmentation, buffers)', async () => {
    const a = await createOnnxResNetTrainer(env.engine, config(), { augment: true });
    await a.run(4);
    const mid = await a.state();
    await a.run(3);
    const end = await a.state();
    await a.dispose();
    const b = await createOnnxResNetTrainer(env.engine, config(), { augment: true });
    await b.setState(mid);
    await b.run(3);
    const resumed = await b.state();
    await b.dispose();
    expect(resumed.step).toBe(7);
    expect(resumed.params).toEqual(end.params);
    expect(resumed.buffers).toEqual(end.buffers);
    expect(resumed.slots).toEqual(end.slots);
  });

  it('augmentation is a function of the seed: same seed same iterates, another seed other ones', async () => {
    const run = async (augment: boolean, seed: number) => {
      const t = await createOnnxResNetTrainer(env.engine, config({ seed }), { augment });
      await t.run(3);
      const s = await t.state();
      await t.dispose();
      return s.params['layer1.0.conv1.weight']!.data;
    };
    const a1 = await run(true, 7);
    expect(await run(true, 7)).toEqual(a1);
    // the augmented batches differ from the plain ones, and depend on the seed
    const plain = await run(false, 7);
    expect(relError(a1, plain)).toBeGreaterThan(1e-4);
    const seed9 = await run(true, 9);
    const plain9 = await run(false, 9);
    expect(relError(seed9, plain9)).toBeGreaterThan(1e-4);
  });

  it('a poisoned weight ends the run as diverged through train(), never reset', async () => {
    const poisoned = copy(init.params);
    poisoned['layer2.0.conv1.weight']!.data[0] = Number.POSITIVE_INFINITY;
    const regime = regimeOf({ stopping: { maxSteps: 6 } });
    const res = await train(regime, data, {
      createTrainer: (c) => createOnnxResNetTrainer(env.engine, c),
      params: poisoned,
      batchSize: 4,
      stationarity: false,
    });
    expect(res.status).toBe('diverged');
    expect(res.divergedAt).toBe(0);
    expect(Number.isFinite(res.finalLoss)).toBe(false);
    expect(res.params['layer2.0.conv1.weight']!.data[0]).toBe(Number.POSITIVE_INFINITY);
  });

  it('train(): a checkpointed ResNet run resumed mid-way equals the uninterrupted run bit-exactly', async () => {
    const regime = regimeOf({ stopping: { maxSteps: 9 } });
    const factory = (c: TrainerConfig) => createOnnxResNetTrainer(env.engine, c, { augment: true });
    const common = { createTrainer: factory, batchSize: 4, stationarity: false, seed: 5, evalEvery: 3 };
    const full = await train(regime, data, common);
    const path = join(env.dir, 'ck');
    const first = await train(regime, data, { ...common, steps: 6, checkpointPath: path });
    expect(first.steps).toBe(6);
    const resumed = await train(regime, data, { ...common, resumeFrom: path });
    expect(resumed.steps).toBe(9);
    expect(resumed.params).toEqual(full.params);
    expect(resumed.finalLoss).toBe(full.finalLoss);
    // without the running statistics in the checkpoint the resumed eval-mode loss would differ
    expect(full.status).toBe('budget');
  });

  it('train() rejects a ResNet without stationarity: false, and the MLP trainers reject a ResNet', async () => {
    const regime = regimeOf({
      init: { kind: 'lecun' },
      optimizer: resnetOptimizer(spec),
      stopping: { maxSteps: 1 },
    });
    await expect(
      train(regime, data, { createTrainer: (c) => createOnnxResNetTrainer(env.engine, c) }),
    ).rejects.toThrow(/options.stationarity must be false for a ResNet/);
    const { createOnnxTrainer } = await import('../src/index.js');
    await expect(createOnnxTrainer(env.engine, config())).rejects.toThrow(
      /config.spec .* is a ResNet \(kind 'resnet'\)/,
    );
  });

  it('frozen trunk: rejects augmentation, trains only the final stage and head on cached eval-mode features', async () => {
    await expect(
      createOnnxResNetTrainer(env.engine, config(), { frozenTrunk: true, augment: true }),
    ).rejects.toThrow(/frozenTrunk .* only valid without augmentation; options.augment must be false/);
    const t = await createOnnxResNetTrainer(env.engine, config(), { frozenTrunk: true });
    const l = await t.run(3);
    expect(Number.isFinite(l)).toBe(true);
    const s = await t.state();
    expect(s.step).toBe(3);
    // the trunk is untouched, the final stage moved
    expect(s.params['layer1.0.conv1.weight']!.data).toEqual(init.params['layer1.0.conv1.weight']!.data);
    expect(s.buffers!['bn1.running_mean']!.data).toEqual(init.buffers['bn1.running_mean']!.data);
    expect(
      relError(s.params['layer4.0.conv1.weight']!.data, init.params['layer4.0.conv1.weight']!.data),
    ).toBeGreaterThan(1e-4);
    // predict = the full net's eval-mode forward at the state reached
    const pred = await t.predict(data.X, n);
    const want = convForward64(spec, arrays(s.params), arrays(s.buffers!), data.X, n, {
      train: false,
    }).logits;
    expect(relError(pred, want)).toBeLessThan(1e-4);
    await t.dispose();
  });
});
