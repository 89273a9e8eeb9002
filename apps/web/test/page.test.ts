// The page in a real browser: builds it with vite, serves it on 127.0.0.1, drives Debian's
// headless chromium through playwright-core, trains through the page's own buttons, and checks
// the browser's losses (onnxruntime-web, WASM) against the same run on onnxruntime-node.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OnnxEngine, startOnnx } from '@narrownet/engine';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium, launchChromium } from '../scripts/chromium.mjs';
import { serveStatic } from '../scripts/serve.mjs';
import { DEFAULTS, type HistoryPoint, LiveRun, type PageSettings } from '../src/session.js';

const here = dirname(fileURLToPath(import.meta.url));
const app = join(here, '..');
const present = hasChromium();
if (!present && process.env.CI)
  throw new Error(
    `CI is set but ${CHROMIUM} is missing: .ci/run installs Debian's chromium (apt-get install -y chromium)`,
  );

interface PageApi {
  status: string;
  message: string;
  history: HistoryPoint[];
  lambdaMin?: number;
  engine?: { describe: string; device: string; threads: number };
  trainer?: { engine: string; backend: string; device: string };
}
declare const narrownet: PageApi;

/** The same run on onnxruntime-node's CPU execution provider. */
async function nodeRun(engine: OnnxEngine, settings: PageSettings) {
  const run = await LiveRun.create(engine, settings);
  while (!run.finished) await run.advance();
  const lambdaMin = await run.lambdaMin();
  await run.dispose();
  return { history: run.history, lambdaMin };
}

function expectClose(browser: HistoryPoint[], node: HistoryPoint[], rel: number): void {
  expect(browser.map((p) => p.step)).toEqual(node.map((p) => p.step));
  for (const [i, p] of browser.entries()) {
    const q = node[i]!;
    expect(
      Math.abs(p.loss - q.loss),
      `loss at step ${p.step}: browser ${p.loss}, node ${q.loss}`,
    ).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(q.loss)));
    expect(Math.abs(p.distance - q.distance), `‖W − W0‖ at step ${p.step}`).toBeLessThanOrEqual(
      rel * Math.max(1, q.distance),
    );
  }
}

describe.skipIf(!present)(`the page in headless chromium (${CHROMIUM})`, () => {
  let server: Awaited<ReturnType<typeof serveStatic>>;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let engine: OnnxEngine;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await build({ root: join(app, 'src'), configFile: join(app, 'vite.config.ts'), logLevel: 'warn' });
    server = await serveStatic(join(app, 'dist'));
    browser = await launchChromium();
    engine = await startOnnx({ device: 'cpu', threads: 1 });
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const open = async (query: string) => {
    await page.goto(`${server.url}?${query}`);
    await page.waitForFunction(() => narrownet.status !== 'loading', null, { timeout: 60_000 });
    expect(await page.evaluate(() => [narrownet.status, narrownet.message])).toEqual(['ready', '']);
  };
  const settle = () =>
    page.waitForFunction(() => ['done', 'diverged', 'error'].includes(narrownet.status), null, {
      timeout: 90_000,
    });

  it('trains 100 steps of Alg. 2 with the losses of onnxruntime-node (to 1e-5), and λ_min(J) at the end', async () => {
    await open('steps=100&stepsPerCall=10');
    await page.click('#start');
    await settle();
    const got = await page.evaluate(() => ({
      status: narrownet.status,
      history: narrownet.history,
      lambdaMin: narrownet.lambdaMin,
      engine: narrownet.engine,
      trainer: narrownet.trainer,
    }));
    expect(got.status).toBe('done');
    expect(got.engine?.device).toBe('wasm');
    expect(got.trainer).toEqual({ engine: 'onnx', backend: 'wasm', device: 'cpu' });
    const ref = await nodeRun(engine, { ...DEFAULTS, steps: 100, stepsPerCall: 10 });
    expect(got.history).toHaveLength(11);
    expectClose(got.history, ref.history, 1e-5);
    // The run really trained: the loss fell and W left its init.
    expect(got.history[10]!.loss).toBeLessThan(got.history[0]!.loss);
    expect(got.history[10]!.distance).toBeGreaterThan(0);
    expect(Math.abs(got.lambdaMin! - ref.lambdaMin)).toBeLessThanOrEqual(1e-4 * ref.lambdaMin);
    expect(await page.textContent('#lambda')).toContain(got.lambdaMin!.toPrecision(6));
    expect(errors).toEqual([]);
  });

  it('stops and resumes a run (the ball ablation) and ends where an uninterrupted node run ends', async () => {
    const settings = { ...DEFAULTS, regime: 'constrainedRegular' as const, steps: 6000, stepsPerCall: 10 };
    await open('regime=constrainedRegular&steps=6000&stepsPerCall=10');
    await page.click('#start');
    await page.waitForFunction(() => narrownet.history.length > 5);
    await page.click('#stop');
    await page.waitForFunction(() => narrownet.status === 'stopped', null, { timeout: 30_000 });
    const stoppedAt = await page.evaluate(() => narrownet.history[narrownet.history.length - 1]!.step);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(6000);
    expect(await page.isEnabled('#resume')).toBe(true);
    await page.click('#resume');
    await settle();
    const history = await page.evaluate(() => narrownet.history);
    const ref = await nodeRun(engine, settings);
    // Losses agree to 1e-5 relative over the first 100 steps; after thousands of float32 steps in
    // two runtimes the iterates drift apart by rounding, so the end is compared to 1e-3.
    expectClose(history.slice(0, 11), ref.history.slice(0, 11), 1e-5);
    expectClose(history.slice(-1), ref.history.slice(-1), 1e-3);
    expect(history[history.length - 1]!.distance).toBeLessThanOrEqual(DEFAULTS.radius * (1 + 1e-6));
    // The screenshot of the finished page is kept as an artefact (apps/web/artifacts, gitignored).
    mkdirSync(join(app, 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(app, 'artifacts', 'page.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
