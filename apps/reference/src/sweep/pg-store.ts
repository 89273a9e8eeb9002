import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import PgBoss from 'pg-boss';
import pg from 'pg';
import { experimentNamed } from '../experiments/registry.js';
import { UsageError } from '../options.js';
import { ProgressBar, type ProgressStream } from '../progress.js';
import { safeName } from './dir-store.js';
import { type SweepHooks, executeUnit, reconcileMeta, unitsOf, wantsCheckpoints } from './engine.js';
import type { AnyExperiment, CheckpointSlot, ExecEngine, RunPlan, SweepRecord } from './experiment.js';
import { checkStoredSettings } from './settings.js';
import {
  type SweepMeta,
  type SweepSession,
  type SweepStore,
  type WorkerBeat,
  checkMeta,
  workerName,
} from './store.js';

/** Version of narrownet's tables in PostgreSQL (schema `narrownet`); another version is refused. */
export const PG_SCHEMA_VERSION = 1;
/** The pg-boss queue every sweep's units go to (pg-boss keeps its tables in schema `pgboss`). */
export const QUEUE = 'narrownet-units';
/** Seconds between worker heartbeats. */
const BEAT_SECONDS = 5;
/** A worker silent this long is gone: its jobs go back to the queue (pg-boss `fail` → retry). */
const STALE_SECONDS = 6 * BEAT_SECONDS;

const DDL = `
CREATE SCHEMA IF NOT EXISTS narrownet;
CREATE TABLE IF NOT EXISTS narrownet.schema_version (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS narrownet.sweep (
  name text PRIMARY KEY,
  experiment text NOT NULL,
  meta jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS narrownet.result (
  sweep text NOT NULL REFERENCES narrownet.sweep(name),
  id text NOT NULL,
  status text NOT NULL,
  wall_ms double precision,
  worker text,
  record jsonb NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sweep, id)
);
CREATE TABLE IF NOT EXISTS narrownet.checkpoint (
  sweep text NOT NULL REFERENCES narrownet.sweep(name),
  unit text NOT NULL,
  files bytea NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sweep, unit)
);
CREATE TABLE IF NOT EXISTS narrownet.worker (
  sweep text NOT NULL REFERENCES narrownet.sweep(name),
  worker text NOT NULL,
  engine text NOT NULL,
  command text NOT NULL,
  started_at timestamptz NOT NULL,
  wall_seconds double precision NOT NULL DEFAULT 0,
  runs integer NOT NULL DEFAULT 0,
  running jsonb NOT NULL DEFAULT '[]',
  jobs jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sweep, worker)
);`;

