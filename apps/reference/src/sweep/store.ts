import { hostname } from 'node:os';
import { UsageError } from '../options.js';
import type { CheckpointSlot, SweepRecord } from './experiment.js';

/** Format tag and version of a stored sweep (config.json of a run directory, the sweep row in SQL). */
export const SWEEP_FORMAT = 'narrownet-sweep';
/** Version of the stored sweep; a store with another version is refused with a clear error. */
export const SWEEP_VERSION = 2;

/** One process that worked on a sweep (provenance: never rewritten by a later session). */
export interface SweepSession {
  worker: string;
  engine: string;
  command: string;
  startedAt: string;
  wallSeconds: number;
  /** Runs this session stored. */
  runs: number;
}

/** A sweep as stored: everything needed to resume it with the same results. */
export interface SweepMeta {
  format: typeof SWEEP_FORMAT;
  version: typeof SWEEP_VERSION;
  /** Run directory path or the sweep's name in a database. */
  name: string;
  experiment: string;
  settings: Record<string, unknown>;
  execution: {
    /** Batches of runs on one fused trainer (grid mode) or one trainer per run (`--sequential`). */
    batched: boolean;
    /** Attempts per unit before its runs are recorded `failed`. */
    attempts: number;
  };
  createdAt: string;
  sessions: SweepSession[];
}

/** What a running worker says about itself (for `narrownet status`). */
export interface WorkerBeat {
  worker: string;
  running: string[];
  updatedAt: string;
  /** Whether the process is known to be gone (same host, pid not alive). */
  dead?: boolean;
}

/** Where a sweep lives: a run directory (embedded) or PostgreSQL. */
export interface SweepStore {
  /** The directory or URL (password hidden), for messages. */
  readonly where: string;
  /** The stored sweep, or undefined when the store holds none. */
  meta(): Promise<SweepMeta | undefined>;
  /** Creates or updates the sweep's meta (settings never change: callers check). */
  saveMeta(meta: SweepMeta): Promise<void>;
  /** Every stored record. */
  records(): Promise<SweepRecord[]>;
  /** Stores records (id-keyed: a record whose id is stored already is not written again). */
  put(records: SweepRecord[]): Promise<void>;
  /** The checkpoint slot of a unit (its files restored locally). */
  checkpoint(unit: string): Promise<CheckpointSlot>;
  /** Removes checkpoints of units not in `keep`; returns what it removed (optional: a store that drops them atomically needs none). */
  pruneCheckpoints?(keep: string[]): string[];
  /** Drops a unit's checkpoint (its runs are stored). */
  dropCheckpoint(unit: string): Promise<void>;
  /** Says which runs this worker is training now (empty = idle / done), with its session. */
  beat(running: string[], session?: SweepSession): Promise<void>;
  /** Workers that said something. */
  workers(): Promise<WorkerBeat[]>;
  close(): Promise<void>;
}

/** `host:pid` of this process. */
export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}

/** Whether a `host:pid` worker on this host is gone (unknown for other hosts: false). */
export function workerGone(worker: string): boolean {
  const [host, pid] = worker.split(':');
  if (host !== hostname() || !pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Checks that a stored sweep is one this version reads: format, version and the fields resume
 * needs. `where` names the file or store in the error.
 */
export function checkMeta(value: unknown, where: string): SweepMeta {
  const m = value as Partial<SweepMeta> | null;
  if (m === null || typeof m !== 'object' || Array.isArray(m))
    throw new UsageError(`${where}: not a narrownet sweep (expected a JSON object)`);
  if (m.format === undefined && 'settings' in m)
    throw new UsageError(
      `${where}: written by an earlier narrownet (no "format" field; its execution mode was not saved): run the sweep again`,
    );
  if (m.format !== SWEEP_FORMAT)
    throw new UsageError(
      `${where}: not a narrownet sweep (field "format" is ${JSON.stringify(m.format)}, expected "${SWEEP_FORMAT}")`,
    );
  if (m.version !== SWEEP_VERSION)
    throw new UsageError(
      `${where}: sweep format version ${JSON.stringify(m.version)}, this narrownet reads version ${SWEEP_VERSION}`,
    );
  if (typeof m.experiment !== 'string') throw new UsageError(`${where}: field "experiment" missing`);
  if (!m.settings || typeof m.settings !== 'object' || Array.isArray(m.settings))
    throw new UsageError(`${where}: field "settings" missing or not an object`);
  const ex = m.execution;
  if (!ex || typeof ex.batched !== 'boolean' || !Number.isInteger(ex.attempts) || ex.attempts < 1)
    throw new UsageError(`${where}: field "execution" missing or malformed (batched, attempts)`);
  if (!Array.isArray(m.sessions)) throw new UsageError(`${where}: field "sessions" missing`);
  return m as SweepMeta;
}
