import { kawaguchiMnist8x8, mnistSample } from '@narrownet/datasets';
import { createRng } from '@narrownet/models';
import { kawaguchiLoss } from '/work/wt-h14/packages/landscape/dist/index.js';
const n = Number(process.env.NN ?? 3000);
const ds0 = kawaguchiMnist8x8(mnistSample());
const X = Float64Array.from(ds0.X).subarray(0, n * 64),
  Y = Float64Array.from(ds0.Y).subarray(0, n * 10);
let zero = 0;
for (let p = 0; p < 64; p++) {
  let s = 0;
  for (let i = 0; i < ds0.n; i++) s += Math.abs(ds0.X[i * 64 + p]);
  if (s === 0) zero++;
}
console.log('zero pixels', zero);
const layers = [64, 50, 50, 10];
const rng = createRng(2);
const params = {};
for (let l = 1; l < layers.length; l++)
  params[`W${l}`] = rng.fillNormal(
    new Float64Array(layers[l] * layers[l - 1]),
    0,
    1 / Math.sqrt(layers[l - 1]),
  );
const t = performance.now();
const r = kawaguchiLoss({ kind: 'mlp', layers, activation: 'relu' }, params, X, Y, n);
console.log(
  (performance.now() - t) / 1000,
  r.J,
  r.rank,
  r.deflated,
  r.refinements,
  r.method,
  r.certified,
  r.converged,
  JSON.stringify(r.timings),
  r.kernel,
  JSON.stringify(process.cpuUsage()),
  JSON.stringify(r.gap),
);
