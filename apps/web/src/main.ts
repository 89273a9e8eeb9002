import type { OnnxEngine } from '@narrownet/engine';
import { drawChart } from './chart.js';
import { startPageEngine } from './ort.js';
import { DEFAULTS, type HistoryPoint, LiveRun, type PageSettings } from './session.js';

type Status = 'loading' | 'ready' | 'running' | 'stopped' | 'done' | 'diverged' | 'error';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('settings');
const buttons = {
  start: $<HTMLButtonElement>('start'),
  stop: $<HTMLButtonElement>('stop'),
  resume: $<HTMLButtonElement>('resume'),
};
const query = new URLSearchParams(location.search);

let engine: OnnxEngine | undefined;
let run: LiveRun | undefined;
let running = false;
let status: Status = 'loading';
let message = '';
let lambdaMin: number | undefined;
let trainMs = 0;
let trainSteps = 0;

// The form starts from the defaults, overridden by same-named URL parameters (?width=400&regime=regular).
for (const [k, v] of Object.entries(DEFAULTS)) {
  const input = form.elements.namedItem(k) as HTMLInputElement | HTMLSelectElement | null;
  if (input) input.value = query.get(k) ?? String(v);
}

function readSettings(): PageSettings {
  const get = (k: keyof PageSettings) => (form.elements.namedItem(k) as HTMLInputElement).value;
  const num = (k: keyof PageSettings) => {
    const v = Number(get(k));
    if (get(k).trim() === '' || !Number.isFinite(v)) throw new RangeError(`${k}: not a number`);
    return v;
  };
  return {
    regime: get('regime') as PageSettings['regime'],
    n: num('n'),
    d: num('d'),
    width: num('width'),
    radius: num('radius'),
    lr1: num('lr1'),
    lr2: num('lr2'),
    momentum: num('momentum'),
    steps: num('steps'),
    stepsPerCall: num('stepsPerCall'),
    seed: num('seed'),
  };
}

function render(): void {
  const h: readonly HistoryPoint[] = run?.history ?? [];
  const last = h[h.length - 1];
  const rate = trainSteps > 0 ? `, ${(trainMs / trainSteps).toFixed(3)} ms/step` : '';
  $('status').textContent =
    `${status}${message ? `: ${message}` : ''}` +
    (last
      ? ` — step ${last.step}/${run!.settings.steps}, loss ${last.loss.toPrecision(6)}, ‖W − W0‖_F ${last.distance.toPrecision(4)}${rate}`
      : '');
  drawChart(
    $('loss'),
    'training loss ½Σ(y − f(x))² (log scale)',
    [{ label: run?.regime.name ?? '', color: '#1f77b4', points: h.map((p) => ({ x: p.step, y: p.loss })) }],
    { logY: true },
  );
  const radius = run && run.settings.regime !== 'regular' ? run.settings.radius : undefined;
  drawChart(
    $('distance'),
    '‖W − W0‖_F (dashed: ε)',
    [{ label: 'distance from init', color: '#d62728', points: h.map((p) => ({ x: p.step, y: p.distance })) }],
    radius !== undefined ? { yMax: radius } : {},
  );
  $('lambda').textContent =
    `λ_min(J) at the end: ${lambdaMin === undefined ? '—' : lambdaMin.toPrecision(6)}`;
  buttons.start.disabled = status === 'loading' || running;
  buttons.stop.disabled = !running;
  buttons.resume.disabled = running || status !== 'stopped';
}

const yieldToPage = () => new Promise<void>((r) => setTimeout(r, 0));

async function loop(): Promise<void> {
  if (!run) return;
  running = true;
  status = 'running';
  message = '';
  render();
  try {
    while (running && !run.finished) {
      const until = performance.now() + 25;
      do {
        const t0 = performance.now();
        const before = run.step;
        await run.advance();
        trainMs += performance.now() - t0;
        trainSteps += run.step - before;
      } while (running && !run.finished && performance.now() < until);
      render();
      await yieldToPage();
    }
    running = false;
    if (run.finished) {
      const last = run.history[run.history.length - 1]!;
      if (Number.isFinite(last.loss)) {
        status = 'done';
        lambdaMin = await run.lambdaMin();
      } else {
        status = 'diverged';
        message = `the loss left the finite range by step ${last.step}; lower the step sizes`;
      }
    } else status = 'stopped';
  } catch (err) {
    running = false;
    status = 'error';
    message = err instanceof Error ? err.message : String(err);
  }
  render();
}

buttons.start.addEventListener('click', async () => {
  if (!engine || running) return;
  try {
    const settings = readSettings();
    await run?.dispose();
    run = undefined;
    lambdaMin = undefined;
    trainMs = 0;
    trainSteps = 0;
    run = await LiveRun.create(engine, settings);
  } catch (err) {
    status = 'error';
    message = err instanceof Error ? err.message : String(err);
    render();
    return;
  }
  void loop();
});
buttons.stop.addEventListener('click', () => {
  running = false;
});
buttons.resume.addEventListener('click', () => {
  if (status === 'stopped') void loop();
});

/** Times `steps` steps of a fresh run (after one warm-up call), without drawing: ms per step. */
async function bench(settings: Partial<PageSettings>, steps: number): Promise<number> {
  if (!engine) throw new Error('engine not started');
  const r = await LiveRun.create(engine, {
    ...DEFAULTS,
    ...settings,
    steps: steps + (settings.stepsPerCall ?? DEFAULTS.stepsPerCall),
  });
  await r.trainer.run(r.settings.stepsPerCall);
  const t0 = performance.now();
  await r.trainer.run(steps);
  const ms = (performance.now() - t0) / steps;
  await r.dispose();
  return ms;
}

/** What the browser test and the benchmark read. */
const api = {
  get status() {
    return status;
  },
  get message() {
    return message;
  },
  get history() {
    return run?.history ?? [];
  },
  get lambdaMin() {
    return lambdaMin;
  },
  get engine() {
    return engine
      ? { describe: engine.describe(), device: engine.device, threads: engine.threads }
      : undefined;
  },
  get trainer() {
    return run?.trainer.info;
  },
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  bench,
};
(globalThis as unknown as { narrownet: typeof api }).narrownet = api;

render();
const threads = Number(query.get('threads') ?? '1');
startPageEngine(threads).then(
  (e) => {
    engine = e;
    status = 'ready';
    $('engine').textContent =
      `${e.describe()}; device ${e.device} (CPU); cross-origin isolated: ${api.crossOriginIsolated ? 'yes' : 'no'} — more WASM threads: ?threads=2 on a server sending COOP/COEP headers`;
    render();
  },
  (err: unknown) => {
    status = 'error';
    message = err instanceof Error ? err.message : String(err);
    render();
  },
);
