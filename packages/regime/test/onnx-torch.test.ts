import { readFileSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import type { ModelSpec } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { type TrainerConfig, createOnnxGridTrainer, createOnnxTrainer } from '../src/index.js';

/** Runs of torch_reference.py's exact step, written by bench/make_torch_fixture.py (PyTorch 1.13). */
interface TorchCase {
  regime: 'paired' | 'regular';
  n: number;
  d: number;
  m: number;
  eps: number;
  lr: number;
  momentum: number;
  steps: number;
  X: number[];
  Y: number[];
  W0: number[];
  v0: number[];
  W: number[];
  v: number[];
  loss: number;
}

const cases = JSON.parse(
  readFileSync(new URL('./onnx-torch-fixture.json', import.meta.url), 'utf8'),
) as TorchCase[];

function configOf(c: TorchCase): TrainerConfig {
  const spec: ModelSpec = {
    kind: c.regime === 'paired' ? 'paired' : 'shallow',
    inputDim: c.d,
    width: c.m,
    activation: 'tanh',
  };
  const update = { kind: 'sgd' as const, momentum: c.momentum };
  return {
    spec,
    loss: 'halfSse',
    optimizer: {
      groups: [
        {
          params: ['W'],
          lr: c.lr,
          update,
          projection: c.regime === 'paired' ? { kind: 'frobeniusBall', radius: c.eps } : { kind: 'none' },
        },
        { params: ['v'], lr: c.lr, update },
      ],
    },
    params: {
      W: { shape: [c.m, c.d], data: Float32Array.from(c.W0) },
      v: { shape: [c.v0.length], data: Float32Array.from(c.v0) },
    },
    data: { X: Float32Array.from(c.X), Y: Float32Array.from(c.Y), n: c.n },
  };
}

function relErr(got: ArrayLike<number>, want: number[]): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

describe('ONNX trainers vs PyTorch (torch_reference.py step, recorded fixture)', () => {
  for (const c of cases) {
    it(`${c.regime}: ${c.steps} steps land on the PyTorch iterate`, async () => {
      const engine = await startOnnx({ device: 'cpu', threads: 1 });
      const config = configOf(c);
      for (const K of [1, 10]) {
        const t = await createOnnxTrainer(engine, config, { stepsPerCall: K });
        const loss = await t.run(c.steps);
        const st = await t.state();
        expect(relErr(st.params.W!.data, c.W), `W (K=${K})`).toBeLessThan(1e-4);
        expect(relErr(st.params.v!.data, c.v), `v (K=${K})`).toBeLessThan(1e-4);
        expect(Math.abs(loss - c.loss) / c.loss).toBeLessThan(1e-4);
        await t.dispose();
      }
      // The same configuration twice in a grid (with a second radius) reproduces it too.
      const other: TrainerConfig = {
        ...config,
        optimizer: { groups: config.optimizer.groups.map((g) => ({ ...g, lr: g.lr / 2 })) },
      };
      const grid = await createOnnxGridTrainer(engine, [other, config], { stepsPerCall: 10 });
      const losses = await grid.run(c.steps);
      const [, st] = await grid.states();
      expect(relErr(st!.params.W!.data, c.W)).toBeLessThan(1e-4);
      expect(Math.abs(losses[1]! - c.loss) / c.loss).toBeLessThan(1e-4);
      await grid.dispose();
    });
  }
});
