// Schedules counted in epochs against torch.optim with schedulers stepped once per epoch
// (scripts/torch_epoch_schedules.py, torch 1.13): the recorded gradients are fed to the host
// optimizer, the tfjs lowering and the ONNX lowering, which must reproduce torch's lr per step and
// its iterates (SGD momentum + weight decay, Adam + L2 weight decay, cosine T_max = epochs, multistep).
import { readFileSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import { OnnxGraph, type ParamTree } from '@narrownet/models';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type EpochScheduleSpec,
  type OptimizerSpec,
  type UpdateSpec,
  createHostOptimizer,
  createTfOptimizer,
  epochSchedule,
  lowerOptimizerOnnx,
  onnxSlotShapes,
  scheduleFactor,
  stepsPerEpoch,
} from '../src/index.js';

interface Case {
  name: string;
  epochs: number;
  stepsPerEpoch: number;
  steps: { lr: number; grad: number[]; W: number[] }[];
}
const fx = JSON.parse(
  readFileSync(new URL('./fixtures/torch_epoch_schedules.json', import.meta.url), 'utf8'),
) as { shape: number[]; init: number[]; cases: Case[] };

const settings: Record<string, { lr: number; update: UpdateSpec; schedule: EpochScheduleSpec }> = {
  sgd_momentum_wd_cosine: {
    lr: 0.01,
    update: { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    schedule: { kind: 'cosine', tMax: 5 },
  },
  adam_wd_cosine: {
    lr: 1e-3,
    update: { kind: 'adam', weightDecay: 1e-4 },
    schedule: { kind: 'cosine', tMax: 4 },
  },
  sgd_multistep: { lr: 0.1, update: { kind: 'sgd' }, schedule: { kind: 'multistep', milestones: [1, 3] } },
};

const specOf = (c: Case): OptimizerSpec => {
  const s = settings[c.name]!;
  return {
    groups: [
      { params: ['W'], lr: s.lr, update: s.update, schedule: epochSchedule(s.schedule, c.stepsPerEpoch) },
    ],
  };
};
const tree = (data: ArrayLike<number>): ParamTree => ({
  W: { shape: fx.shape, data: Float32Array.from(data) },
});

function expectIterate(got: ArrayLike<number>, want: number[], what: string): void {
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]`).toBeLessThanOrEqual(
      3e-6 * Math.max(1, Math.abs(want[i]!)),
    );
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('stepsPerEpoch and epochSchedule', () => {
  it('⌊n/b⌋ steps per epoch (last partial batch dropped), 1 for full batch', () => {
    expect(stepsPerEpoch(100, 64)).toBe(1);
    expect(stepsPerEpoch(1000, 64)).toBe(15);
    expect(stepsPerEpoch(128, 64)).toBe(2);
    expect(stepsPerEpoch(50)).toBe(1);
    expect(stepsPerEpoch(50, 50)).toBe(1);
    expect(() => stepsPerEpoch(0, 1)).toThrow(/n must be/);
    expect(() => stepsPerEpoch(10, 0)).toThrow(/batchSize must be/);
    expect(() => stepsPerEpoch(10, 2.5)).toThrow(/batchSize must be/);
  });
  it('the factor is constant within an epoch and follows the epoch count', () => {
    const cos = epochSchedule({ kind: 'cosine', tMax: 10 }, 7);
    for (let e = 0; e < 12; e++)
      for (let s = 0; s < 7; s++)
        expect(scheduleFactor(cos, e * 7 + s)).toBeCloseTo((1 + Math.cos((Math.PI * e) / 10)) / 2, 14);
    const ms = epochSchedule({ kind: 'multistep', milestones: [150, 225, 450] }, 3);
    expect(scheduleFactor(ms, 150 * 3 - 1)).toBe(1);
    expect(scheduleFactor(ms, 150 * 3)).toBeCloseTo(0.1, 15);
    expect(scheduleFactor(ms, 225 * 3)).toBeCloseTo(0.01, 15);
    expect(scheduleFactor(ms, 450 * 3 + 2)).toBeCloseTo(0.001, 15);
  });
  it('rejects a bad stepsPerEpoch naming the field', () => {
    expect(() => epochSchedule({ kind: 'cosine', tMax: 3 }, 0)).toThrow(/stepsPerEpoch/);
    expect(() => scheduleFactor({ kind: 'multistep', milestones: [1], stepsPerEpoch: 1.5 }, 0)).toThrow(
      /stepsPerEpoch/,
    );
  });
});

describe('epoch-counted schedules reproduce torch.optim stepped per epoch (fixture from torch 1.13)', () => {
  it('has settings for every recorded case', () => {
    expect(fx.cases.map((c) => c.name).sort()).toEqual(Object.keys(settings).sort());
  });

  for (const c of fx.cases) {
    it(`${c.name}: host optimizer (lr per step and iterates)`, () => {
      const spec = specOf(c);
      const g = spec.groups[0]!;
      const params = tree(fx.init);
      const opt = createHostOptimizer(spec, params);
      c.steps.forEach((s, t) => {
        expect(g.lr * scheduleFactor(g.schedule, t, g.lr)).toBeCloseTo(s.lr, 12);
        opt.step(params, tree(s.grad));
        expectIterate(params.W!.data, s.W, `host step ${t}`);
      });
    });

    it(`${c.name}: tfjs lowering`, () => {
      const W = tf.variable(tf.tensor(fx.init, fx.shape, 'float32'));
      const opt = createTfOptimizer(specOf(c), { W }, tree(fx.init));
      c.steps.forEach((s, t) => {
        tf.tidy(() => opt.step({ W: tf.tensor(s.grad, fx.shape, 'float32') }));
        expectIterate(W.dataSync(), s.W, `tfjs step ${t}`);
      });
      opt.dispose();
      W.dispose();
    });

    it(`${c.name}: ONNX lowering (step count fed as the int64 input)`, async () => {
      const engine = await startOnnx();
      const spec = specOf(c);
      const shapes = { W: fx.shape };
      const slotShapes = onnxSlotShapes(spec, shapes);
      const g = new OnnxGraph('epoch');
      const io = {
        params: { W: g.input('p.W', 'float32', fx.shape) },
        grads: { W: g.input('g.W', 'float32', fx.shape) },
        slots: Object.fromEntries(
          Object.entries(slotShapes).map(([s, sh]) => [s, g.input(`s.${s}`, 'float32', sh)]),
        ),
        anchors: {},
        step: g.input('step', 'int64', []),
      };
      const out = lowerOptimizerOnnx(g, spec, shapes, io);
      g.output(out.params.W!, 'float32', fx.shape, 'P.W');
      for (const [s, sh] of Object.entries(slotShapes)) g.output(out.slots[s]!, 'float32', sh, `S.${s}`);
      const session = await engine.createSession(g.toModel());
      let W = Float32Array.from(fx.init);
      const slots: Record<string, Float32Array> = {};
      for (const s of Object.keys(slotShapes)) slots[s] = new Float32Array(12);
      for (const [t, s] of c.steps.entries()) {
        const feeds: Record<string, unknown> = {
          'p.W': new engine.ort.Tensor('float32', W, fx.shape),
          'g.W': new engine.ort.Tensor('float32', Float32Array.from(s.grad), fx.shape),
          step: new engine.ort.Tensor('int64', BigInt64Array.from([BigInt(t)]), []),
        };
        for (const [k, v] of Object.entries(slots))
          feeds[`s.${k}`] = new engine.ort.Tensor('float32', v, fx.shape);
        const r = await session.run(feeds as never);
        W = Float32Array.from(r['P.W']!.data as Float32Array);
        for (const k of Object.keys(slots)) slots[k] = Float32Array.from(r[`S.${k}`]!.data as Float32Array);
        expectIterate(W, s.W, `onnx step ${t}`);
      }
      await session.release();
    });
  }
});
