import '@tensorflow/tfjs-backend-cpu';
import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import {
  type LossName,
  type ModelSpec,
  type ParamTree,
  cloneParams,
  createRng,
  inputDim,
  lossAndGrad64,
  outputDim,
  paramShapes,
} from '@narrownet/models';
import { type OptimizerSpec, createHostOptimizer } from '@narrownet/optim';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TrainerConfig, createOnnxTrainer, createTfjsTrainer } from '../src/index.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;

function data(spec: ModelSpec, n: number, seed: number, classes = false) {
  const rng = createRng(seed);
  const d = inputDim(spec);
  const k = outputDim(spec);
  const X = new Float32Array(n * d);
  const Y = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const x = rng.normal();
      X[i * d + j] = x;
      s += x * x;
    }
    let t = 0;
    for (let j = 0; j < d; j++) {
      X[i * d + j]! /= Math.sqrt(s);
      t += X[i * d + j]!;
    }
    if (classes) Y[i * k + rng.int(k)] = 1;
    else for (let c = 0; c < k; c++) Y[i * k + c] = c === 0 ? t * t : Math.sin(t + c);
  }
  return { X, Y, n };
}

/** Float64 gradients (lossAndGrad64) + the host optimizer: the independent reference iterates. */
function reference(config: TrainerConfig, steps: number): { params: ParamTree; loss: number } {
  const params = cloneParams(config.params);
  const opt = createHostOptimizer(config.optimizer, params, config.anchors);
  const { X, Y, n } = config.data;
  const arrays = () => Object.fromEntries(Object.entries(params).map(([k, t]) => [k, t.data]));
  for (let t = 0; t < steps; t++) {
    const { grads } = lossAndGrad64(config.spec, arrays(), X, Y, n, config.loss);
    const g32: ParamTree = {};
    for (const [k, v] of Object.entries(grads))
      g32[k] = { shape: [...params[k]!.shape], data: Float32Array.from(v) };
    opt.step(params, g32);
  }
  return { params, loss: lossAndGrad64(config.spec, arrays(), X, Y, n, config.loss).loss };
}

function relErr(got: ParamTree, want: ParamTree): number {
  let err = 0;
  let scale = 0;
  for (const [k, t] of Object.entries(want)) {
    for (let i = 0; i < t.data.length; i++) {
      err = Math.max(err, Math.abs(got[k]!.data[i]! - t.data[i]!));
      scale = Math.max(scale, Math.abs(t.data[i]!));
    }
  }
  return err / Math.max(scale, 1e-12);
}

const shallow: ModelSpec = { kind: 'shallow', inputDim: 6, width: 10, activation: 'tanh' };
const paired: ModelSpec = { kind: 'paired', inputDim: 6, width: 12, activation: 'tanh' };
const mlp: ModelSpec = { kind: 'mlp', layers: [6, 8, 5, 1], activation: 'gelu', bias: true, scaled: true };

