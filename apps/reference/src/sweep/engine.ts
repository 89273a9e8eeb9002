import { createHash } from 'node:crypto';
import { UsageError } from '../options.js';
import { ProgressBar, type ProgressStream, formatDuration } from '../progress.js';
import type { AnyExperiment, ExecEngine, RunPlan, SweepRecord } from './experiment.js';
import { checkStoredSettings } from './settings.js';
import {
  SWEEP_FORMAT,
  SWEEP_VERSION,
  type SweepMeta,
  type SweepSession,
  type SweepStore,
  workerName,
} from './store.js';

/** Hooks for callers and tests. */
export interface SweepHooks {
  /** Called after each stored run with the number stored in this session. */
  onRunDone?: (rec: SweepRecord, finishedThisSession: number) => void;
  /** Called after each committed checkpoint with its directory and step. */
  onCheckpoint?: (dir: string, step: number) => void;
  /** Aborting stops the sweep (mid-run; that run is not recorded). */
  signal?: AbortSignal;
}

/** A unit of work: one run, or a batch of runs on one fused trainer. */
export interface Unit {
  /** Stable id (the checkpoint key): the run id, or `batch-<hash of the run ids>`. */
  id: string;
  runs: RunPlan[];
}

/** Units of the given runs: the experiment's batches in batched mode, else one run each. */
export function unitsOf(exp: AnyExperiment, settings: object, runs: RunPlan[], batched: boolean): Unit[] {
  const groups = batched && exp.batches ? exp.batches(settings, runs) : runs.map((r) => [r]);
  return groups.map((rs) => ({
    id:
      rs.length === 1
        ? rs[0]!.id
        : `batch-${createHash('sha256')
            .update(rs.map((r) => r.id).join('\n'))
            .digest('hex')
            .slice(0, 16)}`,
    runs: rs,
  }));
}

/** JSON with object keys sorted (a store such as PostgreSQL's jsonb does not keep key order). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Builds a new sweep or checks a stored one against it: the settings and execution mode of a
 * stored sweep win (they are the resume key); a different request is an error naming the store.
 */
export function reconcileMeta(
  stored: SweepMeta | undefined,
  wanted: Omit<SweepMeta, 'sessions' | 'createdAt' | 'format' | 'version'> | undefined,
  where: string,
): SweepMeta {
  if (stored && wanted) {
    if (stored.experiment !== wanted.experiment)
      throw new UsageError(
        `${where}: holds a sweep of experiment "${stored.experiment}", not "${wanted.experiment}"`,
      );
    if (canonical(stored.settings) !== canonical(wanted.settings))
      throw new UsageError(
        `${where}: holds a sweep "${stored.name}" with other settings; resume it, or give the new sweep another name`,
      );
    if (stored.execution.batched !== wanted.execution.batched)
      throw new UsageError(
        `${where}: the sweep was created ${stored.execution.batched ? 'in grid mode' : 'with --sequential'}; resume it the same way`,
      );
  }
  if (stored) return stored;
  if (!wanted) throw new UsageError(`${where}: holds no sweep`);
  return {
    format: SWEEP_FORMAT,
    version: SWEEP_VERSION,
    ...wanted,
    createdAt: new Date().toISOString(),
    sessions: [],
  };
}

/** Engines of the sessions that stored runs (the report's provenance line). */
export function enginesOf(meta: SweepMeta): string {
  const labels = [...new Set(meta.sessions.filter((s) => s.runs > 0).map((s) => s.engine))];
  return labels.length ? labels.join('; ') : 'none yet';
}

/** Options of {@link executeUnit}. */
export interface UnitRun {
  exp: AnyExperiment;
  meta: SweepMeta;
  store: SweepStore;
  engine: ExecEngine;
  /** Records known so far (the experiment may read them, e.g. for best-of-cell decisions). */
  records: SweepRecord[];
  bar: ProgressBar;
  log: ProgressStream;
  hooks: SweepHooks;
  /** Attempts already spent on this unit elsewhere (a retried queue job). */
  priorAttempts?: number;
  /** Whether to record `failed` after the last attempt (a queue may retry instead: false). */
  finalAttempt?: (attempt: number) => boolean;
}

/**
 * Trains one unit from its last checkpoint and returns its records (with `worker` and
 * `attempts`), undefined when aborted. A unit that throws is tried again, up to the sweep's
 * `execution.attempts`; then each of its runs gets a `failed` record with the error.
 */
export async function executeUnit(unit: Unit, o: UnitRun): Promise<SweepRecord[] | undefined> {
  const settings = o.meta.settings;
  const wantCk = wantsCheckpoints(o.meta);
  if (unit.runs.length > 1 && !(o.meta.execution.batched && o.engine.grid)) {
    // a batch on an engine without a fused trainer: its runs one by one
    const out: SweepRecord[] = [];
    for (const r of unit.runs) {
      const recs = await executeUnit({ id: r.id, runs: [r] }, o);
      if (recs === undefined) return undefined;
      out.push(...recs);
    }
    return out;
  }
  let attempt = o.priorAttempts ?? 0;
  for (;;) {
    attempt++;
    try {
      const checkpoint = wantCk ? await o.store.checkpoint(unit.id) : undefined;
      const recs = await o.exp.train(unit.runs, {
        settings,
        engine: o.engine,
        batched: o.meta.execution.batched && !!o.engine.grid,
        records: o.records,
        checkpoint,
        progress: (units, note) => o.bar.tick(units, note),
        ...(o.hooks.signal ? { signal: o.hooks.signal } : {}),
        ...(o.hooks.onCheckpoint ? { onCheckpoint: o.hooks.onCheckpoint } : {}),
      });
      if (recs === undefined) return undefined;
      return recs.map((r) => ({ ...r, worker: workerName(), ...(attempt > 1 ? { attempts: attempt } : {}) }));
    } catch (e) {
      if (o.hooks.signal?.aborted) return undefined;
      const msg = e instanceof Error ? e.message : String(e);
      const last = o.finalAttempt ? o.finalAttempt(attempt) : attempt >= o.meta.execution.attempts;
      o.log.write(
        `narrownet: ${unit.id} failed (attempt ${attempt} of ${o.meta.execution.attempts}): ${msg}${last ? '' : '; trying again'}\n`,
      );
      if (!last) {
        if (o.finalAttempt) throw e;
        continue;
      }
      return unit.runs.map((r) => ({
        ...o.exp.failedRecord(r, settings, msg, attempt),
        worker: workerName(),
        attempts: attempt,
      }));
    }
  }
}

