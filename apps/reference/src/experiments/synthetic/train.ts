import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { zhangSynthetic } from '@narrownet/datasets';
import { initParams } from '@narrownet/init';
import { jacobianLambdaMin } from '@narrownet/landscape';
import { type ParamTree, createRng, lossAndGrad64 } from '@narrownet/models';
import { kktResidual, relativeStationarity } from '@narrownet/optim';
import {
  type RegimeSpec,
  type TrainerConfig,
  type TrainerInfo,
  type TrainerState,
  loadTrainCheckpoint,
  saveTrainCheckpoint,
  train,
} from '@narrownet/regime';
import { writeFileAtomic } from '../../report.js';
import { type RunKey, type RunRecord, runId } from '../../runs.js';
import type { RunPlan, UnitContext } from '../../sweep/experiment.js';
import { type SyntheticSettings, regimeOf } from './settings.js';

/** Most hidden units (configurations × width) stacked in one grid graph. */
export const GRID_UNITS = 16_384;

/** Context of a synthetic unit. */
export type SyntheticContext = UnitContext<SyntheticSettings, RunRecord>;

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
export function curveOf(points: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [step, loss] of points) {
    if (!Number.isFinite(loss)) break;
    out.push([step, Math.fround(loss)]);
  }
  return out;
}

let dataCache: { key: string; data: ReturnType<typeof zhangSynthetic> } | undefined;
/** The synthetic data set of the settings (memoized: every unit of a sweep uses the same one). */
export function dataOf(s: SyntheticSettings): ReturnType<typeof zhangSynthetic> {
  const key = `${s.n}/${s.d}/${s.seed}`;
  if (dataCache?.key !== key) dataCache = { key, data: zhangSynthetic({ n: s.n, d: s.d, seed: s.seed }) };
  return dataCache.data;
}

const cellKey = (k: RunKey) => `${k.regime}/${k.width}/${k.radius}`;

/** What every record of a run says about its configuration. */
export function baseRecord(s: SyntheticSettings, k: RunKey, loss: string) {
  return {
    id: runId(k),
    ...k,
    config: {
      update: s.update ?? 'sgd',
      schedule: s.schedule ?? 'constant',
      momentum: s.momentum,
      vConstraint: k.regime === 'zhang2021' ? s.vConstraint : 'none (shallow net, free v)',
      stepBudget: s.steps,
      lossTolerance: s.lossTolerance,
      n: s.n,
      d: s.d,
      seed: s.seed,
      loss,
    },
  };
}

const engineOf = (info: TrainerInfo) => ({ engine: info.engine, backend: info.backend, device: info.device });

/**
 * Completes records in finishing order: λ_min(J) at the end point of every run (`lambdaMin:
 * all`) or of each run that is the best of its cell when it finishes (`best`), judged against
 * the records stored before and those finished earlier in this unit.
 */
class Finisher {
  private readonly best = new Map<string, number>();
  readonly out: RunRecord[] = [];
  constructor(
    private readonly s: SyntheticSettings,
    prior: readonly RunRecord[],
  ) {
    for (const r of prior)
      if (r.finalLoss != null && r.finalLoss < (this.best.get(cellKey(r)) ?? Number.POSITIVE_INFINITY))
        this.best.set(cellKey(r), r.finalLoss);
  }
  add(rec: Omit<RunRecord, 'lambdaMin'>, params: ParamTree, regime: RegimeSpec): void {
    const ok = rec.finalLoss !== null;
    const isBest = ok && rec.finalLoss! < (this.best.get(cellKey(rec)) ?? Number.POSITIVE_INFINITY);
    if (isBest) this.best.set(cellKey(rec), rec.finalLoss!);
    const s = this.s;
    const want = ok && (s.lambdaMin === 'all' || (s.lambdaMin === 'best' && isBest));
    const data = dataOf(s);
    this.out.push({
      ...rec,
      lambdaMin: want ? jacobianLambdaMin(regime.model, params, data.X, data.n) : null,
      finishedAt: new Date().toISOString(),
    } as RunRecord);
  }
}

