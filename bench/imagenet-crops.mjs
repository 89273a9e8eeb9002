// Host cost of one R-ImageNet training batch built per step from 8-bit images
// (@narrownet/datasets' imageCropSource): B random 224×224 crops + flips of 256×256×3 bytes,
// standardised to float32 NCHW — the rows the ResNet trainer's `data.rows` asks for each step —
// and the centre crops of an evaluation chunk, plus imagePixelStats' pass per image.
// Usage: node bench/imagenet-crops.mjs [--n 2048] [--batch 256] [--steps 20]   (after `pnpm build`)
import { createRng } from '../packages/models/dist/index.js';
import { imageCropSource, imagePixelStats } from '../packages/datasets/dist/index.js';

const arg = (name, dflt) => {
  const at = process.argv.indexOf(`--${name}`);
  const v = at > 0 ? Number(process.argv[at + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0)
    throw new RangeError(`--${name} must be a positive integer, got ${process.argv[at + 1]}`);
  return v;
};
const N = arg('n', 2048);
const B = arg('batch', 256);
const steps = arg('steps', 20);
const S = 256;
const stride = S * S * 3;
const rng = createRng(1);
const shard = new Uint8Array(N * stride);
for (let i = 0; i < shard.length; i += 4096) shard.fill(rng.int(256), i, i + 4096);
const set = {
  name: 'bench',
  n: N,
  size: S,
  shards: [shard],
  shardImages: N,
  labels: new Int32Array(N),
  classes: ['c'],
  files: [],
};
let t = performance.now();
const { mean, std } = imagePixelStats(set);
const statsMs = (performance.now() - t) / N;
const src = imageCropSource(set, { size: 224, mean, std, augment: true });
const idx = () => Int32Array.from({ length: B }, () => rng.int(N));
src.rows(idx(), { seed: 0, epoch: 0, step: 0 }); // warm-up
const times = [];
for (let s = 0; s < steps; s++) {
  const i = idx();
  t = performance.now();
  src.rows(i, { seed: 0, epoch: 0, step: s });
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const ti = idx();
t = performance.now();
src.rows(ti);
const centre = performance.now() - t;
console.log(
  `batch ${B} of 224x224 crops from ${N} images of 256x256x3 bytes: random crop+flip median ${times[times.length >> 1].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times.at(-1).toFixed(1)}) over ${steps} steps; centre crops ${centre.toFixed(1)} ms; ${((B * 3 * 224 * 224 * 4) / 2 ** 20).toFixed(0)} MiB float32 per batch; imagePixelStats ${statsMs.toFixed(3)} ms/image`,
);
