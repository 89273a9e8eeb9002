import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { zhangSynthetic } from '@narrownet/datasets';
import { initParams } from '@narrownet/init';
import { jacobianLambdaMin } from '@narrownet/landscape';
import { type ParamTree, createRng, lossAndGrad64 } from '@narrownet/models';
import { kktResidual, relativeStationarity } from '@narrownet/optim';
import {
  type GridTrainer,
  type RegimeSpec,
  type TrainerConfig,
  type TrainerFactory,
  type TrainerInfo,
  type TrainerState,
  constrainedRegular,
  loadTrainCheckpoint,
  saveTrainCheckpoint,
  train,
  zhang2021,
} from '@narrownet/regime';
import type { ClaimCheck } from './claims.js';
import { UsageError } from './options.js';
import { ProgressBar, type ProgressStream, formatDuration } from './progress.js';
import { type CellBest, writeFileAtomic, writeReport } from './report.js';
import { type RunKey, type RunRecord, appendRun, readRuns, runId } from './runs.js';

/** The two regimes of Zhang et al. Fig. 4. */
export const SYNTHETIC_REGIMES = ['zhang2021', 'constrainedRegular'] as const;

/** Everything that defines a synthetic sweep (stored as `config.json` in the run directory). */
export interface SyntheticSettings {
  scale: 'default' | 'paper';
  /** Hidden widths m. */
  widths: number[];
  /** Hidden-weight ball radii ε (1000 = unconstrained). */
  radii: number[];
  /** Step-size grid of the hidden weights W. */
  lrs1: number[];
  /** Step-size grid of the outer weights v. */
  lrs2: number[];
  regimes: (typeof SYNTHETIC_REGIMES)[number][];
  /** Optimizer steps per run. */
  steps: number;
  /** Sample size and input dimension of the synthetic set (App. H.2: 1000, 200). */
  n: number;
  d: number;
  /** Seed of the data and of every init. */
  seed: number;
  momentum: number;
  vConstraint: 'none' | 'exact' | 'paperHeuristic';
  /** Metrics (and the stopping test) every this many steps. */
  evalEvery: number;
  /** Stop a run once its loss is ≤ this. */
  lossTolerance: number;
  /** λ_min(J) at the end of: every run, the runs that are best of their cell when they finish, none. */
  lambdaMin: 'all' | 'best' | 'none';
  /** Checkpoint an unfinished run every this many steps (0 = never); resumed runs continue from it. */
  checkpointEvery: number;
  /**
   * Update rule of both groups: `sgd` (default; App. H.2's heavy ball with `momentum`) or `adam`
   * (β = 0.9, 0.999, ε = 1e-8; lrs1/lrs2 are its step sizes) — an extension, not the paper's.
   */
  update?: 'sgd' | 'adam';
  /**
   * Step-size schedule of both groups: `constant` (default; App. H.2) or `cosine` (annealing to 0
   * over `steps`, PyTorch's CosineAnnealingLR) — an extension for the synthetic task.
   */
  schedule?: 'constant' | 'cosine';
}