/**
 * Grid mode (onnxruntime): the runs of one (regime, width) train together in one fused graph,
 * from the unit's last batch checkpoint; checkpoints every `checkpointEvery` steps.
 */
export async function trainBatch(
  plans: RunPlan<RunKey>[],
  ctx: SyntheticContext,
): Promise<RunRecord[] | undefined> {
  const settings = ctx.settings;
  const keys = plans.map((p) => p.key);
  const data = dataOf(settings);
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
  const gt = await ctx.engine.grid!(configs);
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
  const every = ctx.checkpoint ? settings.checkpointEvery : 0;
  const ids = keys.map(runId);
  const per = (key: RunKey) => plans[keys.indexOf(key)]!.cost / settings.steps;
  const label = `${keys[0]!.regime} m=${keys[0]!.width}`;
  try {
    const saved = ctx.checkpoint ? readBatchCheckpoint(ctx.checkpoint.dir, ids, regimes) : undefined;
    if (saved) {
      await gt.setStates(saved.states);
      step = saved.step;
      curves = saved.curves;
      divergedAt = saved.divergedAt;
      ctx.progress(
        keys.reduce((s, key) => s + per(key) * step, 0),
        `${label}: resumed at step ${step}`,
      );
    }
    while (step < settings.steps) {
      if (ctx.signal?.aborted) return undefined;
      const k = Math.min(
        settings.evalEvery,
        settings.steps - step,
        every > 0 ? every - (step % every) : Number.POSITIVE_INFINITY,
      );
      losses = await gt.run(k);
      step += k;
      // the grid trainer knows each configuration's first non-finite step exactly (not only that
      // the loss at this evaluation is non-finite)
      const exact = gt.divergedAt();
      losses.forEach((l, i) => {
        if (divergedAt[i] !== undefined) return;
        if (exact[i] !== undefined) divergedAt[i] = exact[i];
        else if (Number.isFinite(l)) curves[i]!.push([step, l]);
        else divergedAt[i] = step;
      });
      ctx.progress(
        keys.reduce((s, key) => s + per(key) * k, 0),
        `${label} (${G} runs)`,
      );
      const tol = settings.lossTolerance;
      if (tol > 0 && losses.every((l, i) => divergedAt[i] !== undefined || l <= tol)) break;
      if (every > 0 && step % every === 0 && step < settings.steps) {
        const states = await gt.states();
        writeBatchCheckpoint(ctx.checkpoint!.dir, ids, regimes, states, curves, divergedAt, settings.seed);
        await ctx.checkpoint!.commit();
        ctx.onCheckpoint?.(ctx.checkpoint!.dir, step);
      }
    }
    const states = await gt.states();
    const wallMs = Math.round(performance.now() - tg);
    const fin = new Finisher(settings, ctx.records);
    for (const [i, k] of keys.entries()) {
      const st = states[i]!;
      const regime = regimes[i]!;
      const ok = divergedAt[i] === undefined && Number.isFinite(losses[i]!);
      const end = ok ? endpoint(regime, st.params, st.anchors, data) : undefined;
      fin.add(
        {
          ...baseRecord(settings, k, regime.loss),
          status: !ok
            ? 'diverged'
            : settings.lossTolerance > 0 && losses[i]! <= settings.lossTolerance
              ? 'converged'
              : 'budget',
          ...(saved ? { resumedFrom: saved.step } : {}),
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
    return fin.out;
  } finally {
    await gt.dispose();
  }
}

/** What a sequential run keeps beside its training checkpoint: the curve and wall time so far. */
interface RunProgress {
  /** `[step, loss, wallMs since the run began]` at every evaluation. */
  points: [number, number, number][];
}

/**
 * Sequential mode: one trainer per run through the regime package's `train` loop (exact
 * divergence step), from the run's last checkpoint. The checkpoint slot holds the training
 * checkpoint (`run.json` + `run.safetensors`) and `progress.json` (the loss curve and wall time
 * up to there), so a resumed run keeps its whole curve and its total wall time.
 */
export async function trainOne(
  plan: RunPlan<RunKey>,
  ctx: SyntheticContext,
): Promise<RunRecord[] | undefined> {
  const settings = ctx.settings;
  const k = plan.key;
  const id = plan.id;
  const data = dataOf(settings);
  const regime = regimeOf(settings, k);
  const slot = ctx.checkpoint;
  const ck = slot ? join(slot.dir, 'run') : undefined;
  const progressPath = slot ? join(slot.dir, 'progress.json') : undefined;
  let prior: [number, number, number][] = [];
  let resumeFrom: string | undefined;
  if (ck && existsSync(`${ck}.json`)) {
    resumeFrom = ck;
    const step = loadTrainCheckpoint(ck).state.step;
    const saved = existsSync(progressPath!)
      ? (JSON.parse(readFileSync(progressPath!, 'utf8')) as RunProgress).points
      : [];
    prior = saved.filter(([s]) => s <= step);
    if (prior.at(-1)?.[0] !== step)
      throw new Error(`${slot!.dir}: progress.json has no evaluation at the checkpoint's step ${step}`);
  }
  const priorWall = prior.at(-1)?.[2] ?? 0;
  const points = [...prior];
  let committedStep = resumeFrom ? prior.at(-1)![0] : -1;
  let commits = Promise.resolve();
  let stepsSeen = 0;
  const res = await train(regime, data, {
    createTrainer: ctx.engine.createTrainer,
    seed: settings.seed,
    evalEvery: settings.evalEvery,
    ...(ck ? { checkpointPath: ck, checkpointEvery: settings.checkpointEvery } : {}),
    ...(resumeFrom ? { resumeFrom } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onMetrics: (m) => {
      points.push([m.step, m.loss, priorWall + m.wallMs]);
      if (!slot) return;
      writeFileAtomic(progressPath!, `${JSON.stringify({ points } satisfies RunProgress)}\n`);
      // train() saves its checkpoint right after this call: the one on disk is the previous one
      if (!existsSync(`${ck}.json`)) return;
      const step = (JSON.parse(readFileSync(`${ck}.json`, 'utf8')) as { state: { step: number } }).state.step;
      if (step <= committedStep) return;
      committedStep = step;
      commits = commits.then(async () => {
        await slot.commit();
        ctx.onCheckpoint?.(slot.dir, step);
      });
    },
    onStep: (step) => {
      const delta = step - stepsSeen;
      stepsSeen = step;
      ctx.progress((plan.cost / settings.steps) * Math.max(0, delta), id);
    },
  });
  await commits;
  if (res.status === 'aborted') return undefined;
  ctx.progress((plan.cost / settings.steps) * Math.max(0, settings.steps - stepsSeen), id);
  const ok = res.status !== 'diverged' && Number.isFinite(res.finalLoss);
  // train() starts from this init and anchors its balls there
  const end = ok
    ? endpoint(regime, res.params, initParams(regime.model, regime.init, createRng(settings.seed)), data)
    : undefined;
  const fin = new Finisher(settings, ctx.records);
  fin.add(
    {
      ...baseRecord(settings, k, regime.loss),
      status: res.status as RunRecord['status'],
      ...(resumeFrom ? { resumedFrom: prior.at(-1)![0] } : {}),
      steps: res.steps,
      ...(res.divergedAt !== undefined ? { divergedAt: res.divergedAt } : {}),
      finalLoss: ok ? res.finalLoss : null,
      distanceW: end?.distanceW ?? null,
      distanceV: end?.distanceV ?? null,
      kktResidual: end?.kktResidual ?? null,
      stationarity: end?.stationarity ?? null,
      curve: curveOf(points.map(([s, l]) => [s, l] as [number, number])),
      wallMs: Math.round(priorWall + res.wallMs),
      engine: engineOf(res.engine),
      finishedAt: '',
    },
    res.params,
    regime,
  );
  return fin.out;
}