function cases(): { label: string; config: TrainerConfig }[] {
  const ball = (radius: number): OptimizerSpec['groups'][number]['projection'] => ({
    kind: 'frobeniusBall',
    radius,
  });
  const mk = (
    spec: ModelSpec,
    init: Parameters<typeof initParams>[1],
    optimizer: OptimizerSpec,
    seed: number,
  ) => ({
    spec,
    loss: 'halfSse' as LossName,
    optimizer,
    params: initParams(spec, init, createRng(seed)),
    data: data(spec, 24, seed + 1),
  });
  return [
    {
      label: 'paired, mirrored init, momentum + ball on W, zetaKappa κ=1 on v',
      config: mk(
        paired,
        { kind: 'mirroredLecun', absOuter: true },
        {
          groups: [
            { params: ['W'], lr: 0.004, update: { kind: 'sgd', momentum: 0.9 }, projection: ball(0.3) },
            {
              params: ['v'],
              lr: 0.004,
              update: { kind: 'sgd', momentum: 0.9 },
              projection: { kind: 'zetaKappa', zeta: 0.01, kappa: 1, method: 'exact' },
            },
          ],
        },
        3,
      ),
    },
    {
      label: 'shallow, lecun, plain sgd, no projection',
      config: mk(
        shallow,
        { kind: 'lecun' },
        { groups: [{ params: ['W', 'v'], lr: 0.01, update: { kind: 'sgd' } }] },
        5,
      ),
    },
    {
      label: 'mlp with bias and 1/√m scale, momentum + joint ball',
      config: mk(
        mlp,
        { kind: 'lecun' },
        {
          groups: [
            {
              params: ['W1', 'b1', 'W2', 'b2'],
              lr: 0.01,
              update: { kind: 'sgd', momentum: 0.9 },
              projection: ball(0.5),
            },
            { params: ['W3', 'b3'], lr: 0.01, update: { kind: 'sgd', momentum: 0.9 } },
          ],
        },
        7,
      ),
    },
    {
      label: 'paired, adam + cosine on W, nesterov + paper heuristic on v',
      config: mk(
        paired,
        { kind: 'mirroredLecun', absOuter: true },
        {
          groups: [
            {
              params: ['W'],
              lr: 0.01,
              update: { kind: 'adam' },
              schedule: { kind: 'cosine', tMax: 150, etaMin: 0.001 },
              projection: ball(0.4),
            },
            {
              params: ['v'],
              lr: 0.02,
              update: { kind: 'sgd', momentum: 0.9, nesterov: true },
              projection: { kind: 'zetaKappa', zeta: 0.05, kappa: 2, method: 'paperHeuristic' },
            },
          ],
        },
        9,
      ),
    },
  ];
}

