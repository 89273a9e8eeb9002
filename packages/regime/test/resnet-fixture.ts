/** The small ResNet problem the ResNet-trainer tests share (resnet-trainer, row-source). */
import { initResNet } from '@narrownet/init';
import { type ResNetSpec, createRng, resnet18 } from '@narrownet/models';
import { epochSchedule } from '@narrownet/optim';
import { type TrainerConfig, resnetOptimizer } from '../src/index.js';

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
