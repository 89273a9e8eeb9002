#!/usr/bin/env node
// The GPU device check: one JSON line per finding, every part guarded so that one failure does not
// stop the rest. Runs from the repository (built packages) or from the archive of bench/gpu/pack.sh
// (bench/gpu/run.sh unpacks it on a bare GPU machine and calls this file, bundled).
//
//   node bench/gpu/check.mjs [--device auto|webgpu|cuda|none] [--parts adapter,placement,correctness,step,unroll,grid,fig4,paper]
//                            [--steps 100] [--gridSteps 500] [--paperSteps 100] [--threads 0]
//                            [--cli apps/reference/dist/cli.js]
//                            [--fig4Timeout 240]
//
// Parts (GPU figures beside the same machine's CPU figures; `--device none` = CPU figures only;
// `--device cpu` treats the CPU as the accelerator, to try the GPU parts on a machine without one):
//   adapter      which GPU execution provider starts (WebGPU over Vulkan, CUDA) and why not
//   placement    which execution provider ran the nodes of the step graphs (Loop and unrolled),
//                from onnxruntime's profile: Loop fallback, CPU-placed nodes, Memcpy host↔device
//   correctness  100 steps of Alg. 2 (paired, n = 1000, d = 200, m = 400) on GPU vs CPU:
//                max relative deviation of the loss (every 10 steps) and of W, v at the end
//   step         the paired step at m ∈ {40, 400, 1200} (K = 10), GPU and CPU, ms/step
//   unroll       K ∈ {1, 5, 10, 20} unrolled steps per call on the GPU at m ∈ {40, 1200}
//   grid         BENCHMARKS.md's 16-configuration grid (widths 40, 400, 800, 1200 × ε ∈ {0.5, 1} ×
//                lr ∈ {1e-3, 5e-4}), GPU and CPU, total seconds and configuration-steps/s
//   paper        the --scale paper Fig. 4 sweep's time, estimated from measured grid throughput
//                at each paper width (batches of the app's GRID_UNITS = 16384 hidden units)
//   fig4         wall time of the app's default Fig. 4 run (`narrownet run synthetic --device gpu`)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { checkCudaProvider } from '../../packages/engine/dist/index.js';
import { createOnnxGridTrainer, createOnnxTrainer, parseArgs, regimeConfig, startOnnx } from '../common.mjs';

const a = parseArgs(process.argv.slice(2), {
  device: 'auto',
  parts: ['adapter', 'placement', 'correctness', 'step', 'unroll', 'grid', 'fig4', 'paper'],
  steps: 100,
  gridSteps: 500,
  paperSteps: 100,
  threads: 0,
  cli: 'apps/reference/dist/cli.js',
  fig4Timeout: 240,
});
const emit = (o) => console.log(JSON.stringify(o));
const round = (x, d = 3) => (Number.isFinite(x) ? +x.toFixed(d) : x);
const spin = { extra: { session: { intra_op: { allow_spinning: '0' } } } };

/** Runs one part; an exception becomes a JSON line with its message instead of ending the check. */
async function part(name, fn) {
  if (!a.parts.includes(name)) return;
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    emit({
      part: name,
      error: String(err?.message ?? err).split('\n')[0],
      seconds: round((performance.now() - t0) / 1000),
    });
  }
}

const startedAt = performance.now();
const smi = spawnSync(
  'nvidia-smi',
  ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
  {
    encoding: 'utf8',
  },
);
const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
emit({
  part: 'machine',
  node: process.version,
  platform: `${process.platform}/${process.arch}`,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  nvidia_smi: smi.status === 0 ? smi.stdout.trim() : null,
  nvidia_device_node: existsSync('/dev/nvidiactl'),
  vulkan_icds: icdDirs.flatMap((d) => (existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : [])),
  ld_library_path: process.env.LD_LIBRARY_PATH ?? null,
  date: new Date().toISOString(),
});

const cpu = await startOnnx({ device: 'cpu', threads: a.threads });
let gpu;

await part('adapter', async () => {
  const tried = {};
  const want = a.device === 'auto' ? ['webgpu', 'cuda'] : a.device === 'none' ? [] : [a.device];
  for (const device of want) {
    if (device === 'cuda') {
      const r = checkCudaProvider();
      tried.cuda_provider = { ok: r.ok, cudaMajor: r.cudaMajor, needed: r.needed, missing: r.missing };
    }
    try {
      const e = await startOnnx({ device });
      tried[device] = 'started';
      gpu ??= e;
    } catch (err) {
      tried[device] = String(err.message).slice(0, 600);
    }
  }
  emit({
    part: 'adapter',
    device: gpu?.device ?? null,
    onnxruntime: cpu.version,
    ...(gpu ? {} : { note: 'no adapter: GPU figures are skipped, CPU figures still follow' }),
    tried,
  });
});

