import { existsSync } from 'node:fs';
import { startOnnx } from '@narrownet/engine';
import { initParams } from '@narrownet/init';
import { type ModelSpec, type ParamTree, createRng } from '@narrownet/models';
import type { OptimizerSpec } from '@narrownet/optim';
import type { InferenceSession } from 'onnxruntime-common';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type OnnxEngineLike,
  type TrainerConfig,
  type TrainerState,
  createOnnxGridTrainer,
  createOnnxTrainer,
} from '../src/index.js';
import { resolvePlacement } from '../src/onnx/placement.js';
import { sphereData } from './helpers.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;

const paired: ModelSpec = { kind: 'paired', inputDim: 5, width: 12, activation: 'tanh' };
const mlp: ModelSpec = { kind: 'mlp', layers: [5, 7, 1], activation: 'gelu', bias: true, scaled: true };
const mlpParams = ['W1', 'b1', 'W2', 'b2'];

function opt(lr: number, radius: number, adam: boolean, heuristic: boolean): OptimizerSpec {
  return {
    groups: [
      {
        params: ['W'],
        lr,
        update: adam ? { kind: 'adam' } : { kind: 'sgd', momentum: 0.9 },
        schedule: adam ? { kind: 'cosine', tMax: 40, etaMin: 0.001 } : undefined,
        projection: { kind: 'frobeniusBall', radius },
      },
      {
        params: ['v'],
        lr: lr / 2,
        update: { kind: 'sgd', momentum: 0.9, nesterov: adam },
        projection: heuristic
          ? { kind: 'zetaKappa', zeta: 0.05, kappa: 2, method: 'paperHeuristic' }
          : { kind: 'zetaKappa', zeta: 0.01, kappa: 1, method: 'exact' },
      },
    ],
  };
}

/** Alg. 2-like configs: momentum + ball + exact ζ-κ; Adam + cosine + paper heuristic; an MLP on mini-batches. */
function cases(): TrainerConfig[] {
  const data = sphereData(24, 5, 3);
  const pairedInit = { kind: 'mirroredLecun', absOuter: true } as const;
  return [
    {
      spec: paired,
      loss: 'halfSse',
      optimizer: opt(0.02, 0.3, false, false),
      params: initParams(paired, pairedInit, createRng(1)),
      data,
    },
    {
      spec: paired,
      loss: 'mse',
      optimizer: opt(0.01, 0.2, true, true),
      params: initParams(paired, pairedInit, createRng(2)),
      data,
    },
    {
      spec: mlp,
      loss: 'halfSse',
      optimizer: {
        groups: [{ params: mlpParams, lr: 0.01, update: { kind: 'adam' } }],
      },
      params: initParams(mlp, { kind: 'lecun' }, createRng(3)),
      data,
      batchSize: 7,
      seed: 5,
    },
  ];
}

function expectSameState(a: TrainerState, b: TrainerState): void {
  expect(b.step).toBe(a.step);
  for (const part of ['params', 'slots'] as const) {
    expect(Object.keys(b[part]).sort()).toEqual(Object.keys(a[part]).sort());
    for (const [k, v] of Object.entries(a[part] as ParamTree)) expect(b[part][k]!.data).toEqual(v.data);
  }
}

/** An engine that records the options and models of the sessions it creates. */
function recording(engine: Engine, device?: string) {
  const made: { model: Uint8Array; options: InferenceSession.SessionOptions | undefined }[] = [];
  const wrapped: OnnxEngineLike = {
    ort: engine.ort,
    device: device ?? engine.device,
    createSession: (model, options) => {
      made.push({ model, options });
      return engine.createSession(model, options);
    },
  };
  return { engine: wrapped, made };
}

const hasLoop = (model: Uint8Array): boolean => Buffer.from(model).includes('Loop');