/** The URL with its password replaced by `***` (for messages). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** Connects and installs or checks narrownet's tables (errors name the URL and the version). */
async function connectPool(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(726354)');
      const has = await c.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'narrownet' AND table_name = 'schema_version'",
      );
      if (has.rowCount === 0) {
        await c.query(DDL);
        await c.query('INSERT INTO narrownet.schema_version VALUES ($1)', [PG_SCHEMA_VERSION]);
      } else {
        const v = await c.query('SELECT version FROM narrownet.schema_version');
        const got = v.rows[0]?.version;
        if (got !== PG_SCHEMA_VERSION)
          throw new UsageError(
            `${redact(url)}: narrownet schema version ${got ?? 'missing'}, this narrownet uses version ${PG_SCHEMA_VERSION}`,
          );
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  } catch (e) {
    await pool.end().catch(() => {});
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--store ${redact(url)}: cannot use the database (${(e as Error).message})`);
  }
  return pool;
}

/** Packs the files under `dir` into one buffer (JSON header of paths and sizes, then the bytes). */
function packDir(dir: string): Buffer {
  const files: { path: string; size: number }[] = [];
  const parts: Buffer[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/\.tmp-/.test(name)) {
        const b = readFileSync(p);
        files.push({ path: relative(dir, p), size: b.length });
        parts.push(b);
      }
    }
  };
  walk(dir);
  const head = Buffer.from(JSON.stringify(files));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head, ...parts]);
}

/** Writes the files of a {@link packDir} buffer under `dir`. */
function unpackDir(buf: Buffer, dir: string): void {
  const n = buf.readUInt32BE(0);
  const files = JSON.parse(buf.subarray(4, 4 + n).toString()) as { path: string; size: number }[];
  let off = 4 + n;
  for (const f of files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, buf.subarray(off, off + f.size));
    off += f.size;
  }
}

/** A deterministic job id (uuid-shaped) of a sweep's unit: sending it twice queues it once. */
function jobId(sweep: string, unit: string): string {
  const h = createHash('sha256').update(`${sweep}\n${unit}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** pg-boss's Db adapter on one client (so pg-boss statements join our transaction). */
function dbOf(client: pg.PoolClient): PgBoss.Db {
  return { executeSql: (text, values) => client.query(text, values) };
}

/**
 * The PostgreSQL store: the sweep (`narrownet.sweep`), results as rows (`narrownet.result`, one
 * per run id, written in the transaction that completes the run's job), checkpoints as bytea
 * (`narrownet.checkpoint`), workers and their heartbeats (`narrownet.worker`).
 */
export class PgStore implements SweepStore {
  readonly where: string;
  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly name: string | undefined,
    private readonly ckRoot = mkdtempSync(join(tmpdir(), 'narrownet-ck-')),
  ) {
    this.where = `${redact(url)}${name ? ` (sweep ${name})` : ''}`;
  }

  /** Connects to `url` for the sweep `name` (for `report`/`status`: the only sweep when there is one). */
  static async connect(url: string, name: string | undefined, pick = true): Promise<PgStore> {
    const pool = await connectPool(url);
    let sweep = name;
    if (sweep === undefined && pick) {
      const all = await pool.query('SELECT name FROM narrownet.sweep ORDER BY created_at');
      if (all.rowCount === 1) sweep = all.rows[0].name as string;
      else if ((all.rowCount ?? 0) > 1)
        throw new UsageError(
          `${redact(url)} holds ${all.rowCount} sweeps (${all.rows.map((r) => r.name).join(', ')}): pick one with --name`,
        );
    }
    return new PgStore(pool, url, sweep);
  }

  /** This store on another sweep of the same database (shares the connection pool). */
  forSweep(name: string): PgStore {
    return new PgStore(this.pool, this.url, name, this.ckRoot);
  }

  private sweep(): string {
    if (!this.name) throw new UsageError(`${this.where}: no sweep named`);
    return this.name;
  }

  async meta(): Promise<SweepMeta | undefined> {
    if (!this.name) return undefined;
    const r = await this.pool.query('SELECT meta FROM narrownet.sweep WHERE name = $1', [this.name]);
    if (r.rowCount === 0) return undefined;
    const meta = checkMeta(r.rows[0].meta, `${this.where}: narrownet.sweep`);
    const w = await this.pool.query(
      'SELECT worker, engine, command, started_at, wall_seconds, runs FROM narrownet.worker WHERE sweep = $1 ORDER BY started_at',
      [this.name],
    );
    meta.sessions = [
      ...meta.sessions,
      ...w.rows.map(
        (x): SweepSession => ({
          worker: x.worker,
          engine: x.engine,
          command: x.command,
          startedAt: new Date(x.started_at).toISOString(),
          wallSeconds: Number(x.wall_seconds),
          runs: x.runs,
        }),
      ),
    ];
    return meta;
  }

  async saveMeta(meta: SweepMeta): Promise<void> {
    await this.pool.query(
      'INSERT INTO narrownet.sweep (name, experiment, meta) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
      [meta.name, meta.experiment, JSON.stringify({ ...meta, sessions: [] })],
    );
  }

  async records(): Promise<SweepRecord[]> {
    const r = await this.pool.query(
      'SELECT record FROM narrownet.result WHERE sweep = $1 ORDER BY stored_at, id',
      [this.sweep()],
    );
    return r.rows.map((x) => x.record as SweepRecord);
  }

  /** Inserts records id-keyed (a run stored already is left as it is); with `client`, inside its transaction. */
  async put(records: SweepRecord[], client?: pg.PoolClient): Promise<void> {
    const q = client ?? this.pool;
    for (const rec of records)
      await q.query(
        `INSERT INTO narrownet.result (sweep, id, status, wall_ms, worker, record)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sweep, id) DO NOTHING`,
        [this.sweep(), rec.id, rec.status, rec.wallMs, rec.worker ?? null, JSON.stringify(rec)],
      );
  }

  async checkpoint(unit: string): Promise<CheckpointSlot> {
    const dir = join(this.ckRoot, safeName(`${this.sweep()}-${unit}`));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const r = await this.pool.query('SELECT files FROM narrownet.checkpoint WHERE sweep = $1 AND unit = $2', [
      this.sweep(),
      unit,
    ]);
    if (r.rowCount) unpackDir(r.rows[0].files as Buffer, dir);
    const sweep = this.sweep();
    return {
      dir,
      commit: async () => {
        const files = packDir(dir); // read now, in one synchronous step: a consistent snapshot
        await this.pool.query(
          `INSERT INTO narrownet.checkpoint (sweep, unit, files) VALUES ($1, $2, $3)
           ON CONFLICT (sweep, unit) DO UPDATE SET files = EXCLUDED.files, updated_at = now()`,
          [sweep, unit, files],
        );
      },
    };
  }

  async dropCheckpoint(unit: string, client?: pg.PoolClient): Promise<void> {
    await (client ?? this.pool).query('DELETE FROM narrownet.checkpoint WHERE sweep = $1 AND unit = $2', [
      this.sweep(),
      unit,
    ]);
    rmSync(join(this.ckRoot, safeName(`${this.sweep()}-${unit}`)), { recursive: true, force: true });
  }

  /** The heartbeat: runs trained now, the session, and the pg-boss jobs held (given back if this worker goes silent). */
  async beat(running: string[], session?: SweepSession, jobs: string[] = []): Promise<void> {
    if (!session) return;
    await this.pool.query(
      `INSERT INTO narrownet.worker (sweep, worker, engine, command, started_at, wall_seconds, runs, running, jobs, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
       ON CONFLICT (sweep, worker) DO UPDATE SET engine = EXCLUDED.engine, wall_seconds = EXCLUDED.wall_seconds,
         runs = EXCLUDED.runs, running = EXCLUDED.running, jobs = EXCLUDED.jobs, updated_at = now()`,
      [
        this.sweep(),
        session.worker,
        session.engine,
        session.command,
        session.startedAt,
        session.wallSeconds,
        session.runs,
        JSON.stringify(running),
        JSON.stringify(jobs),
      ],
    );
  }

  async workers(): Promise<WorkerBeat[]> {
    if (!this.name) return [];
    const r = await this.pool.query(
      `SELECT worker, running, updated_at, (now() - updated_at) > $2::interval AS dead
       FROM narrownet.worker WHERE sweep = $1 ORDER BY worker`,
      [this.name, `${STALE_SECONDS} seconds`],
    );
    return r.rows.map((x) => ({
      worker: x.worker,
      running: x.running as string[],
      updatedAt: new Date(x.updated_at).toISOString(),
      dead: x.dead === true,
    }));
  }

  async close(): Promise<void> {
    rmSync(this.ckRoot, { recursive: true, force: true });
    await this.pool.end();
  }
}