/** Adam as the `--update adam` extension uses it (PyTorch's defaults). */
export const ADAM_UPDATE = { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const;

/**
 * App. H.2's step-size grid {1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1, 5e-1} is on App. H.1's
 * `nn.MSELoss` (the mean over n); narrownet's loss is eq. (2)'s ½Σ, whose gradient is n/2 times
 * larger, so the same steps are lr · 2/n on ½Σ: with n = 1000 this list.
 */
export const PAPER_LRS_HALF_SSE = [2e-7, 2e-6, 1e-5, 2e-5, 1e-4, 2e-4, 1e-3];

/**
 * The two scales. `paper`: App. H.2 (widths with the second "100" read as 1000, ten radii, the
 * 7 × 7 step-size grid converted from the mean to ½Σ: {@link PAPER_LRS_HALF_SSE}, 200,000 iterations). `default`: the reduction that finishes in about ten
 * minutes on a 2-core CPU (see the README for what is reduced and the measured time).
 */
export const SCALES: Record<'default' | 'paper', SyntheticSettings> = {
  paper: {
    scale: 'paper',
    widths: [20, 40, 80, 100, 200, 400, 800, 1000, 1200],
    radii: [0.1, 0.2, 0.4, 0.8, 1, 2, 4, 8, 10, 1000],
    lrs1: PAPER_LRS_HALF_SSE,
    lrs2: PAPER_LRS_HALF_SSE,
    regimes: [...SYNTHETIC_REGIMES],
    steps: 200_000,
    n: 1000,
    d: 200,
    seed: 0,
    momentum: 0.9,
    vConstraint: 'none',
    evalEvery: 1000,
    lossTolerance: 0,
    lambdaMin: 'best',
    checkpointEvery: 20_000,
  },
  default: {
    scale: 'default',
    // the paper's three smallest widths, four of its ten radii (incl. 1000 = unconstrained), the
    // step sizes {1e-4, 1e-3} on ½Σ, which are the paper's MSE-mean 0.05 and 0.5 (×2/n, n = 1000),
    // 8000 of its 200,000 iterations: about 8-9 minutes on this 2-core CPU (README)
    widths: [20, 40, 80],
    radii: [0.1, 1, 10, 1000],
    lrs1: [1e-4, 1e-3],
    lrs2: [1e-4, 1e-3],
    regimes: [...SYNTHETIC_REGIMES],
    steps: 8000,
    n: 1000,
    d: 200,
    seed: 0,
    momentum: 0.9,
    vConstraint: 'none',
    evalEvery: 500,
    lossTolerance: 0,
    lambdaMin: 'best',
    checkpointEvery: 0,
  },
};

/** Checks cross-field constraints of the settings (field names in the message). */
export function validateSettings(s: SyntheticSettings): SyntheticSettings {
  if (s.regimes.includes('zhang2021')) {
    const odd = s.widths.filter((m) => m % 2 !== 0);
    if (odd.length)
      throw new UsageError(`widths: the paired net of zhang2021 needs even widths, got ${odd.join(', ')}`);
  }
  if (s.widths.some((m) => m < 2)) throw new UsageError('widths: every width must be ≥ 2');
  if (s.radii.some((r) => !(r > 0))) throw new UsageError('radii: every radius must be > 0');
  if ([...s.lrs1, ...s.lrs2].some((r) => !(r > 0))) throw new UsageError('lrs1/lrs2: step sizes must be > 0');
  return s;
}

/** Every run of the sweep, in the order they are run (widths ascending, then radii, regimes, lrs). */
export function sweepRuns(s: SyntheticSettings): RunKey[] {
  const out: RunKey[] = [];
  for (const width of s.widths)
    for (const radius of s.radii)
      for (const regime of s.regimes)
        for (const lr1 of s.lrs1) for (const lr2 of s.lrs2) out.push({ regime, width, radius, lr1, lr2 });
  return out;
}

/** The regime of one run. */
export function regimeOf(s: SyntheticSettings, k: RunKey): RegimeSpec {
  const common = {
    inputDim: s.d,
    width: k.width,
    lr1: k.lr1,
    lr2: k.lr2,
    momentum: s.momentum,
    steps: s.steps,
    lossTolerance: s.lossTolerance,
    radius: k.radius,
  };
  const r =
    k.regime === 'zhang2021'
      ? zhang2021({ ...common, vConstraint: s.vConstraint })
      : constrainedRegular(common);
  const adam = (s.update ?? 'sgd') === 'adam';
  const cosine = (s.schedule ?? 'constant') === 'cosine';
  if (!adam && !cosine) return r;
  return {
    ...r,
    description: `${r.description}${adam ? '; Adam instead of SGD with momentum' : ''}${cosine ? '; cosine step-size schedule' : ''}`,
    optimizer: {
      ...r.optimizer,
      groups: r.optimizer.groups.map((g) => ({
        ...g,
        ...(adam ? { update: ADAM_UPDATE } : {}),
        ...(cosine ? { schedule: { kind: 'cosine', tMax: s.steps, etaMin: 0 } as const } : {}),
      })),
    },
  };
}

/** Most hidden units (configurations × width) stacked in one grid graph. */
export const GRID_UNITS = 16_384;

/** How runs are executed. */
export interface SweepEngine {
  /** One line naming engine, backend, device, version (goes into config.json and the report). */
  label: string;
  /** Trainer of one run (sequential mode). */
  createTrainer: TrainerFactory;
  /**
   * Grid mode (onnxruntime): all runs of one (regime, width) — every radius and step-size pair —
   * train together in one fused graph (split so that no graph stacks more than
   * {@link GRID_UNITS} hidden units). Such a batch of runs is the unit of resume.
   */
  grid?: (configs: TrainerConfig[]) => Promise<GridTrainer>;
}

/** Hooks for callers and tests. */
export interface SweepHooks {
  /** Called after each finished run with the number finished in this session. */
  onRunDone?: (rec: RunRecord, finishedThisSession: number) => void;
  /** Called after each grid-batch checkpoint with the batch directory and the step. */
  onCheckpoint?: (batchDir: string, step: number) => void;
  /** Aborting stops the sweep (mid-run; that run is not recorded). */
  signal?: AbortSignal;
}

/** Result of {@link runSynthetic}. */
export interface SweepResult {
  dir: string;
  complete: boolean;
  records: RunRecord[];
  cells: CellBest[];
  /** Sec. 5.1's messages checked on the cells (also in report.html). */
  claims: ClaimCheck[];
  wallSeconds: number;
}

/**
 * Diagnostics of a run's final iterate, in float64: ‖W − W0‖_F, ‖v − v0‖, the KKT residual
 * ‖θ − P(θ − ∇ℓ)‖ (η = 1) and the scale-free stationarity ‖P_T(−∇ℓ)‖/‖∇ℓ‖ (0 = KKT point).
 */
function endpoint(
  regime: RegimeSpec,
  params: ParamTree,
  anchors: ParamTree,
  data: { X: Float32Array; Y: Float32Array; n: number },
): { distanceW: number; distanceV: number; kktResidual: number | null; stationarity: number | null } {
  const dist = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let j = 0; j < a.length; j++) s += (a[j]! - b[j]!) ** 2;
    return Math.sqrt(s);
  };
  const W = params.W!.data;
  const distanceW = dist(W, anchors.W!.data);
  const distanceV = dist(params.v!.data, anchors.v!.data);
  const g = lossAndGrad64(regime.model, { W, v: params.v!.data }, data.X, data.Y, data.n, regime.loss);
  if (!Number.isFinite(g.loss)) return { distanceW, distanceV, kktResidual: null, stationarity: null };
  const grads: ParamTree = {};
  for (const [name, arr] of Object.entries(g.grads) as [string, Float64Array][])
    grads[name] = { shape: params[name]!.shape, data: Float32Array.from(arr) };
  return {
    distanceW,
    distanceV,
    kktResidual: kktResidual(regime.optimizer, params, grads, anchors, 1).residual,
    stationarity: relativeStationarity(regime.optimizer, params, grads, anchors).relative,
  };
}

