// One training step of a CIFAR ResNet-18 with its final stage narrowed (Zhang et al. Sec. 5.2):
// narrownet's fused onnxruntime step (`buildConvStepModel` of @narrownet/regime: train-mode
// forward, analytic backward, SGD momentum 0.9 + weight decay 5e-4, running statistics, one
// graph) against PyTorch (bench/torch_conv_step.py, the same net and optimizer), interleaved
// width by width in one invocation, and the frozen-trunk step (only the final stage and the head,
// `splitResNet(spec).head`, on features of the final stage's input) against the full step.
// float32, CPU, random inputs.
//
//   node bench/conv-step.mjs [--final 64,512] [--batch 128] [--size 32] [--steps 3] [--warmup 1]
//                            [--threads 2] [--torchThreads 1] [--repeats 1] [--nchwc 1] [--plain 0]
//
// --nchwc 1 (default): the convolutions on onnxruntime's CPU NCHWc kernels when the engine has
// them (`nchwcBlockSize`, as createOnnxResNetTrainer does); 0: plain ONNX Conv. --plain 1 also
// times the full step without NCHWc in the same invocation (column plain_ms). --profile 1: instead
// of the comparison, onnxruntime's per-operator profile of the full step (`--steps` runs after the
// warm-up) for each final width, at the --nchwc setting.
//
// Build first: npx -y pnpm@10.34.8 exec turbo run build --filter=@narrownet/regime... --filter=@narrownet/engine
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOnnx } from '../packages/engine/dist/index.js';
import { initResNet } from '../packages/init/dist/index.js';
import {
  createRng,
  resnet18,
  resnetBufferShapes,
  resnetParamShapes,
  splitResNet,
} from '../packages/models/dist/index.js';
import { buildConvStepModel, nchwcBlockSize } from '../packages/regime/dist/index.js';
import { parseArgs, printProfile, readProfiles } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const a = parseArgs(process.argv.slice(2), {
  final: [64, 512],
  batch: 128,
  size: 32,
  classes: 10,
  steps: 3,
  warmup: 1,
  threads: 2,
  torchThreads: 1,
  repeats: 1,
  nchwc: 1,
  plain: 0,
  profile: 0,
  python: '/usr/bin/python3',
});

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function ours(engine, final, frozen, block) {
  const full = resnet18({ classes: a.classes, input: [3, a.size, a.size], finalWidth: final });
  // Frozen trunk: only the final stage and the head, on cached features of the final stage's input.
  const spec = frozen ? splitResNet(full).head : full;
  const init = initResNet(full, {}, createRng(0));
  const params = Object.fromEntries(Object.keys(resnetParamShapes(spec)).map((k) => [k, init.params[k]]));
  const buffers = Object.fromEntries(Object.keys(resnetBufferShapes(spec)).map((k) => [k, init.buffers[k]]));
  const update = { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 };
  const step = buildConvStepModel(
    spec,
    { groups: [{ params: Object.keys(params), lr: 0.1, update }] },
    undefined,
    block ? { nchwcBlock: block } : {},
  );
  const prefix = `/tmp/narrownet-conv-profile-${process.pid}-${final}`;
  const session = await engine.createSession(
    step.model,
    a.profile && !frozen ? { enableProfiling: true, profileFilePrefix: prefix } : {},
  );
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const rng = createRng(1);
  const X = engine.tensor(
    Float32Array.from({ length: a.batch * d }, () => rng.normal()),
    [a.batch, d],
  );
  const Yd = new Float32Array(a.batch * a.classes);
  for (let i = 0; i < a.batch; i++) Yd[i * a.classes + Math.floor(rng.uniform() * a.classes)] = 1;
  const Y = engine.tensor(Yd, [a.batch, a.classes]);
  let state = {};
  for (const [k, t] of Object.entries(params)) state[`p.${k}`] = engine.tensor(t.data, t.shape);
  for (const [k, t] of Object.entries(buffers)) state[`b.${k}`] = engine.tensor(t.data, t.shape);
  for (const [k, s] of Object.entries(step.slotShapes))
    state[`s.${k}`] = engine.tensor(new Float32Array(s.reduce((x, y) => x * y, 1)), s);
  let stepT = new engine.ort.Tensor('int64', new BigInt64Array([0n]), []);
  const times = [];
  let loss = Number.NaN;
  for (let i = 0; i < a.warmup + a.steps; i++) {
    const t0 = performance.now();
    const out = await session.run({ ...state, X, Y, step: stepT });
    const dt = performance.now() - t0;
    if (i >= a.warmup) times.push(dt);
    const next = {};
    for (const [key, v] of Object.entries(out)) {
      const m = /^([PBS])\.(.*)$/.exec(key);
      if (m) next[`${m[1].toLowerCase()}.${m[2]}`] = v;
    }
    state = next;
    stepT = out.step_out;
    loss = out.loss.data[0];
  }
  await session.release(); // releasing a profiled session writes its profile file
  if (a.profile && !frozen) {
    const { byOp, byNode, total } = readProfiles(prefix);
    console.log(`# profile, final width ${final} (the warm-up step included):`);
    printProfile({ byOp, byNode, total }, 8);
  }
  return { ms: median(times), all_ms: times, loss };
}

function torch(final) {
  const args = [resolve(here, 'torch_conv_step.py'), '--final', final, '--batch', a.batch, '--size', a.size];
  args.push('--classes', a.classes, '--steps', a.steps, '--warmup', a.warmup, '--threads', a.torchThreads);
  const r = spawnSync(a.python, args.map(String), { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || '').trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const engine = await startOnnx({ device: 'cpu', threads: a.threads });
console.log(
  `# ResNet-18 step, batch ${a.batch}, ${a.size}×${a.size}, onnxruntime ${engine.version} ${a.threads} threads vs PyTorch ${a.torchThreads} threads`,
);
const block = a.nchwc ? await nchwcBlockSize(engine) : undefined;
console.log(`# NCHWc kernels: ${block ? `block ${block}` : 'off'}`);
for (let r = 0; r < a.repeats; r++) {
  for (const final of a.final) {
    const o = await ours(engine, final, false, block);
    if (a.profile) continue;
    const p = a.plain && block ? await ours(engine, final, false, undefined) : undefined;
    const f = await ours(engine, final, true, block);
    const t = torch(final);
    const ratio = t.ms ? (o.ms / t.ms).toFixed(2) : 'n/a';
    console.log(
      JSON.stringify({
        final,
        narrownet_ms: Math.round(o.ms),
        ...(p ? { plain_ms: Math.round(p.ms), nchwc_over_plain: (o.ms / p.ms).toFixed(3) } : {}),
        torch_ms: t.ms ? Math.round(t.ms) : null,
        ratio,
        frozen_trunk_ms: Math.round(f.ms),
        frozen_over_full: (f.ms / o.ms).toFixed(3),
        narrownet_all: o.all_ms.map(Math.round),
        torch_all: t.all_ms?.map(Math.round),
        losses: [o.loss, t.loss],
        ...(t.error ? { torch_error: t.error } : {}),
      }),
    );
  }
}