/** Starts pg-boss on the store's database (its own schema `pgboss`, created on first use). */
async function startBoss(url: string, maintenanceSeconds: number): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, max: 2, maintenanceIntervalSeconds: maintenanceSeconds });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue(QUEUE).catch(() => {});
  return boss;
}

/**
 * `narrownet run <exp> --store <url>`: creates the sweep (or checks that the stored one has the
 * same settings) and queues one pg-boss job per unit without results, in one transaction: a
 * failure leaves nothing half-written.
 */
export async function createDbSweep(
  store: PgStore,
  exp: AnyExperiment,
  wanted: Omit<SweepMeta, 'sessions' | 'createdAt' | 'format' | 'version'> | undefined,
  values: Record<string, unknown>,
  command: string,
): Promise<{ meta: SweepMeta; queued: number }> {
  const jobTimeout = (values.jobTimeout as number | undefined) ?? 3600;
  const boss = await startBoss(store.url, 60);
  const client = await store.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(726355)');
    const prev = await client.query('SELECT meta FROM narrownet.sweep WHERE name = $1 FOR UPDATE', [
      store.name,
    ]);
    const stored = prev.rowCount
      ? checkMeta(prev.rows[0].meta, `${store.where}: narrownet.sweep`)
      : undefined;
    const meta = reconcileMeta(stored, wanted, store.where);
    if (!stored) {
      meta.sessions.push({
        worker: workerName(),
        engine: 'none (created the sweep)',
        command,
        startedAt: new Date().toISOString(),
        wallSeconds: 0,
        runs: 0,
      });
      await client.query('INSERT INTO narrownet.sweep (name, experiment, meta) VALUES ($1, $2, $3)', [
        meta.name,
        meta.experiment,
        JSON.stringify(meta),
      ]);
    }
    const settings = exp.validate(checkStoredSettings(exp, meta.settings, store.where));
    const done = new Set(
      (await client.query('SELECT id FROM narrownet.result WHERE sweep = $1', [meta.name])).rows.map(
        (r) => r.id,
      ),
    );
    const todo = (exp.expand(settings) as RunPlan[]).filter((r) => !done.has(r.id));
    const jobs = unitsOf(exp, settings, todo, meta.execution.batched).map((u) => ({
      id: jobId(meta.name, u.id),
      name: QUEUE,
      data: { sweep: meta.name, unit: u.id, runs: u.runs.map((r) => r.id) },
      retryLimit: meta.execution.attempts - 1,
      expireInSeconds: jobTimeout,
    }));
    if (jobs.length) {
      await boss.insert(jobs, { db: dbOf(client) });
      // a unit whose job ran out of attempts (e.g. its workers were killed) is queued again
      await boss.retry(
        QUEUE,
        jobs.map((j) => j.id),
        { db: dbOf(client) },
      );
    }
    await client.query('COMMIT');
    return { meta, queued: todo.length };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
  }
}