describe('createOnnxTrainer', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
    await tf.setBackend('cpu');
  });

  for (const { label, config } of cases()) {
    it(`follows the float64 reference iterates over 200 steps: ${label}`, async () => {
      const trainer = await createOnnxTrainer(engine, config);
      const loss = await trainer.run(200);
      const want = reference(config, 200);
      const st = await trainer.state();
      expect(st.step).toBe(200);
      expect(relErr(st.params, want.params)).toBeLessThan(2e-4);
      expect(Math.abs(loss - want.loss) / Math.max(want.loss, 1e-3)).toBeLessThan(1e-3);
      // The run really trained: the loss moved.
      const start = reference(config, 0).loss;
      expect(Math.abs(start - want.loss) / start).toBeGreaterThan(0.01);
      const ev = await trainer.evaluate();
      expect(Math.abs(ev.loss - want.loss) / Math.max(want.loss, 1e-3)).toBeLessThan(1e-3);
      await trainer.dispose();
    });
  }

  it('gives the tfjs reference trainer iterates over 300 steps (paired Alg. 2 and mlp)', async () => {
    for (const { config } of cases().slice(0, 3)) {
      const a = await createOnnxTrainer(engine, config);
      const b = await createTfjsTrainer(tf, config);
      for (let r = 0; r < 3; r++) {
        const la = await a.run(100);
        const lb = await b.run(100);
        expect(Math.abs(la - lb) / Math.max(lb, 1e-3)).toBeLessThan(1e-3);
      }
      const sa = await a.state();
      const sb = await b.state();
      expect(relErr(sa.params, sb.params)).toBeLessThan(2e-4);
      expect(relErr(sa.slots, sb.slots)).toBeLessThan(2e-3);
      expect(Object.keys(sa.slots).sort()).toEqual(Object.keys(sb.slots).sort());
      await a.dispose();
      await b.dispose();
    }
  });

  it('mini-batches follow the tfjs trainer batch order', async () => {
    const config = { ...cases()[0]!.config, batchSize: 5, seed: 11 };
    for (const K of [1, 4]) {
      const a = await createOnnxTrainer(engine, config, { stepsPerCall: K });
      const b = await createTfjsTrainer(tf, config);
      const la = await a.run(37);
      const lb = await b.run(37);
      expect(Math.abs(la - lb) / lb).toBeLessThan(1e-3);
      expect(relErr((await a.state()).params, (await b.state()).params)).toBeLessThan(2e-4);
      await a.dispose();
      await b.dispose();
    }
  });

  it('fusing K steps per call (ONNX Loop) gives the iterates of single steps', async () => {
    for (const { config } of cases()) {
      const one = await createOnnxTrainer(engine, config);
      const fused = await createOnnxTrainer(engine, config, { stepsPerCall: 8 });
      const l1 = await one.run(43);
      const l2 = await fused.run(43);
      expect(Math.abs(l1 - l2) / l1).toBeLessThan(1e-5);
      const [s1, s2] = [await one.state(), await fused.state()];
      expect(s2.step).toBe(43);
      expect(relErr(s2.params, s1.params)).toBeLessThan(1e-5);
      await one.dispose();
      await fused.dispose();
    }
  });

  it('preallocated (ping-pong) outputs give bit-identical iterates, also across setState', async () => {
    for (const { config } of cases()) {
      const plain = await createOnnxTrainer(engine, config, { stepsPerCall: 3 });
      const pre = await createOnnxTrainer(engine, config, { stepsPerCall: 3, preallocate: true });
      expect(await pre.run(17)).toBe(await plain.run(17));
      const mid = await plain.state();
      await pre.setState(mid);
      await pre.run(4);
      await plain.run(4);
      const [a, b] = [await plain.state(), await pre.state()];
      for (const part of ['params', 'slots'] as const)
        for (const [k, v] of Object.entries(a[part])) expect(b[part][k]!.data).toEqual(v.data);
      await plain.dispose();
      await pre.dispose();
    }
  });

  it('a frozen group (lr 0) stays bit-identical, also inside a fused Loop', async () => {
    const base = cases()[0]!.config;
    const config: TrainerConfig = {
      ...base,
      optimizer: { groups: [base.optimizer.groups[0]!, { ...base.optimizer.groups[1]!, lr: 0 }] },
    };
    for (const K of [1, 5]) {
      const t = await createOnnxTrainer(engine, config, { stepsPerCall: K });
      await t.run(12);
      const st = await t.state();
      expect(st.params.v!.data).toEqual(config.params.v!.data);
      expect(relErr(st.params, reference(config, 12).params)).toBeLessThan(1e-4);
      await t.dispose();
    }
  });

  it('state() / setState() round-trip exactly and resume the same trajectory', async () => {
    const { config } = cases()[3]!;
    const t = await createOnnxTrainer(engine, config, { stepsPerCall: 4 });
    await t.run(30);
    const mid = await t.state();
    await t.run(25);
    const a = await t.state();
    await t.setState(mid);
    const again = await t.state();
    expect(again.step).toBe(30);
    for (const part of ['params', 'slots', 'anchors'] as const)
      for (const [k, v] of Object.entries(mid[part])) expect(again[part][k]!.data).toEqual(v.data);
    await t.run(25);
    const b = await t.state();
    for (const [k, v] of Object.entries(a.params)) expect(b.params[k]!.data).toEqual(v.data);
    for (const [k, v] of Object.entries(a.slots)) expect(b.slots[k]!.data).toEqual(v.data);
    expect(Object.keys(a.slots).sort()).toEqual(['adam_m.W', 'adam_v.W', 'momentum.v']);
    await t.dispose();
  });

  it('rejects bad engines, options and configs naming the field', async () => {
    const { config } = cases()[0]!;
    await expect(createOnnxTrainer({} as Engine, config)).rejects.toThrow(/createSession/);
    await expect(createOnnxTrainer(engine, config, { stepsPerCall: 0 })).rejects.toThrow(/stepsPerCall/);
    const { v: _v, ...noV } = config.params;
    await expect(createOnnxTrainer(engine, { ...config, params: noV })).rejects.toThrow(/"v"/);
    await expect(createOnnxTrainer(engine, { ...config, batchSize: 1000 })).rejects.toThrow(/batchSize/);
    const t = await createOnnxTrainer(engine, config);
    await expect(t.run(-1)).rejects.toThrow(/steps/);
    const st = await t.state();
    await expect(t.setState({ ...st, slots: {} })).rejects.toThrow(/momentum\.W/);
    await t.dispose();
    await expect(t.run(1)).rejects.toThrow(/dispose/);
  });

  it('param shapes in state match paramShapes', async () => {
    const { config } = cases()[2]!;
    const t = await createOnnxTrainer(engine, config);
    const st = await t.state();
    for (const [k, s] of Object.entries(paramShapes(config.spec))) expect(st.params[k]!.shape).toEqual(s);
    await t.dispose();
  });
});