/** What `batch.json` of a grid batch checkpoint holds (the commit point of a checkpoint). */
interface BatchCheckpoint {
  ids: string[];
  step: number;
  curves: [number, number][][];
  divergedAt: (number | null)[];
}

/**
 * Saves every run of a grid batch at one step: the trainer states under `step-<step>/<i>` (one
 * training checkpoint per run), then `batch.json` (written last and atomically: it names the step
 * directory, so a crash mid-way leaves the previous checkpoint in force), then drops older steps.
 */
function writeBatchCheckpoint(
  batchDir: string,
  ids: string[],
  regimes: RegimeSpec[],
  states: TrainerState[],
  curves: [number, number][][],
  divergedAt: (number | undefined)[],
  seed: number,
): void {
  const step = states[0]!.step;
  const stepDir = join(batchDir, `step-${step}`);
  mkdirSync(stepDir, { recursive: true });
  for (const [i, st] of states.entries())
    saveTrainCheckpoint(join(stepDir, String(i)), regimes[i]!, st, seed);
  const meta: BatchCheckpoint = { ids, step, curves, divergedAt: divergedAt.map((d) => d ?? null) };
  writeFileAtomic(join(batchDir, 'batch.json'), `${JSON.stringify(meta)}\n`);
  for (const name of readdirSync(batchDir))
    if (name.startsWith('step-') && name !== `step-${step}`)
      rmSync(join(batchDir, name), { recursive: true, force: true });
}

