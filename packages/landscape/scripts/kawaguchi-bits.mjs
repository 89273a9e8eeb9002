// kawaguchiLoss's exact outputs (method, J, rank, σ_max, gap, deflated, cutoff as printed by
// JSON.stringify: every bit) on the small problems of test/kawaguchiScaled.test.ts (× 3 cutoff
// criteria) and on 4 problems above the threading threshold (parameterGram and sampleGram, 1-3
// threads), one line each. To check that a change leaves the numbers alone, run it with two builds
// and diff the outputs (the "-> k" field is the thread count the run reports):
//   node scripts/kawaguchi-bits.mjs /path/to/old/dist/index.js > old.txt
//   node scripts/kawaguchi-bits.mjs dist/index.js > new.txt && diff old.txt new.txt
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRng, paramShapes } from '@narrownet/models';

const { kawaguchiLoss, CUTOFF_CRITERIA } = await import(
  pathToFileURL(resolve(process.argv[2] ?? 'dist/index.js')).href
);
const gaussian = (seed, size, std = 1) => createRng(seed).fillNormal(new Float64Array(size), 0, std);
function fanInParams(spec, seed) {
  const out = {};
  let s = seed;
  for (const [name, shape] of Object.entries(paramShapes(spec))) {
    const fanIn = shape.length === 2 ? shape[1] : 4;
    out[name] = gaussian(
      s++,
      shape.reduce((a, b) => a * b, 1),
      1 / Math.sqrt(fanIn),
    );
  }
  return out;
}
const small = [
  [{ kind: 'mlp', layers: [5, 6, 1], activation: 'relu' }, 80],
  [{ kind: 'mlp', layers: [4, 8, 6, 1], activation: 'relu' }, 150],
  [{ kind: 'mlp', layers: [4, 8, 8, 8, 1], activation: 'relu' }, 60],
  [{ kind: 'mlp', layers: [6, 7, 5, 3], activation: 'relu' }, 90],
  [{ kind: 'mlp', layers: [3, 6, 5, 2], activation: 'relu', bias: true }, 70],
  [{ kind: 'mlp', layers: [3, 10, 10, 2], activation: { name: 'leakyRelu', slope: 0.1 } }, 40],
  [{ kind: 'mlp', layers: [4, 9, 7, 1], activation: 'abs', scaled: true }, 100],
];
const big = [
  [{ kind: 'mlp', layers: [8, 30, 30, 3], activation: 'relu' }, 800, 5, 6, 7],
  [{ kind: 'mlp', layers: [8, 40, 40, 1], activation: 'relu' }, 400, 8, 9, 10],
  [{ kind: 'mlp', layers: [10, 40, 40, 4], activation: 'relu', bias: true }, 600, 31, 32, 33],
  [{ kind: 'mlp', layers: [6, 30, 30, 2], activation: 'tanh' }, 500, 41, 42, 43],
];
const show = (r) => JSON.stringify([r.method, r.J, r.rank, r.sigmaMax, r.gap, r.deflated, r.cutoff.value]);
small.forEach(([spec, n], idx) => {
  const params = fanInParams(spec, 100 + idx);
  const X = gaussian(7 + idx, n * spec.layers[0]);
  const Y = gaussian(9 + idx, n * spec.layers.at(-1));
  for (const cutoff of CUTOFF_CRITERIA)
    console.log('small', idx, cutoff, show(kawaguchiLoss(spec, params, X, Y, n, { cutoff })));
});
for (const [spec, n, sp, sx, sy] of big) {
  const params = fanInParams(spec, sp);
  const X = gaussian(sx, n * spec.layers[0]);
  const Y = gaussian(sy, n * spec.layers.at(-1));
  for (const threads of [1, 2, 3]) {
    const r = kawaguchiLoss(spec, params, X, Y, n, { threads });
    console.log('big', JSON.stringify(spec.layers), 'threads', threads, '->', r.threads, show(r));
  }
}