await part('placement', async () => {
  // onnxruntime's profile names the execution provider that ran each node: a Loop fallback, a
  // CPU-placed node or an inserted Memcpy between host and device shows here.
  const engine = gpu ?? cpu;
  const config = regimeConfig({ regime: 'paired', n: 1000, d: 200, m: 40 });
  const graphs = {};
  for (const loop of [true, false]) {
    const prefix = join(tmpdir(), `narrownet-placement-${process.pid}-${loop ? 'loop' : 'unrolled'}`);
    const t = await createOnnxTrainer(engine, config, {
      stepsPerCall: 10,
      loop,
      sessionOptions: { enableProfiling: true, profileFilePrefix: prefix },
    });
    await t.run(20);
    await t.dispose(); // releasing a session writes its profile
    const byProvider = {};
    const cpuOps = new Set();
    let memcpy = 0;
    const dir = dirname(prefix);
    for (const f of readdirSync(dir).filter((x) => x.startsWith(basename(prefix)))) {
      for (const e of JSON.parse(readFileSync(join(dir, f), 'utf8'))) {
        if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
        const provider = e.args?.provider ?? '?';
        const op = e.args?.op_name ?? '?';
        byProvider[provider] = (byProvider[provider] ?? 0) + 1;
        if (provider === 'CPUExecutionProvider' && engine.device !== 'cpu') cpuOps.add(op);
        if (op.startsWith('Memcpy')) memcpy++;
      }
      rmSync(join(dir, f));
    }
    graphs[loop ? 'loop' : 'unrolled'] = {
      kernel_runs_by_provider: byProvider,
      cpu_op_types: [...cpuOps].sort(),
      memcpy_kernel_runs: memcpy,
    };
  }
  emit({
    part: 'placement',
    device: engine.device,
    steps: 20,
    graphs,
    note: 'kernel runs of the step sessions; Memcpy counts in-graph host↔device copies only (inputs bound on the host are copied outside the graph)',
  });
});