/** Reads a grid batch checkpoint of exactly these runs, or undefined when there is none. */
function readBatchCheckpoint(
  batchDir: string,
  ids: string[],
  regimes: RegimeSpec[],
):
  | { step: number; states: TrainerState[]; curves: [number, number][][]; divergedAt: (number | undefined)[] }
  | undefined {
  const metaPath = join(batchDir, 'batch.json');
  if (!existsSync(metaPath)) return undefined;
  let meta: BatchCheckpoint;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as BatchCheckpoint;
  } catch (e) {
    throw new Error(
      `${metaPath}: not a batch checkpoint (${(e as Error).message}); delete ${batchDir} to start the batch over`,
    );
  }
  if (!Array.isArray(meta.ids) || meta.ids.join('\n') !== ids.join('\n')) return undefined;
  const states = ids.map((id, i) => {
    const ck = loadTrainCheckpoint(join(batchDir, `step-${meta.step}`, String(i)));
    if (ck.state.step !== meta.step || JSON.stringify(ck.regime) !== JSON.stringify(regimes[i]))
      throw new Error(
        `${batchDir}: the checkpoint of ${id} does not match batch.json (step or regime); delete ${batchDir} to start the batch over`,
      );
    return ck.state;
  });
  return {
    step: meta.step,
    states,
    curves: meta.curves,
    divergedAt: meta.divergedAt.map((d) => d ?? undefined),
  };
}

/** A loss curve for JSON (float32 values), up to its first non-finite loss (a diverged run's). */
function curveOf(points: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [step, loss] of points) {
    if (!Number.isFinite(loss)) break;
    out.push([step, Math.fround(loss)]);
  }
  return out;
}

function safeName(id: string): string {
  return id.replace(/[^a-zA-Z0-9.,-]+/g, '_');
}

/**
 * Runs (or resumes) the synthetic sweep in `dir`: writes `config.json`, appends one line per
 * finished run to `runs.jsonl` (runs already there are skipped), shows a progress bar on
 * `progress`, and writes the Fig. 4 heat maps and `report.html` at the end (also when aborted,
 * from the runs finished so far).
 */
