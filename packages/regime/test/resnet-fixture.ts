/** The small ResNet problem the ResNet-trainer tests share (resnet-trainer, row-source). */
import { initResNet } from '@narrownet/init';
import { type ResNetSpec, createRng, resnet18 } from '@narrownet/models';
import { epochSchedule } from '@narrownet/optim';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOnnx } from '@narrownet/engine';
import { afterAll, beforeAll } from 'vitest';
import { type RegimeSpec, type TrainerConfig, resnetOptimizer } from '../src/index.js';

/** A small ResNet-18 (widths 2-2-4-4 on 1×8×8 images, paired head). */
export const spec: ResNetSpec = {
  ...resnet18({ classes: 3, widths: [2, 2, 4, 4], input: [1, 8, 8] }),
  head: 'paired',
};
export const n = 12;
export const d = 64;
export const k = 3;
/** 12 labelled images: X ~ N(0, 1), labels i mod 3. */
export function makeData(seed: number) {
  const rng = createRng(seed);
  const X = rng.fillNormal(new Float32Array(n * d), 0, 1);
  const Y = new Float32Array(n * k);
  for (let i = 0; i < n; i++) Y[i * k + (i % k)] = 1;
  return { X, Y, n };
}
export const data = makeData(1);
export const init = initResNet(spec, { mirrorFinalStage: true }, createRng(3));
export const optimizer = resnetOptimizer(spec, {
  lr: 0.05,
  radius: 0.3,
  schedule: epochSchedule({ kind: 'cosine', tMax: 4 }, 3),
});
/** Trainer config: batch 4, seed 7, the fixture's data; `over` replaces fields. */
export const config = (over: Partial<TrainerConfig> = {}): TrainerConfig => ({
  spec,
  loss: 'softmaxCrossEntropy',
  optimizer,
  params: init.params,
  data,
  batchSize: 4,
  seed: 7,
  ...over,
});
/** The fixture's regime: mirrored LeCun init, softmax cross-entropy, its optimizer; `over` replaces fields. */
export const regimeOf = (over: Partial<RegimeSpec> = {}): RegimeSpec => ({
  name: 'resnet-test',
  description: 'test',
  model: spec,
  init: { kind: 'mirroredLecun' },
  loss: 'softmaxCrossEntropy',
  optimizer,
  stopping: { maxSteps: 6 },
  ...over,
});

/** A started onnxruntime engine. */
export type Engine = Awaited<ReturnType<typeof startOnnx>>;

/**
 * Registers this file's hooks: a one-thread CPU onnxruntime engine and a temporary directory
 * (prefix `prefix`, removed afterwards), read from the returned object once the tests run.
 */
export function engineAndTempDir(prefix: string): { engine: Engine; dir: string } {
  const env = {} as { engine: Engine; dir: string };
  beforeAll(async () => {
    env.engine = await startOnnx({ device: 'cpu', threads: 1 });
    env.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(env.dir, { recursive: true, force: true }));
  return env;
}