/** Result of {@link runSweep}. */
export interface SweepResult {
  complete: boolean;
  records: SweepRecord[];
  wallSeconds: number;
  /** Console lines of the report (claim verdicts). */
  lines: string[];
}

/** Options of {@link runSweep}. */
export interface SweepRequest {
  exp: AnyExperiment;
  store: SweepStore;
  /** The sweep to create; undefined = resume what the store holds. */
  create?: Omit<SweepMeta, 'sessions' | 'createdAt' | 'format' | 'version'>;
  engine: ExecEngine;
  command: string;
  progress: ProgressStream;
  /** Where the report goes (a run directory: the directory itself). */
  reportDir: string;
  hooks?: SweepHooks;
}

/**
 * Runs (or resumes) a sweep in this process against the store: stores the sweep, trains every
 * unit not yet stored (batches on the fused trainer in grid mode, one trainer per run otherwise,
 * each from its last checkpoint), stores each unit's records as it finishes, and writes the
 * report at the end (also when aborted: from the runs stored so far, marked incomplete).
 */
export async function runSweep(req: SweepRequest): Promise<SweepResult> {
  const t0 = performance.now();
  const { exp, store, engine } = req;
  const hooks = req.hooks ?? {};
  for (const w of await store.workers())
    if (!w.dead && w.worker !== workerName() && w.running.length > 0)
      throw new UsageError(
        `${store.where}: worker ${w.worker} is training ${w.running.length} run(s) of this sweep now; one process per run directory`,
      );
  const meta = reconcileMeta(await store.meta(), req.create, store.where);
  const settings = exp.validate(checkStoredSettings(exp, meta.settings, store.where));
  const session: SweepSession = {
    worker: workerName(),
    engine: engine.label,
    command: req.command,
    startedAt: new Date().toISOString(),
    wallSeconds: 0,
    runs: 0,
  };
  meta.sessions.push(session);
  const saveSession = async () => {
    session.wallSeconds = (performance.now() - t0) / 1000;
    await store.saveMeta(meta);
  };
  await saveSession();
  const records = await store.records();
  const done = new Set(records.map((r) => r.id));
  const all = exp.expand(settings) as RunPlan[];
  const todo = all.filter((r) => !done.has(r.id));
  if (meta.execution.batched && !engine.grid && todo.length)
    req.progress.write(
      `narrownet: ${engine.label} has no fused batch trainer: the remaining runs of this grid-mode sweep train one by one\n`,
    );
  const total = all.reduce((s, r) => s + r.cost, 0);
  const bar = new ProgressBar(req.progress, total, total - todo.reduce((s, r) => s + r.cost, 0), exp.name);
  if (todo.length < all.length)
    req.progress.write(
      `resuming ${store.where}: ${all.length - todo.length} of ${all.length} runs already finished\n`,
    );
  let aborted = false;
  const units = unitsOf(exp, settings, todo, meta.execution.batched && !!engine.grid);
  for (const p of store.pruneCheckpoints?.(units.map((u) => u.id)) ?? [])
    req.progress.write(`narrownet: removed ${p} (checkpoint of a unit whose runs are stored)\n`);
  for (const unit of units) {
    if (hooks.signal?.aborted) {
      aborted = true;
      break;
    }
    await store.beat(
      unit.runs.map((r) => r.id),
      session,
    );
    const recs = await executeUnit(unit, {
      exp,
      meta,
      store,
      engine,
      records,
      bar,
      log: req.progress,
      hooks,
    });
    if (recs === undefined) {
      aborted = true;
      break;
    }
    await store.put(recs);
    const before = session.runs;
    session.runs += recs.length;
    await saveSession();
    for (const [i, r] of recs.entries()) {
      records.push(r);
      hooks.onRunDone?.(r, before + i + 1);
    }
    if (wantsCheckpoints(meta)) await store.dropCheckpoint(unit.id);
  }
  await store.beat([], session);
  bar.finish();
  await saveSession();
  const complete = !aborted && all.every((r) => records.some((x) => x.id === r.id));
  const lines = await exp.report(req.reportDir, records, {
    settings,
    engine: enginesOf(meta),
    wallSeconds: meta.sessions.reduce((s, x) => s + x.wallSeconds, 0),
    command: meta.sessions[0]!.command,
    complete,
    totalRuns: all.length,
  });
  const wallSeconds = meta.sessions.reduce((s, x) => s + x.wallSeconds, 0);
  for (const l of lines) req.progress.write(`${l}\n`);
  req.progress.write(
    `${complete ? 'finished' : 'stopped'}: ${records.length}/${all.length} runs in ${formatDuration(wallSeconds)}; report: ${req.reportDir}/report.html\n`,
  );
  return { complete, records, wallSeconds, lines };
}

/** Whether the sweep's settings ask for checkpoints. */
export function wantsCheckpoints(meta: SweepMeta): boolean {
  return Number((meta.settings as { checkpointEvery?: number }).checkpointEvery ?? 0) > 0;
}