export async function runSynthetic(
  settings: SyntheticSettings,
  dir: string,
  engine: SweepEngine,
  progress: ProgressStream,
  command: string,
  hooks: SweepHooks = {},
): Promise<SweepResult> {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  const cfgPath = join(dir, 'config.json');
  const runsPath = join(dir, 'runs.jsonl');
  let priorWall = 0;
  if (existsSync(cfgPath)) {
    const prev = JSON.parse(readFileSync(cfgPath, 'utf8')) as {
      settings: SyntheticSettings;
      wallSeconds?: number;
    };
    if (JSON.stringify(prev.settings) !== JSON.stringify(settings))
      throw new UsageError(
        `${cfgPath}: the directory holds a run with other settings; use --resume ${dir} or another --out`,
      );
    priorWall = prev.wallSeconds ?? 0;
  }
  const saveCfg = (wall: number) =>
    writeFileAtomic(
      cfgPath,
      `${JSON.stringify({ settings, wallSeconds: wall, engine: engine.label, command }, null, 2)}\n`,
    );
  saveCfg(priorWall);
  const records = readRuns(runsPath);
  const done = new Set(records.map((r) => r.id));
  const all = sweepRuns(settings);
  const todo = all.filter((k) => !done.has(runId(k)));
  const data = zhangSynthetic({ n: settings.n, d: settings.d, seed: settings.seed });
  const bestLoss = new Map<string, number>();
  const cellKey = (k: RunKey) => `${k.regime}/${k.width}/${k.radius}`;
  for (const r of records)
    if (r.finalLoss !== null && r.finalLoss < (bestLoss.get(cellKey(r)) ?? Number.POSITIVE_INFINITY))
      bestLoss.set(cellKey(r), r.finalLoss);
  // progress in units of (steps × cost of a step ∝ width + d) so the ETA weighs wide runs more
  const cost = (k: RunKey) => settings.steps * (k.width + 20);
  const total = all.reduce((s, k) => s + cost(k), 0);
  const bar = new ProgressBar(progress, total, total - todo.reduce((s, k) => s + cost(k), 0), 'synthetic');
  if (todo.length < all.length)
    progress.write(`resuming ${dir}: ${all.length - todo.length} of ${all.length} runs already finished\n`);
  let finished = 0;
  let aborted = false;
  const finish = (k: RunKey, rec: Omit<RunRecord, 'lambdaMin'>, params: ParamTree, regime: RegimeSpec) => {
    const ok = rec.finalLoss !== null;
    const prevBest = bestLoss.get(cellKey(k)) ?? Number.POSITIVE_INFINITY;
    const isBest = ok && rec.finalLoss! < prevBest;
    if (isBest) bestLoss.set(cellKey(k), rec.finalLoss!);
    const wantLambda = ok && (settings.lambdaMin === 'all' || (settings.lambdaMin === 'best' && isBest));
    const full: RunRecord = {
      ...rec,
      lambdaMin: wantLambda ? jacobianLambdaMin(regime.model, params, data.X, data.n) : null,
      finishedAt: new Date().toISOString(),
    };
    appendRun(runsPath, full);
    records.push(full);
    finished++;
    saveCfg(priorWall + (performance.now() - t0) / 1000);
    hooks.onRunDone?.(full, finished);
  };
  const baseRecord = (k: RunKey, regime: RegimeSpec) => ({
    id: runId(k),
    ...k,
    config: {
      update: settings.update ?? 'sgd',
      schedule: settings.schedule ?? 'constant',
      momentum: settings.momentum,
      vConstraint: k.regime === 'zhang2021' ? settings.vConstraint : 'none (shallow net, free v)',
      stepBudget: settings.steps,
      lossTolerance: settings.lossTolerance,
      n: settings.n,
      d: settings.d,
      seed: settings.seed,
      loss: regime.loss,
    },
  });
  const engineOf = (info: TrainerInfo) => ({
    engine: info.engine,
    backend: info.backend,
    device: info.device,
  });

  if (engine.grid) {
    // one grid trainer per (regime, width): every radius × step-size pair in one fused graph
    const groups = new Map<string, RunKey[]>();
    for (const k of todo)
      groups.set(`${k.regime}/${k.width}`, [...(groups.get(`${k.regime}/${k.width}`) ?? []), k]);
    // at most GRID_UNITS stacked hidden units per graph (memory: n × G·m activations)
    const batches: RunKey[][] = [];
    for (const keys of groups.values()) {
      const per = Math.max(1, Math.floor(GRID_UNITS / keys[0]!.width));
      for (let i = 0; i < keys.length; i += per) batches.push(keys.slice(i, i + per));
    }
    for (const keys of batches) {
      if (hooks.signal?.aborted) {
        aborted = true;
        break;
      }
      const tg = performance.now();
      const regimes = keys.map((k) => regimeOf(settings, k));
      const configs: TrainerConfig[] = regimes.map((r) => {
        const p0 = initParams(r.model, r.init, createRng(settings.seed));
        return {
          spec: r.model,
          loss: r.loss,
          optimizer: r.optimizer,
          params: p0,
          anchors: p0,
          data,
          seed: settings.seed,
        };
      });
      const gt = await engine.grid(configs);
      const G = keys.length;
      let divergedAt: (number | undefined)[] = new Array(G).fill(undefined);
      // every config of a (regime, width) batch starts from the same init (same seed): loss at step 0
      const p0 = configs[0]!.params;
      const loss0 = lossAndGrad64(
        regimes[0]!.model,
        { W: p0.W!.data, v: p0.v!.data },
        data.X,
        data.Y,
        data.n,
        regimes[0]!.loss,
      ).loss;
      let curves: [number, number][][] = keys.map(() => [[0, loss0]]);
      let losses: number[] = [];
      let step = 0;
      const every = settings.checkpointEvery;
      const ids = keys.map(runId);
      const batchDir = join(
        dir,
        'checkpoints',
        `${keys[0]!.regime}-m${keys[0]!.width}-${createHash('sha256')
          .update(ids.join('\n'))
          .digest('hex')
          .slice(0, 12)}`,
      );
      try {
        const saved = every > 0 ? readBatchCheckpoint(batchDir, ids, regimes) : undefined;
        if (saved) {
          await gt.setStates(saved.states);
          step = saved.step;
          curves = saved.curves;
          divergedAt = saved.divergedAt;
          bar.tick(
            keys.reduce((s, key) => s + (cost(key) / settings.steps) * step, 0),
            `${keys[0]!.regime} m=${keys[0]!.width}: resumed at step ${step}`,
          );
        }
        while (step < settings.steps) {
          if (hooks.signal?.aborted) {
            aborted = true;
            break;
          }
          const k = Math.min(
            settings.evalEvery,
            settings.steps - step,
            every > 0 ? every - (step % every) : Number.POSITIVE_INFINITY,
          );
          losses = await gt.run(k);
          step += k;
          losses.forEach((l, i) => {
            if (divergedAt[i] !== undefined) return;
            if (Number.isFinite(l)) curves[i]!.push([step, l]);
            else divergedAt[i] = step;
          });
          bar.tick(
            keys.reduce((s, key) => s + (cost(key) / settings.steps) * k, 0),
            `${keys[0]!.regime} m=${keys[0]!.width} (${G} runs)`,
          );
          const tol = settings.lossTolerance;
          if (tol > 0 && losses.every((l, i) => divergedAt[i] !== undefined || l <= tol)) break;
          if (every > 0 && step % every === 0 && step < settings.steps) {
            const states = await gt.states();
            writeBatchCheckpoint(batchDir, ids, regimes, states, curves, divergedAt, settings.seed);
            hooks.onCheckpoint?.(batchDir, step);
          }
        }
        if (aborted) break;
        const states = await gt.states();
        const wallMs = Math.round(performance.now() - tg);
        for (const [i, k] of keys.entries()) {
          const st = states[i]!;
          const regime = regimes[i]!;
          const ok = divergedAt[i] === undefined && Number.isFinite(losses[i]!);
          const end = ok ? endpoint(regime, st.params, st.anchors, data) : undefined;
          finish(
            k,
            {
              ...baseRecord(k, regime),
              status: !ok
                ? 'diverged'
                : settings.lossTolerance > 0 && losses[i]! <= settings.lossTolerance
                  ? 'converged'
                  : 'budget',
              steps: ok ? step : (divergedAt[i] ?? step),
              ...(ok ? {} : { divergedAt: divergedAt[i] ?? step }),
              finalLoss: ok ? losses[i]! : null,
              distanceW: end?.distanceW ?? null,
              distanceV: end?.distanceV ?? null,
              kktResidual: end?.kktResidual ?? null,
              stationarity: end?.stationarity ?? null,
              curve: curveOf(curves[i]!),
              wallMs: Math.round(wallMs / G),
              engine: engineOf(gt.info),
              finishedAt: '',
            },
            st.params,
            regime,
          );
        }
        rmSync(batchDir, { recursive: true, force: true });
      } finally {
        await gt.dispose();
      }
      if (aborted) break;
    }
  } else {
    const ckDir = join(dir, 'checkpoints');
    for (const k of todo) {
      if (hooks.signal?.aborted) {
        aborted = true;
        break;
      }
      const id = runId(k);
      const regime = regimeOf(settings, k);
      const ck = settings.checkpointEvery > 0 ? join(ckDir, safeName(id)) : undefined;
      if (ck) mkdirSync(ckDir, { recursive: true });
      const resumeFrom = ck && existsSync(`${ck}.json`) ? ck : undefined;
      let stepsSeen = 0;
      const res = await train(regime, data, {
        createTrainer: engine.createTrainer,
        seed: settings.seed,
        evalEvery: settings.evalEvery,
        ...(ck ? { checkpointPath: ck, checkpointEvery: settings.checkpointEvery } : {}),
        ...(resumeFrom ? { resumeFrom } : {}),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        onStep: (step) => {
          const delta = step - stepsSeen;
          stepsSeen = step;
          bar.tick((cost(k) / settings.steps) * Math.max(0, delta), id);
        },
      });
      if (res.status === 'aborted') {
        aborted = true;
        break;
      }
      bar.tick((cost(k) / settings.steps) * Math.max(0, settings.steps - stepsSeen), id);
      const ok = res.status !== 'diverged' && Number.isFinite(res.finalLoss);
      // train() starts from this init and anchors its balls there
      const end = ok
        ? endpoint(regime, res.params, initParams(regime.model, regime.init, createRng(settings.seed)), data)
        : undefined;
      if (ck) for (const ext of ['.json', '.safetensors']) rmSync(`${ck}${ext}`, { force: true });
      finish(
        k,
        {
          ...baseRecord(k, regime),
          status: res.status as RunRecord['status'],
          steps: res.steps,
          ...(res.divergedAt !== undefined ? { divergedAt: res.divergedAt } : {}),
          finalLoss: ok ? res.finalLoss : null,
          distanceW: end?.distanceW ?? null,
          distanceV: end?.distanceV ?? null,
          kktResidual: end?.kktResidual ?? null,
          stationarity: end?.stationarity ?? null,
          curve: curveOf(res.metrics.map((m) => [m.step, m.loss] as [number, number])),
          wallMs: Math.round(res.wallMs),
          engine: engineOf(res.engine),
          finishedAt: '',
        },
        res.params,
        regime,
      );
    }
  }
  bar.finish();
  const wallSeconds = priorWall + (performance.now() - t0) / 1000;
  saveCfg(wallSeconds);
  const complete = !aborted && records.length >= all.length;
  let ybar = 0;
  for (let i = 0; i < data.n; i++) ybar += data.Y[i]! / data.n;
  let constantLoss = 0;
  for (let i = 0; i < data.n; i++) constantLoss += 0.5 * (data.Y[i]! - ybar) ** 2;
  const { cells, claims } = await writeReport(dir, records, {
    constantLoss,
    settings: { ...settings },
    engine: engine.label,
    wallSeconds,
    command,
    complete,
    totalRuns: all.length,
  });
  for (const c of claims)
    progress.write(`${c.verdict.padEnd(14)} ${c.paper}\n${' '.repeat(15)}${c.measured}\n`);
  progress.write(
    `${complete ? 'finished' : 'stopped'}: ${records.length}/${all.length} runs in ${formatDuration(wallSeconds)}; report: ${join(dir, 'report.html')}\n`,
  );
  return { dir, complete, records, cells, claims, wallSeconds };
}