/**
 * Gives the jobs of workers silent for {@link STALE_SECONDS} back to the queue: in one
 * transaction, takes their job lists off the worker rows (so only one worker does it) and fails
 * those jobs that are still active through pg-boss (`fail`: retried while attempts remain; the
 * next worker resumes from the unit's checkpoint). The job timeout stays as a backstop.
 */
async function reapSilentWorkers(pool: pg.Pool, boss: PgBoss, log: ProgressStream): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const stale = await client.query(
      `WITH stale AS (
         SELECT sweep, worker, jobs FROM narrownet.worker
         WHERE updated_at < now() - $1::interval AND jobs <> '[]'::jsonb FOR UPDATE SKIP LOCKED)
       UPDATE narrownet.worker w SET jobs = '[]'::jsonb, running = '[]'::jsonb FROM stale
       WHERE w.sweep = stale.sweep AND w.worker = stale.worker
       RETURNING stale.worker AS worker, stale.jobs AS jobs`,
      [`${STALE_SECONDS} seconds`],
    );
    const ids = stale.rows.flatMap((r) => r.jobs as string[]);
    const active = ids.length
      ? (
          await client.query(
            "SELECT id::text AS id FROM pgboss.job WHERE id = ANY($1::uuid[]) AND state = 'active'",
            [ids],
          )
        ).rows.map((r) => r.id as string)
      : [];
    for (const id of active)
      await boss.fail(QUEUE, id, { message: `worker silent for ${STALE_SECONDS} s` }, { db: dbOf(client) });
    await client.query('COMMIT');
    for (const r of stale.rows)
      log.write(
        `narrownet: worker ${r.worker} silent for ${STALE_SECONDS} s: its ${(r.jobs as string[]).length} job(s) go back to the queue\n`,
      );
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/** What a worker needs. */
export interface WorkerOptions {
  url: string;
  concurrency: number;
  /** Exit when the queue holds no job that is waiting, retrying or active. */
  untilEmpty: boolean;
  /** The engine for a sweep's execution mode and fused steps per call. */
  engine: (batched: boolean, stepsPerCall: number) => Promise<ExecEngine>;
  log: ProgressStream;
  hooks: SweepHooks;
  /** Seconds between pg-boss maintenance passes (expiry of jobs whose worker died). Default 10. */
  maintenanceSeconds?: number;
}

