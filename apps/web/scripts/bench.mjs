// Browser vs node, same graph: ms per optimizer step of the page's run (Alg. 2 on Zhang et al.'s
// synthetic data, n = 200, d = 20, K steps per call, default 10) on onnxruntime-web's WASM backend in
// headless chromium (1 and 2 threads; the server sends COOP/COEP so 2 threads are possible) and on
// onnxruntime-node's CPU execution provider (1 and 2 threads), at m ∈ {40, 400}.
//   node scripts/bench.mjs [--repeats 3] [--steps-per-call 10]   (after `vite build`; the `bench` script does both)
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startOnnx } from '@narrownet/engine';
import { build } from 'esbuild';
import { hasChromium, launchChromium } from './chromium.mjs';
import { serveStatic } from './serve.mjs';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
/** @param {string} flag @param {number} fallback */
function intFlag(flag, fallback) {
  const i = args.indexOf(flag);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench: ${flag} must be a positive integer, got ${args[i + 1]}`);
    process.exit(2);
  }
  return v;
}
const repeats = intFlag('--repeats', 3);
const K = intFlag('--steps-per-call', 10);
if (!hasChromium()) {
  console.error('bench: /usr/bin/chromium is missing (apt-get install -y chromium)');
  process.exit(1);
}

// The page's own run definition (src/session.ts), bundled for node with the packages external.
// Written inside the app (gitignored .bench/) so that its imports resolve from apps/web.
const tmp = mkdtempSync(join(app, '.bench-'));
await build({
  entryPoints: [join(app, 'src', 'session.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: join(tmp, 'session.mjs'),
  logLevel: 'error',
});
const { DEFAULTS, LiveRun } = await import(pathToFileURL(join(tmp, 'session.mjs')).href);
rmSync(tmp, { recursive: true, force: true });

const WIDTHS = [40, 400];
const THREADS = [1, 2];
/** @param {number} m */
const stepsFor = (m) => (m <= 40 ? 2000 : 500);
/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** @param {number} m @param {number} threads */
async function nodeMs(m, threads) {
  const engine = await startOnnx({ device: 'cpu', threads });
  const steps = stepsFor(m);
  const out = [];
  for (let i = 0; i < repeats; i++) {
    const run = await LiveRun.create(engine, { ...DEFAULTS, width: m, stepsPerCall: K, steps: steps + K });
    await run.trainer.run(K);
    const t0 = performance.now();
    await run.trainer.run(steps);
    out.push((performance.now() - t0) / steps);
    await run.dispose();
  }
  return median(out);
}

const server = await serveStatic(join(app, 'dist'), { isolate: true });
const browser = await launchChromium();
/** @type {{ m: number, threads: number, browser: number, node: number }[]} */
const rows = [];
try {
  for (const threads of THREADS) {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}?threads=${threads}`);
    await page.waitForFunction(() => /** @type {any} */ (globalThis).narrownet?.status !== 'loading', null, {
      timeout: 60_000,
    });
    const ready = await page.evaluate(() => [
      /** @type {any} */ (globalThis).narrownet.status,
      /** @type {any} */ (globalThis).narrownet.message,
    ]);
    if (ready[0] !== 'ready')
      throw new Error(`page did not start with ${threads} threads: ${ready.join(': ')}`);
    for (const m of WIDTHS) {
      const out = [];
      for (let i = 0; i < repeats; i++)
        out.push(
          await page.evaluate(
            ([w, s, k]) => /** @type {any} */ (globalThis).narrownet.bench({ width: w, stepsPerCall: k }, s),
            [m, stepsFor(m), K],
          ),
        );
      rows.push({ m, threads, browser: median(out), node: await nodeMs(m, threads) });
    }
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}

console.log(`browser: chromium headless, onnxruntime-web 1.30 WASM; node: onnxruntime-node 1.30 CPU EP`);
console.log(`run: Alg. 2, n = 200, d = 20, ${K} steps per call, median of ${repeats}`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log('| m | threads | browser ms/step | node ms/step | browser / node |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const x of rows)
  console.log(
    `| ${x.m} | ${x.threads} | ${x.browser.toFixed(4)} | ${x.node.toFixed(4)} | ${(x.browser / x.node).toFixed(2)}× |`,
  );
