import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { type LossName, type MlpLikeSpec as ModelSpec, createRng } from '@narrownet/models';
import type { OptimizerSpec } from '@narrownet/optim';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TrainerConfig, createOnnxGridTrainer, createOnnxTrainer } from '../src/index.js';
import { sphereData } from './helpers.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;

function grid(spec: ModelSpec, loss: LossName, vProjection: boolean): TrainerConfig[] {
  const data = sphereData(30, 'layers' in spec ? spec.layers[0]! : spec.inputDim, 4);
  const out: TrainerConfig[] = [];
  let seed = 20;
  for (const lr of [0.002, 0.006])
    for (const radius of [0.05, 0.5]) {
      const optimizer: OptimizerSpec = {
        groups: [
          {
            params: ['W'],
            lr,
            update: { kind: 'sgd', momentum: 0.9 },
            projection: { kind: 'frobeniusBall', radius },
          },
          {
            params: ['v'],
            lr: lr / 2,
            update: { kind: 'sgd', momentum: 0.9 },
            projection: vProjection
              ? { kind: 'zetaKappa', zeta: 0.01, kappa: 1, method: 'exact' }
              : undefined,
          },
        ],
      };
      const init =
        spec.kind === 'paired'
          ? ({ kind: 'mirroredLecun', absOuter: true } as const)
          : ({ kind: 'lecun' } as const);
      out.push({ spec, loss, optimizer, params: initParams(spec, init, createRng(seed++)), data });
    }
  return out;
}