describe('Loop-free fused steps and device-resident state', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  it('defaults: WebGPU gets unrolled steps and resident state, every other device Loop and host state', () => {
    expect(resolvePlacement({ ...engine, device: 'webgpu' }, {}, 'x')).toEqual({
      loop: false,
      resident: true,
    });
    expect(resolvePlacement(engine, {}, 'x')).toEqual({ loop: true, resident: false });
    expect(resolvePlacement({ ...engine, device: 'cuda' }, {}, 'x')).toEqual({ loop: true, resident: false });
    expect(resolvePlacement(engine, { loop: false, resident: true }, 'x')).toEqual({
      loop: false,
      resident: true,
    });
    expect(() => resolvePlacement(engine, { loop: 'no' as unknown as boolean }, 'where')).toThrow(
      /where: options.loop must be a boolean/,
    );
  });

  it('unrolled K steps give bit-identical iterates, slots and losses to the ONNX Loop (single trainer)', async () => {
    for (const config of cases()) {
      const looped = await createOnnxTrainer(engine, config, { stepsPerCall: 5 });
      const { engine: rec, made } = recording(engine);
      const unrolled = await createOnnxTrainer(rec, config, { stepsPerCall: 5, loop: false });
      expect(made.some((m) => hasLoop(m.model))).toBe(false);
      // 23 = 4 fused calls + 3 single steps; then 10 = 2 fused calls, whose loss comes with the last.
      for (const steps of [23, 10]) {
        const [la, lb] = [await looped.run(steps), await unrolled.run(steps)];
        expect(lb).toBe(la);
        expectSameState(await looped.state(), await unrolled.state());
      }
      await looped.dispose();
      await unrolled.dispose();
    }
  });

  it('device-resident state (the WebGPU path, run here with host memory) gives bit-identical iterates, evaluate and setState', async () => {
    for (const config of cases()) {
      const plain = await createOnnxTrainer(engine, config, { stepsPerCall: 4 });
      const { engine: rec, made } = recording(engine, 'webgpu');
      const resident = await createOnnxTrainer(rec, config, { stepsPerCall: 4 });
      // step sessions and the upload session keep their outputs on the device; state() downloads
      const where = () => made.map((m) => m.options?.preferredOutputLocation);
      expect(where().filter((w) => w === 'gpu-buffer').length).toBeGreaterThanOrEqual(3);
      expect(made.some((m) => hasLoop(m.model))).toBe(false);
      expect(await resident.run(9)).toBe(await plain.run(9));
      expect(await resident.run(8)).toBe(await plain.run(8));
      expectSameState(await plain.state(), await resident.state());
      const [ea, eb] = [await plain.evaluate(), await resident.evaluate()];
      expect(eb.loss).toBe(ea.loss);
      const mid = await plain.state();
      await plain.run(6);
      await resident.setState(mid);
      expectSameState(mid, await resident.state());
      await resident.run(6);
      expectSameState(await plain.state(), await resident.state());
      expect(where()).toContain('cpu'); // state() and the loss came through the download session
      await plain.dispose();
      await resident.dispose();
    }
  });

  it('preallocate is refused with resident state, naming the option', async () => {
    await expect(
      createOnnxTrainer(engine, cases()[0]!, { preallocate: true, resident: true }),
    ).rejects.toThrow(/createOnnxTrainer: options.preallocate needs host-resident state/);
  });

  it('grid trainer: unrolled + resident gives bit-identical iterates to Loop + host, also across setStates', async () => {
    const base = cases()[0]!;
    for (const adam of [false, true]) {
      const configs: TrainerConfig[] = [0.01, 0.02, 0.03].map((lr, c) => ({
        ...base,
        optimizer: opt(lr, 0.1 + c / 10, adam, adam),
        params: initParams(paired, { kind: 'mirroredLecun', absOuter: true }, createRng(10 + c)),
      }));
      const a = await createOnnxGridTrainer(engine, configs, { stepsPerCall: 4 });
      const { engine: rec, made } = recording(engine, 'webgpu');
      const b = await createOnnxGridTrainer(rec, configs, { stepsPerCall: 4 });
      expect(made.some((m) => hasLoop(m.model))).toBe(false);
      expect(made.some((m) => m.options?.preferredOutputLocation === 'gpu-buffer')).toBe(true);
      expect(await b.run(11)).toEqual(await a.run(11));
      expect(await b.run(8)).toEqual(await a.run(8));
      const [sa, sb] = [await a.states(), await b.states()];
      for (const [c, s] of sa.entries()) expectSameState(s, sb[c]!);
      await a.run(5);
      await b.setStates(sa);
      await b.run(5);
      const [ta, tb] = [await a.states(), await b.states()];
      for (const [c, s] of ta.entries()) expectSameState(s, tb[c]!);
      await a.dispose();
      await b.dispose();
    }
  });

  const gpu = process.platform === 'linux' && (existsSync('/dev/nvidiactl') || existsSync('/dev/dri'));
  it.skipIf(!gpu)(
    'on a WebGPU adapter: 30 steps agree with the CPU to float32 tolerance (skipped: no GPU device node here)',
    async () => {
      const gpuEngine = await startOnnx({ device: 'webgpu' });
      const config = cases()[0]!;
      const [cpuT, gpuT] = [
        await createOnnxTrainer(engine, config, { stepsPerCall: 5 }),
        await createOnnxTrainer(gpuEngine, config, { stepsPerCall: 5 }),
      ];
      const [lc, lg] = [await cpuT.run(30), await gpuT.run(30)];
      expect(Math.abs(lg - lc) / lc).toBeLessThan(1e-4);
      await cpuT.dispose();
      await gpuT.dispose();
    },
  );
});
