import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { createTfjsTrainer } from '../src/index.js';
import type { TrainerConfig } from '../src/index.js';

await tf.setBackend('cpu');

export { tf };

/** Trainer factory on tfjs-cpu. */
export const tfjsFactory = (c: TrainerConfig) => createTfjsTrainer(tf, c);

/** Small Zhang-style data: x on the unit sphere, y = (1ᵀx)². */
export function sphereData(n: number, d: number, seed = 1): { X: Float32Array; Y: Float32Array; n: number } {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const X = new Float32Array(n * d);
  const Y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let nn = 0;
    for (let j = 0; j < d; j++) {
      X[i * d + j] = u();
      nn += X[i * d + j]! ** 2;
    }
    let t = 0;
    for (let j = 0; j < d; j++) {
      X[i * d + j]! /= Math.sqrt(nn);
      t += X[i * d + j]!;
    }
    Y[i] = t * t;
  }
  return { X, Y, n };
}
