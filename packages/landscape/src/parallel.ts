/**
 * Shared-memory task runner of the scaled Kawaguchi route (internal, Node only): a job is a list
 * of independent tasks over SharedArrayBuffer-backed arrays; the calling thread and up to
 * `threads − 1` worker threads (dist/worker.js, each with its own WebAssembly kernel) claim tasks
 * from one atomic counter until none is left. Every task writes its own disjoint part of the
 * output and does the same arithmetic whichever thread runs it, so the result does not depend on
 * the number of threads. Where worker threads cannot be started (no worker_threads, no built
 * worker file next to this module), the calling thread runs every task: same result, one thread.
 * A pool ({@link openPool}) keeps its workers for several rounds of one job (the Cholesky factor's
 * trailing update after each pivot block); the workers sleep in Atomics.wait between rounds.
 * The caller blocks in Atomics.wait, so the route stays synchronous. Node's modules are reached
 * through `process.getBuiltinModule` (Node ≥ 20.16), never imported, so the package still bundles
 * for browsers, where everything runs on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import type { GemmKernel } from './gemm.js';
import { type GramContext, gramTask } from './gramTasks.js';
import { type FactorContext, factorTask } from './factorTasks.js';
import { type RefineContext, refineTask } from './refineTasks.js';

/**
 * A job the workers know: its kind selects the task function in both threads, `kernel` the matrix
 * kernel every thread uses (so a forced plain-JavaScript kernel holds in the workers too).
 */
export type Job =
  | { kind: 'gram'; kernel: GemmKernel; ctx: GramContext }
  | { kind: 'refine'; kernel: GemmKernel; ctx: RefineContext }
  | { kind: 'factor'; kernel: GemmKernel; ctx: FactorContext };

/**
 * Control words in the shared Int32Array: next ticket, tickets done, error flag, workers started,
 * round (bumped to wake the workers), first ticket and end of the current round, stop flag.
 * Tickets are numbered across the rounds of a pool; task t of a round is ticket base + t.
 */
const NEXT = 0;
const DONE = 1;
const ERROR = 2;
const STARTED = 3;
const ROUND = 4;
const BASE = 5;
const END = 6;
const STOP = 7;
const CONTROL_WORDS = 8;
/** How long the calling thread waits for its workers to start before it begins alone. */
const START_TIMEOUT_MS = 30_000;

/** Runs task `t` of `job` (the same function in the calling thread and in the workers). */
export function runTask(job: Job, t: number): void {
  if (job.kind === 'gram') gramTask(job.ctx, t);
  else if (job.kind === 'refine') refineTask(job.ctx, t);
  else if (job.kind === 'factor') factorTask(job.ctx, t);
  else throw new Error(`unknown job ${(job as { kind: string }).kind}`);
}

/**
 * Claims and runs tickets of the current round until none is left, counting them in ranBy[slot].
 * A ticket is taken only while it is below the round's end (compare-and-swap), so a thread still
 * looking for work of a finished round never takes a ticket of the next one.
 */
export function claimLoop(job: Job, ctl: Int32Array, ranBy: Int32Array, slot: number): void {
  for (;;) {
    if (Atomics.load(ctl, ERROR) !== 0) return;
    const end = Atomics.load(ctl, END);
    const t = Atomics.load(ctl, NEXT);
    if (t >= end) return;
    if (Atomics.compareExchange(ctl, NEXT, t, t + 1) !== t) continue;
    runTask(job, t - Atomics.load(ctl, BASE));
    Atomics.add(ranBy, slot, 1);
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}

/**
 * A worker's life (called from dist/worker.js): says it has started, then sleeps until a round
 * begins, claims its tickets, and sleeps again, until the pool is closed.
 */
export function workerLoop(job: Job, ctl: Int32Array, ranBy: Int32Array, slot: number): void {
  signalStarted(ctl);
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, ROUND, seen);
    if (Atomics.load(ctl, STOP) !== 0) return;
    const round = Atomics.load(ctl, ROUND);
    if (round === seen) continue;
    seen = round;
    claimLoop(job, ctl, ranBy, slot);
  }
}

/** Tells the calling thread that a worker is running (before it claims tasks). */
function signalStarted(ctl: Int32Array): void {
  Atomics.add(ctl, STARTED, 1);
  Atomics.notify(ctl, STARTED);
}

/** Marks a failed job (called by a worker whose task threw) and wakes the caller. */
export function failJob(ctl: Int32Array): void {
  Atomics.store(ctl, ERROR, 1);
  Atomics.notify(ctl, DONE);
  Atomics.notify(ctl, STARTED);
  Atomics.notify(ctl, ROUND);
}

/** A Node built-in module, or undefined outside Node (or on a Node without getBuiltinModule). */
function builtin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return typeof proc?.getBuiltinModule === 'function' ? (proc.getBuiltinModule(id) as T) : undefined;
}

/** Default thread count: the available cores, at most 4 (1 outside Node). */
export function defaultThreads(): number {
  const os = builtin<typeof import('node:os')>('node:os');
  if (!os) return 1;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores));
}

/** CPU milliseconds of this process so far (user + system, all threads), or null outside Node. */
export function cpuMs(): number | null {
  const proc = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  if (typeof proc?.cpuUsage !== 'function') return null;
  const u = proc.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A Float64Array of `len` zeros, on a SharedArrayBuffer when `shared`. */
export function float64(len: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(len * 8)) : new Float64Array(len);
}