interface JobData {
  sweep: string;
  unit: string;
  runs: string[];
}

/**
 * `narrownet worker`: fetches unit jobs from pg-boss (SKIP LOCKED), trains each from its last
 * checkpoint in the store, and in one transaction inserts the unit's result rows (id-keyed:
 * exactly one row per run) and completes the job. A job whose worker died expires after the
 * sweep's job timeout and is fetched again by another worker, which resumes from the checkpoint.
 *
 * Before its first unit of a sweep the worker runs the experiment's `prepare` on this machine (data
 * files present, or fetched when the sweep asks for it): for every sweep with queued jobs before it
 * fetches anything, and for a sweep queued later before it fetches again. A failing `prepare` stops
 * the worker with that error (a UsageError: exit 2) and takes no job; only a sweep created between
 * that check and the fetch can cost the fetched job one attempt (failed with the same message).
 */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const base = await PgStore.connect(o.url, undefined, false);
  const boss = await startBoss(o.url, o.maintenanceSeconds ?? 10);
  const me = workerName();
  const prepared = new Map<string, Promise<void>>();
  /** The experiment's `prepare` for a sweep, once per worker (memoized, failures included). */
  const prepareSweep = (meta: SweepMeta): Promise<void> => {
    let p = prepared.get(meta.name);
    if (!p) {
      const run = async () => {
        const exp = experimentNamed(meta.experiment);
        const where = `${redact(o.url)} (sweep ${meta.name})`;
        await exp.prepare?.(exp.validate(checkStoredSettings(exp, meta.settings, where)), (l) =>
          o.log.write(l),
        );
      };
      p = run().catch((e: Error) => {
        throw e instanceof UsageError
          ? new UsageError(`worker, sweep "${meta.name}": ${e.message}`)
          : new Error(`worker, sweep "${meta.name}": ${e.message}`);
      });
      prepared.set(meta.name, p);
    }
    return p;
  };
  /** Prepares every sweep that has jobs waiting, retrying or running, before a fetch. */
  const prepareQueued = async () => {
    const r = await base.pool.query(
      "SELECT DISTINCT data->>'sweep' AS sweep FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry', 'active')",
      [QUEUE],
    );
    for (const row of r.rows) {
      if (prepared.has(row.sweep as string)) continue;
      const meta = await base.forSweep(row.sweep as string).meta();
      if (meta) await prepareSweep(meta);
    }
  };
  try {
    await prepareQueued();
  } catch (e) {
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    await base.close();
    throw e;
  }
  const sessions = new Map<string, SweepSession>();
  const running = new Map<string, Set<string>>();
  const held = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, k: string, ids: string[]) =>
    m.set(k, new Set([...(m.get(k) ?? []), ...ids]));
  const drop = (m: Map<string, Set<string>>, k: string, ids: string[]) => {
    for (const id of ids) m.get(k)?.delete(id);
  };
  const t0 = performance.now();
  const beat = async (sweep: string) => {
    const s = sessions.get(sweep);
    if (!s) return;
    s.wallSeconds = (performance.now() - t0) / 1000;
    await base.forSweep(sweep).beat([...(running.get(sweep) ?? [])], s, [...(held.get(sweep) ?? [])]);
  };
  const timer = setInterval(() => {
    for (const sweep of sessions.keys()) void beat(sweep).catch(() => {});
    void reapSilentWorkers(base.pool, boss, o.log).catch(() => {});
  }, BEAT_SECONDS * 1000);
  const one = async (): Promise<boolean> => {
    await prepareQueued();
    const [job] = await boss.fetch<JobData>(QUEUE, { includeMetadata: true, batchSize: 1 });
    if (!job) return false;
    const store = base.forSweep(job.data.sweep);
    const meta = await store.meta();
    if (!meta) {
      await boss.fail(QUEUE, job.id, { message: `sweep ${job.data.sweep} is not in the store` });
      return true;
    }
    try {
      await prepareSweep(meta);
    } catch (e) {
      await boss.fail(QUEUE, job.id, { message: (e as Error).message });
      throw e;
    }
    const exp = experimentNamed(meta.experiment);
    const settings = exp.validate(checkStoredSettings(exp, meta.settings, store.where));
    const done = new Set((await store.records()).map((r) => r.id));
    const wanted = new Set(job.data.runs);
    const runs = (exp.expand(settings) as RunPlan[]).filter((r) => wanted.has(r.id) && !done.has(r.id));
    const engine = await o.engine(meta.execution.batched, exp.stepsPerCall?.(settings) ?? 1);
    let session = sessions.get(meta.name);
    if (!session) {
      session = {
        worker: me,
        engine: engine.label,
        command: 'narrownet worker',
        startedAt: new Date().toISOString(),
        wallSeconds: 0,
        runs: 0,
      };
      sessions.set(meta.name, session);
    }
    add(
      running,
      meta.name,
      runs.map((r) => r.id),
    );
    add(held, meta.name, [job.id]);
    await beat(meta.name);
    const bar = new ProgressBar(
      o.log,
      runs.reduce((s, r) => s + r.cost, 0),
      0,
      `${meta.name} ${job.data.unit}`,
      30,
    );
    const records = await store.records();
    let recs: SweepRecord[] | undefined;
    try {
      recs = runs.length
        ? await executeUnit(
            { id: job.data.unit, runs },
            {
              exp,
              meta,
              store,
              engine,
              records,
              bar,
              log: o.log,
              hooks: o.hooks,
              priorAttempts: job.retryCount,
              finalAttempt: (a) => a >= meta.execution.attempts,
            },
          )
        : [];
    } catch (e) {
      // not the last attempt: pg-boss queues the job again (retryLimit)
      await boss.fail(QUEUE, job.id, { message: (e as Error).message });
      drop(running, meta.name, job.data.runs);
      drop(held, meta.name, [job.id]);
      return true;
    }
    if (recs === undefined) {
      await boss.fail(QUEUE, job.id, { message: 'worker interrupted' });
      return false;
    }
    const client = await store.pool.connect();
    try {
      await client.query('BEGIN');
      await store.put(recs, client);
      if (wantsCheckpoints(meta)) await store.dropCheckpoint(job.data.unit, client);
      await boss.complete(QUEUE, job.id, { runs: recs.length }, { db: dbOf(client) });
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
    const before = session.runs;
    session.runs += recs.length;
    drop(running, meta.name, job.data.runs);
    drop(held, meta.name, [job.id]);
    await beat(meta.name);
    for (const [i, r] of recs.entries()) o.hooks.onRunDone?.(r, before + i + 1);
    o.log.write(`${me}: ${job.data.unit} stored (${recs.length} run${recs.length === 1 ? '' : 's'})\n`);
    return true;
  };
  const empty = async () => {
    const r = await base.pool.query(
      "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry', 'active')",
      [QUEUE],
    );
    return r.rows[0].n === 0;
  };
  const loop = async () => {
    while (!o.hooks.signal?.aborted) {
      const got = await one();
      if (got) continue;
      if (o.hooks.signal?.aborted) break;
      if (o.untilEmpty && (await empty())) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, loop));
  } finally {
    clearInterval(timer);
    for (const sweep of sessions.keys()) {
      running.get(sweep)?.clear();
      held.get(sweep)?.clear();
      await beat(sweep).catch(() => {});
    }
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    await base.close();
  }
}
