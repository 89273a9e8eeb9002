import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { type ModelSpec, createRng, paramShapes } from '@narrownet/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TrainerConfig, createOnnxTrainer, zhang2021Deep } from '../src/index.js';

// The fused step checks the finiteness of the iterate through the forward pass's pre-activations
// and predictions (`LoweringOutputs.witnesses`) instead of reading every weight. These tests put
// one non-finite entry into one parameter at a time — first, middle and last entry; +∞, −∞ and
// NaN; with an input column of zeros (so that ∞·0 = NaN is the only way it shows) and at the
// mirrored start (where the paired head's difference is exactly 0) — and require a NaN loss from
// the fused forms: K = 1 and the evaluation graph for each, a K = 3 Loop and K = 3 unrolled for +∞.
// Leaving the hidden pre-activations out of the witnesses fails all three cases.

type Engine = Awaited<ReturnType<typeof startOnnx>>;
let engine: Engine;
beforeAll(async () => {
  engine = await startOnnx({ device: 'cpu', threads: 1 });
});

const d = 6;
const n = 9;
function data(k: number): TrainerConfig['data'] {
  const rng = createRng(7);
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j] = j === 2 ? 0 : rng.normal(); // column 2 all zeros
  const Y = new Float32Array(n * k);
  for (let i = 0; i < n; i++) Y[i * k + (i % k)] = 1;
  return { X, Y, n };
}

interface Case {
  label: string;
  spec: ModelSpec;
  config: (params: TrainerConfig['params']) => TrainerConfig;
}

const deep = zhang2021Deep({ layers: [d, 8, 6, 3], radius: 1, bias: true });
const cases: Case[] = [
  {
    label: 'pairedMlp 6-8-6-3 ReLU with biases (zhang2021Deep), batch 4',
    spec: deep.model,
    config: (params) => ({
      spec: deep.model,
      loss: deep.loss,
      optimizer: deep.optimizer,
      params,
      anchors: initParams(deep.model, deep.init, createRng(0)),
      data: data(3),
      batchSize: 4,
      seed: 1,
    }),
  },
  ...(['relu', 'tanh'] as const).map((activation): Case => {
    const spec: ModelSpec = { kind: 'mlp', layers: [d, 5, 4, 2], activation, bias: true, scaled: true };
    return {
      label: `scaled mlp 6-5-4-2 ${activation} with biases, full batch`,
      spec,
      config: (params) => ({
        spec,
        loss: 'mse',
        optimizer: {
          groups: [
            { params: Object.keys(paramShapes(spec)), lr: 0.01, update: { kind: 'sgd', momentum: 0.9 } },
          ],
        },
        params,
        data: data(2),
      }),
    };
  }),
];

const forms: [string, { stepsPerCall: number; loop?: boolean }][] = [
  ['K = 1', { stepsPerCall: 1 }],
  ['K = 3 Loop', { stepsPerCall: 3 }],
  ['K = 3 unrolled', { stepsPerCall: 3, loop: false }],
];

describe('a non-finite entry in any parameter gives a NaN loss through the finiteness witnesses', () => {
  for (const c of cases) {
    it(c.label, async () => {
      const p0 = initParams(c.spec, { kind: 'lecun' }, createRng(3));
      const start = c.label.startsWith('pairedMlp')
        ? initParams(deep.model, deep.init, createRng(0)) // mirrored: the head's difference is 0
        : p0;
      // the unperturbed iterate trains to a finite loss in every form
      for (const [form, opts] of forms) {
        const t = await createOnnxTrainer(engine, c.config(start), opts);
        expect(Number.isFinite(await t.run(3)), `${form}, no perturbation`).toBe(true);
        await t.dispose();
      }
      let checked = 0;
      for (const [name, shape] of Object.entries(paramShapes(c.spec))) {
        const size = shape.reduce((a, b) => a * b, 1);
        for (const at of new Set([0, Math.floor(size / 2), size - 1]))
          for (const [b, bad] of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN].entries()) {
            const params = Object.fromEntries(
              Object.entries(start).map(([k, t]) => [k, { shape: t.shape, data: t.data.slice() }]),
            );
            params[name]!.data[at] = bad;
            // every form for +∞; the single step (and evaluation) for −∞ and NaN
            for (const [form, opts] of b === 0 ? forms : forms.slice(0, 1)) {
              const t = await createOnnxTrainer(engine, c.config(params), opts);
              const what = `${name}[${at}] = ${bad}, ${form}`;
              expect(Number.isNaN(await t.run(3)), what).toBe(true);
              expect((await t.state()).step, what).toBe(0);
              if (form === 'K = 1') expect(Number.isNaN((await t.evaluate()).loss), what).toBe(true);
              await t.dispose();
              checked++;
            }
          }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