describe('createOnnxGridTrainer', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  const cases: [string, ModelSpec, LossName, boolean][] = [
    [
      'paired tanh, ½Σ loss, ball + zetaKappa',
      { kind: 'paired', inputDim: 6, width: 10, activation: 'tanh' },
      'halfSse',
      true,
    ],
    ['shallow relu, mse, ball', { kind: 'shallow', inputDim: 6, width: 9, activation: 'relu' }, 'mse', false],
    [
      'paired identity, ½Σ loss',
      { kind: 'paired', inputDim: 6, width: 4, activation: 'identity' },
      'halfSse',
      false,
    ],
  ];
  // chunkElements: default (all 4 stacked); 300 with n·m = 270 (chunks of 1: the
  // single-configuration lowering); 360 with n·m = 120 (chunks of 3 and 1).
  const chunkings = [undefined, 300, 360];
  for (const [ci, [label, spec, loss, vProj]] of cases.entries()) {
    const chunkElements = chunkings[ci];
    it(`every configuration follows its own createOnnxTrainer iterates over 150 steps: ${label}, chunkElements ${chunkElements}`, async () => {
      const configs = grid(spec, loss, vProj);
      const g = await createOnnxGridTrainer(engine, configs, { stepsPerCall: 5, chunkElements });
      expect(g.size).toBe(4);
      const losses = await g.run(150);
      const states = await g.states();
      const distinct = new Set(losses.map((l) => l.toPrecision(4)));
      expect(distinct.size, 'configurations really differ').toBeGreaterThan(1);
      for (const [c, config] of configs.entries()) {
        const t = await createOnnxTrainer(engine, config);
        const l = await t.run(150);
        const st = await t.state();
        expect(Math.abs(losses[c]! - l) / l, `config ${c} loss`).toBeLessThan(1e-4);
        expect(states[c]!.step).toBe(150);
        for (const part of ['params', 'slots'] as const)
          for (const [k, want] of Object.entries(st[part])) {
            let err = 0;
            let scale = 1e-12;
            for (let i = 0; i < want.data.length; i++) {
              err = Math.max(err, Math.abs(states[c]![part][k]!.data[i]! - want.data[i]!));
              scale = Math.max(scale, Math.abs(want.data[i]!));
            }
            // Momentum buffers near a stationary point are small differences of O(1) gradients:
            // compare them at a looser relative tolerance than the parameters.
            expect(err / scale, `config ${c} ${part}.${k}`).toBeLessThan(part === 'params' ? 1e-4 : 5e-3);
          }
        await t.dispose();
      }
      await g.dispose();
    });
  }

  for (const update of ['sgd', 'adam'] as const)
    it(`setStates resumes a grid exactly: k steps, states, a new grid, setStates, k steps = 2k steps (${update})`, async () => {
      // Adam's bias correction reads the step: a resume that lost it would differ
      const configs = grid(
        { kind: 'paired', inputDim: 6, width: 10, activation: 'tanh' },
        'halfSse',
        true,
      ).map((c) =>
        update === 'sgd'
          ? c
          : {
              ...c,
              optimizer: {
                groups: c.optimizer.groups.map((g) => ({
                  ...g,
                  update: { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const,
                })),
              },
            },
      );
      const whole = await createOnnxGridTrainer(engine, configs, { stepsPerCall: 5 });
      const want = await whole.run(80);
      const wantStates = await whole.states();
      await whole.dispose();
      const first = await createOnnxGridTrainer(engine, configs, { stepsPerCall: 5 });
      await first.run(40);
      const saved = await first.states();
      await first.dispose();
      const second = await createOnnxGridTrainer(engine, configs, { stepsPerCall: 5 });
      await second.setStates(saved);
      expect((await second.states()).map((s) => s.step)).toEqual([40, 40, 40, 40]);
      const got = await second.run(40);
      expect(got).toEqual(want);
      const states = await second.states();
      for (const [c, st] of states.entries()) {
        expect(st.step).toBe(80);
        for (const part of ['params', 'slots', 'anchors'] as const)
          for (const [k, t] of Object.entries(wantStates[c]![part]))
            expect(st[part][k]!.data).toEqual(t.data);
      }
      // bad input: wrong count, mixed steps, wrong shapes; the state is unchanged after a refusal
      await expect(second.setStates(saved.slice(1))).rejects.toThrow(/expected 4 states/);
      await expect(second.setStates(saved.map((s, i) => ({ ...s, step: 40 + i })))).rejects.toThrow(
        /states\[1\]\.step is 41/,
      );
      const badShape = saved.map((s) => ({
        ...s,
        params: { ...s.params, v: { shape: [3], data: new Float32Array(3) } },
      }));
      await expect(second.setStates(badShape)).rejects.toThrow(
        /states\[0\]\.params\.v must have shape \[5\]/,
      );
      expect((await second.states())[0]!.step).toBe(80);
      await second.dispose();
    });

  it('rejects grids that do not share architecture, data or optimizer structure', async () => {
    const spec: ModelSpec = { kind: 'paired', inputDim: 6, width: 10, activation: 'tanh' };
    const configs = grid(spec, 'halfSse', true);
    const other = { ...configs[1]!, spec: { ...spec, width: 12 } as ModelSpec };
    await expect(createOnnxGridTrainer(engine, [configs[0]!, other])).rejects.toThrow(/configs\[1\]/);
    const momentum = {
      ...configs[1]!,
      optimizer: {
        groups: configs[1]!.optimizer.groups.map((g) => ({
          ...g,
          update: { kind: 'sgd' as const, momentum: 0.5 },
        })),
      },
    };
    await expect(createOnnxGridTrainer(engine, [configs[0]!, momentum])).rejects.toThrow(/optimizer/);
    await expect(createOnnxGridTrainer(engine, [])).rejects.toThrow(/non-empty/);
    const mlp: TrainerConfig = {
      ...configs[0]!,
      spec: { kind: 'mlp', layers: [6, 3, 1], activation: 'tanh' },
      params: initParams(
        { kind: 'mlp', layers: [6, 3, 1], activation: 'tanh' },
        { kind: 'lecun' },
        createRng(1),
      ),
      optimizer: { groups: [{ params: ['W1', 'W2'], lr: 0.1, update: { kind: 'sgd' } }] },
    };
    await expect(createOnnxGridTrainer(engine, [mlp])).rejects.toThrow(/shallow and paired/);
  });
});
