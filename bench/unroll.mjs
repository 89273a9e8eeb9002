#!/usr/bin/env node
// K for the Loop-free (unrolled) fused step, measured on the CPU execution provider as a proxy for
// WebGPU (which has no Loop kernel): for each width, the ONNX Loop at K = 10 (the CPU default)
// against K unrolled copies of the step, paired regime (Alg. 2), n = 1000, d = 200. Prints one
// JSON line per case: session creation time (all sessions of the trainer) and ms/step.
//
//   node bench/unroll.mjs [--m 40,1200] [--ks 1,2,5,10,20] [--steps 100] [--threads 2]
//                         [--device cpu|webgpu] [--resident 0|1]
import { createOnnxTrainer, parseArgs, regimeConfig, startOnnx } from './common.mjs';

const a = parseArgs(process.argv.slice(2), {
  m: [40, 1200],
  ks: [1, 2, 5, 10, 20],
  steps: 100,
  warmup: 5,
  threads: 2,
  n: 1000,
  d: 200,
  device: 'cpu',
  resident: -1,
});
const engine = await startOnnx({ device: a.device, threads: a.threads });
const spin = { extra: { session: { intra_op: { allow_spinning: '0' } } } };
for (const m of a.m) {
  const config = regimeConfig({ regime: 'paired', n: a.n, d: a.d, m });
  const cases = [{ loop: true, K: 10 }, ...a.ks.map((K) => ({ loop: false, K }))];
  for (const { loop, K } of cases) {
    const t0 = performance.now();
    const trainer = await createOnnxTrainer(engine, config, {
      stepsPerCall: K,
      loop,
      ...(a.resident >= 0 ? { resident: a.resident === 1 } : {}),
      sessionOptions: spin,
    });
    const create = performance.now() - t0;
    await trainer.run(a.warmup);
    const t1 = performance.now();
    const loss = await trainer.run(a.steps);
    const dt = performance.now() - t1;
    await trainer.dispose();
    console.log(
      JSON.stringify({
        device: engine.device,
        m,
        mode: loop ? 'loop' : 'unrolled',
        K,
        create_ms: Math.round(create),
        ms_per_step: Math.round((dt / a.steps) * 1000) / 1000,
        final_loss: loss,
      }),
    );
  }
}