/** The built worker next to this module (dist/worker.js), or null (e.g. running from src/). */
function workerUrl(): URL | null {
  const fs = builtin<typeof import('node:fs')>('node:fs');
  const url = builtin<typeof import('node:url')>('node:url');
  if (!fs || !url) return null;
  try {
    const here = typeof __filename === 'string' ? url.pathToFileURL(__filename).href : import.meta.url;
    const file = new URL('./worker.js', here);
    return fs.existsSync(url.fileURLToPath(file)) ? file : null;
  } catch {
    return null;
  }
}

/** What {@link runJob} or a {@link Pool} did. */
export interface JobRun {
  /** Threads that ran at least one task (1 on the single-thread fallback). */
  threads: number;
  /** Why fewer threads than requested could work, or ''. */
  fallback: string;
}

/** One account of several jobs: the most threads any of them used, the first fallback reason. */
export function mergeRuns(...runs: JobRun[]): JobRun {
  return {
    threads: Math.max(1, ...runs.map((r) => r.threads)),
    fallback: runs.find((r) => r.fallback)?.fallback ?? '',
  };
}

/**
 * The calling thread and up to `threads − 1` started workers, kept for several rounds of one job
 * (the job's shared arguments may change between rounds: the workers read them at each task).
 */
export interface Pool {
  /** Runs tasks 0..count−1 of the job on every thread of the pool; returns when all are done. */
  run(count: number): void;
  /** Stops the workers and says what ran where (idempotent). */
  close(): JobRun;
}

/**
 * Starts the workers of a {@link Pool} for `job` (all of its arrays must be SharedArrayBuffer-backed
 * when threads > 1): at most `threads − 1`, and fewer than `maxTasks` (the most tasks a round will
 * have). Where they cannot start, the pool runs every task on the calling thread and says why.
 */
export function openPool(job: Job, threads: number, maxTasks: number): Pool {
  const ctl = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  const workers: Worker[] = [];
  const ranBy = new Int32Array(new SharedArrayBuffer(4 * Math.max(threads, 1)));
  let fallback = '';
  const spawn = Math.min(threads - 1, Math.max(maxTasks - 1, 0));
  if (spawn > 0) {
    const url = workerUrl();
    const wt = builtin<typeof import('node:worker_threads')>('node:worker_threads');
    if (!wt) fallback = 'no Node worker_threads here (needs Node ≥ 20.16: process.getBuiltinModule)';
    else if (!url) fallback = 'no built worker file (dist/worker.js) next to the module';
    else {
      try {
        for (let w = 0; w < spawn; w++) {
          const worker = new wt.Worker(url, { workerData: { job, ctl, ranBy, slot: w + 1 } });
          worker.unref();
          workers.push(worker);
        }
      } catch (e) {
        fallback = `worker threads unavailable: ${(e as Error).message}`;
      }
    }
  }
  // The workers are waited for (they start in tens of milliseconds), so each takes its share.
  const t0 = Date.now();
  for (;;) {
    const started = Atomics.load(ctl, STARTED);
    if (started >= workers.length || Atomics.load(ctl, ERROR) !== 0) break;
    const left = START_TIMEOUT_MS - (Date.now() - t0);
    if (left <= 0) {
      fallback = `${workers.length - started} worker thread(s) did not start within ${START_TIMEOUT_MS / 1000} s`;
      break;
    }
    Atomics.wait(ctl, STARTED, started, left);
  }
  let closed = false;
  const stop = () => {
    if (closed) return;
    closed = true;
    Atomics.store(ctl, STOP, 1);
    Atomics.add(ctl, ROUND, 1);
    Atomics.notify(ctl, ROUND);
    for (const w of workers) void w.terminate();
  };
  const failed = () => {
    stop();
    return new Error('kawaguchiLoss: a worker thread failed (rerun with options.threads = 1)');
  };
  return {
    run(count) {
      if (closed) throw new Error('openPool: run() after close()');
      if (Atomics.load(ctl, ERROR) !== 0) throw failed();
      // Every ticket of the last round is done, so NEXT is its end: the new round starts there.
      const base = Atomics.load(ctl, NEXT);
      Atomics.store(ctl, BASE, base);
      Atomics.store(ctl, END, base + count);
      Atomics.add(ctl, ROUND, 1);
      if (workers.length) Atomics.notify(ctl, ROUND);
      try {
        claimLoop(job, ctl, ranBy, 0);
      } catch (e) {
        failJob(ctl);
        stop();
        throw e;
      }
      for (;;) {
        const done = Atomics.load(ctl, DONE);
        if (Atomics.load(ctl, ERROR) !== 0) throw failed();
        if (done >= base + count) break;
        Atomics.wait(ctl, DONE, done, 1000);
      }
    },
    close() {
      stop();
      let used = 0;
      for (let i = 0; i < ranBy.length; i++) if (Atomics.load(ranBy, i) > 0) used++;
      return { threads: Math.max(used, 1), fallback };
    },
  };
}

/**
 * Runs the `count` tasks of `job` on the calling thread and `threads − 1` workers (all arrays of
 * `job` must be SharedArrayBuffer-backed when threads > 1): a {@link Pool} of one round. Throws if a
 * task threw in a worker.
 */
export function runJob(job: Job, count: number, threads: number): JobRun {
  const pool = openPool(job, threads, count);
  pool.run(count); // stops the pool itself where it throws
  return pool.close();
}
