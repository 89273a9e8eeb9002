import { createRng, lossAndGrad64 } from '@narrownet/models';

/**
 * Runs the CLI with the given arguments and resolves to the process exit code.
 * (Placeholder main job until the regime lands: a small seeded run of the paired net.)
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  void argv;
  const n = 200;
  const d = 20;
  const m = 40;
  const rng = createRng(0);
  const X = new Float64Array(n * d);
  const Y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s2 = 0;
    for (let t = 0; t < d; t++) {
      X[i * d + t] = rng.normal();
      s2 += X[i * d + t]! ** 2;
    }
    let s = 0;
    for (let t = 0; t < d; t++) {
      X[i * d + t]! /= Math.sqrt(s2);
      s += X[i * d + t]!;
    }
    Y[i] = s * s;
  }
  const spec = { kind: 'paired', inputDim: d, width: m, activation: 'tanh' } as const;
  const half = rng.fillNormal(new Float64Array((m / 2) * d), 0, 1 / Math.sqrt(d));
  const W = new Float64Array(m * d);
  W.set(half);
  W.set(half, (m / 2) * d);
  const v = rng.fillNormal(new Float64Array(m / 2), 0, 1 / Math.sqrt(m));
  const lr = 0.002;
  for (let step = 0; step <= 200; step++) {
    const { loss, grads } = lossAndGrad64(spec, { W, v }, X, Y, n);
    if (step % 20 === 0) console.log(`step ${step}  loss ${loss.toFixed(6)}`);
    for (let i = 0; i < W.length; i++) W[i]! -= lr * grads.W![i]!;
    for (let i = 0; i < v.length; i++) v[i]! -= lr * grads.v![i]!;
  }
  return 0;
}
