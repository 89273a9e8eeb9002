import {
  type LossName,
  type MlpLikeSpec,
  type ModelSpec,
  createRng,
  inputDim,
  outputDim,
  paramShapes,
} from '../src/index.js';

/** Random float64 parameters, inputs and targets for a spec (targets are probabilities for CE). */
export function problem(spec: ModelSpec, n: number, seed: number, loss: LossName = 'halfSse') {
  const rng = createRng(seed);
  const params: Record<string, Float64Array> = {};
  for (const [name, shape] of Object.entries(paramShapes(spec))) {
    params[name] = rng.fillNormal(new Float64Array(shape.reduce((a, b) => a * b, 1)), 0, 0.8);
  }
  const k = outputDim(spec);
  const X = rng.fillNormal(new Float64Array(n * inputDim(spec)));
  const Y = rng.fillNormal(new Float64Array(n * k));
  if (loss === 'softmaxCrossEntropy') {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += Y[i * k + c] = Math.exp(Y[i * k + c]!);
      for (let c = 0; c < k; c++) Y[i * k + c]! /= s;
    }
  }
  return { params, X, Y };
}

export const FAMILIES: MlpLikeSpec[] = [
  { kind: 'shallow', inputDim: 3, width: 5, activation: 'tanh' },
  { kind: 'paired', inputDim: 4, width: 6, activation: 'gelu' },
  { kind: 'mlp', layers: [3, 4, 5, 2], activation: 'softplus', bias: true, scaled: true },
  { kind: 'mlp', layers: [2, 6, 3], activation: { name: 'leakyRelu', slope: 0.1 } },
  { kind: 'pairedMlp', layers: [3, 4, 6, 3], activation: 'tanh', bias: true },
  { kind: 'pairedMlp', layers: [4, 6, 1], activation: 'softplus' },
];
