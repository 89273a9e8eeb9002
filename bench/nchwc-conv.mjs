// One 3×3 convolution (stride 1, padding 1, weights as graph inputs, as in the fused step) per
// ResNet-18 stage shape at batch 128: ONNX Conv against onnxruntime's CPU NCHWc kernels
// (`lowerConv2dOnnx` with the block `nchwcBlockSize` finds), interleaved in one invocation; checks
// that both give the same output.
//
//   node bench/nchwc-conv.mjs [--batch 128] [--threads 2] [--repeats 5]
//
// Build first: npx -y pnpm@10.34.8 exec turbo run build --filter=@narrownet/regime... --filter=@narrownet/engine
import { startOnnx } from '../packages/engine/dist/index.js';
import { OnnxGraph, createRng, lowerConv2dOnnx } from '../packages/models/dist/index.js';
import { nchwcBlockSize } from '../packages/regime/dist/index.js';
import { parseArgs } from './common.mjs';

const a = parseArgs(process.argv.slice(2), { batch: 128, threads: 2, repeats: 5 });
const STAGES = [
  [64, 32],
  [128, 16],
  [256, 8],
  [512, 4],
];

function model(c, hw, block) {
  const g = new OnnxGraph('conv');
  const x = g.input('x', 'float32', [a.batch, c, hw, hw]);
  const w = g.input('w', 'float32', [c, c, 3, 3]);
  const geometry = { cin: c, cout: c, kernel: 3, stride: 1, padding: 1 };
  g.output(lowerConv2dOnnx(g, x, w, geometry, block), 'float32', [a.batch, c, hw, hw], 'y');
  return g.toModel();
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const engine = await startOnnx({ device: 'cpu', threads: a.threads });
const block = await nchwcBlockSize(engine);
console.log(
  `# 3×3 conv, batch ${a.batch}, onnxruntime ${engine.version} ${a.threads} threads, NCHWc block ${block ?? 'none'}`,
);
if (!block) process.exit(0);
const rng = createRng(0);
for (const [c, hw] of STAGES) {
  const feeds = {
    x: engine.tensor(rng.fillNormal(new Float32Array(a.batch * c * hw * hw), 0, 1), [a.batch, c, hw, hw]),
    w: engine.tensor(rng.fillNormal(new Float32Array(c * c * 9), 0, 0.05), [c, c, 3, 3]),
  };
  const sessions = [
    await engine.createSession(model(c, hw, undefined)),
    await engine.createSession(model(c, hw, block)),
  ];
  const times = [[], []];
  const outs = [];
  for (let r = 0; r <= a.repeats; r++)
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const out = await sessions[i].run(feeds);
      if (r > 0) times[i].push(performance.now() - t0); // the first call of each is a warm-up
      outs[i] = out.y.data;
    }
  let diff = 0;
  let scale = 0;
  for (let j = 0; j < outs[0].length; j++) {
    diff = Math.max(diff, Math.abs(outs[0][j] - outs[1][j]));
    scale = Math.max(scale, Math.abs(outs[0][j]));
  }
  const [plain, nchwc] = times.map(median);
  console.log(
    JSON.stringify({
      channels: c,
      side: hw,
      plain_ms: +plain.toFixed(1),
      nchwc_ms: +nchwc.toFixed(1),
      nchwc_over_plain: +(nchwc / plain).toFixed(3),
      max_rel_diff: +(diff / scale).toExponential(2),
    }),
  );
  await Promise.all(sessions.map((s) => s.release()));
}