/** Max |a − b| / max |b| over arrays. */
function relDev(x, y) {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    err = Math.max(err, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return err / Math.max(scale, 1e-30);
}

await part('correctness', async () => {
  if (!gpu) return emit({ part: 'correctness', skipped: 'no adapter' });
  const config = regimeConfig({ regime: 'paired', n: 1000, d: 200, m: 400 });
  const run = async (engine) => {
    const t = await createOnnxTrainer(engine, config, { stepsPerCall: 10, sessionOptions: spin });
    const losses = [];
    for (let i = 0; i < a.steps / 10; i++) losses.push(await t.run(10));
    const st = await t.state();
    await t.dispose();
    return { losses, W: st.params.W.data, v: st.params.v.data };
  };
  const [c, g] = [await run(cpu), await run(gpu)];
  emit({
    part: 'correctness',
    device: gpu.device,
    steps: a.steps,
    m: 400,
    max_rel_dev_loss: round(Math.max(...c.losses.map((l, i) => Math.abs(g.losses[i] - l) / Math.abs(l))), 9),
    max_rel_dev_W: round(relDev(g.W, c.W), 9),
    max_rel_dev_v: round(relDev(g.v, c.v), 9),
    final_loss_cpu: c.losses.at(-1),
    final_loss_gpu: g.losses.at(-1),
  });
});

async function msPerStep(engine, m, steps) {
  const t = await createOnnxTrainer(engine, regimeConfig({ regime: 'paired', n: 1000, d: 200, m }), {
    stepsPerCall: 10,
    sessionOptions: spin,
  });
  await t.run(10);
  const t0 = performance.now();
  const loss = await t.run(steps);
  const ms = (performance.now() - t0) / steps;
  await t.dispose();
  return { ms, loss };
}

await part('step', async () => {
  for (const m of [40, 400, 1200]) {
    const c = await msPerStep(cpu, m, 50);
    const g = gpu ? await msPerStep(gpu, m, a.steps) : undefined;
    emit({
      part: 'step',
      regime: 'paired',
      m,
      K: 10,
      cpu_ms_per_step: round(c.ms),
      ...(g
        ? { gpu: gpu.device, gpu_ms_per_step: round(g.ms), speedup_gpu_over_cpu: round(c.ms / g.ms, 2) }
        : { gpu: null }),
      final_loss_cpu: c.loss,
      ...(g ? { final_loss_gpu: g.loss } : {}),
    });
  }
});

await part('unroll', async () => {
  if (!gpu) return emit({ part: 'unroll', skipped: 'no adapter' });
  // K for the Loop-free step on the GPU itself (the CPU EP was only a proxy): creation and ms/step
  for (const m of [40, 1200])
    for (const K of [1, 5, 10, 20]) {
      const t0 = performance.now();
      const t = await createOnnxTrainer(gpu, regimeConfig({ regime: 'paired', n: 1000, d: 200, m }), {
        stepsPerCall: K,
        sessionOptions: spin,
      });
      const create = performance.now() - t0;
      await t.run(K);
      const t1 = performance.now();
      await t.run(K * Math.ceil(a.steps / K));
      const ms = (performance.now() - t1) / (K * Math.ceil(a.steps / K));
      await t.dispose();
      emit({
        part: 'unroll',
        device: gpu.device,
        m,
        K,
        create_ms: Math.round(create),
        ms_per_step: round(ms),
      });
    }
});

/** Grid throughput of `configsFor(m)` at each width: seconds (session creation included) and config-steps/s. */
async function gridRun(engine, widths, configsFor, steps) {
  const t0 = performance.now();
  let configs = 0;
  const perWidth = [];
  for (const m of widths) {
    const w0 = performance.now();
    const cs = configsFor(m);
    const g = await createOnnxGridTrainer(engine, cs, { stepsPerCall: 10, sessionOptions: spin });
    await g.run(steps);
    await g.dispose();
    configs += cs.length;
    perWidth.push({ m, G: cs.length, s: round((performance.now() - w0) / 1000) });
  }
  const total = (performance.now() - t0) / 1000;
  return {
    total_s: round(total),
    configs,
    config_steps_per_s: round((configs * steps) / total, 1),
    perWidth,
  };
}

await part('grid', async () => {
  const configsFor = (m) => {
    const out = [];
    for (const eps of [0.5, 1])
      for (const lr of [1e-3, 5e-4])
        out.push(regimeConfig({ regime: 'paired', n: 1000, d: 200, m, eps, lr1: lr, lr2: lr }));
    return out;
  };
  const widths = [40, 400, 800, 1200];
  const c = await gridRun(cpu, widths, configsFor, a.gridSteps);
  const g = gpu ? await gridRun(gpu, widths, configsFor, a.gridSteps) : undefined;
  emit({
    part: 'grid',
    steps: a.gridSteps,
    configs: c.configs,
    cpu: c,
    ...(g
      ? {
          gpu_device: gpu.device,
          gpu: g,
          throughput_gpu_over_cpu: round(g.config_steps_per_s / c.config_steps_per_s, 2),
        }
      : { gpu: null }),
  });
});

await part('fig4', async () => {
  if (!gpu) return emit({ part: 'fig4', skipped: 'no adapter' });
  const out = join(tmpdir(), `narrownet-fig4-${Date.now()}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [a.cli, 'run', 'synthetic', '--device', 'gpu', '--out', out], {
    encoding: 'utf8',
    timeout: a.fig4Timeout * 1000,
    maxBuffer: 256 << 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  const engineLine = (r.stderr ?? '').split('\n').find((l) => l.startsWith('narrownet: engine'));
  emit({
    part: 'fig4',
    command: `node ${a.cli} run synthetic --device gpu --out ${out}`,
    exit: r.status,
    timed_out: r.error?.code === 'ETIMEDOUT',
    wall_s: round(seconds, 1),
    engine: engineLine ?? null,
    ...(r.status !== 0 ? { stderr_tail: (r.stderr ?? '').slice(-600) } : {}),
  });
});

await part('paper', async () => {
  if (!gpu) return emit({ part: 'paper', skipped: 'no adapter' });
  // --scale paper: 9 widths × 10 radii × 49 step-size pairs × 2 regimes, 200,000 steps each.
  const widths = [20, 40, 80, 100, 200, 400, 800, 1000, 1200];
  const runsPerWidth = 2 * 10 * 49;
  const steps = a.paperSteps;
  let seconds = 0;
  const rows = [];
  for (const m of widths) {
    const G = Math.min(10 * 49, Math.max(1, Math.floor(16384 / m)));
    const cs = Array.from({ length: G }, (_, i) =>
      regimeConfig({ regime: 'paired', n: 1000, d: 200, m, eps: 1 + (i % 10), lr1: 1e-5, lr2: 1e-5 }),
    );
    const g = await createOnnxGridTrainer(gpu, cs, { stepsPerCall: 10, sessionOptions: spin });
    await g.run(10);
    const t0 = performance.now();
    await g.run(steps);
    const dt = (performance.now() - t0) / 1000;
    await g.dispose();
    const rate = (G * steps) / dt;
    seconds += (runsPerWidth * 200_000) / rate;
    rows.push({ m, G, config_steps_per_s: round(rate, 1) });
  }
  emit({
    part: 'paper',
    device: gpu.device,
    per_width: rows,
    estimated_hours: round(seconds / 3600, 2),
    note: 'paired-regime throughput used for both regimes; metrics, λ_min and checkpoints not included',
  });
});

emit({ part: 'done', seconds: round((performance.now() - startedAt) / 1000, 1) });
