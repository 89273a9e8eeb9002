import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../options.js';
import { writeFileAtomic } from '../report.js';
import { appendRun, readRuns } from '../runs.js';
import type { CheckpointSlot, SweepRecord } from './experiment.js';
import {
  type SweepMeta,
  type SweepStore,
  type WorkerBeat,
  checkMeta,
  workerGone,
  workerName,
} from './store.js';

/** A file name for a unit id (ids hold `/`, `,`, …). */
export function safeName(id: string): string {
  return id.replace(/[^a-zA-Z0-9.,-]+/g, '_');
}

/**
 * Removes what a process killed mid-write leaves: `*.tmp-*` files of atomic writes (config.json,
 * checkpoints), anywhere under `dir`. Returns the paths removed.
 */
export function removeTornTemps(dir: string): string[] {
  const removed: string[] = [];
  if (!existsSync(dir)) return removed;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) removed.push(...removeTornTemps(p));
    else if (/\.tmp-/.test(name)) {
      rmSync(p, { force: true });
      removed.push(p);
    }
  }
  return removed;
}

/**
 * The embedded store: a run directory. `config.json` holds the sweep (settings, execution mode,
 * sessions), `runs.jsonl` one record per line (append-only, fsynced; a torn last line is cut off
 * on read), `checkpoints/<unit>/` the checkpoints of unfinished units, `workers.json` which runs
 * the process working on it trains now. One process works on a directory at a time.
 */
export class DirStore implements SweepStore {
  readonly where: string;
  private readonly cfgPath: string;
  private readonly runsPath: string;
  private readonly ckRoot: string;
  private readonly beatPath: string;

  constructor(readonly dir: string) {
    this.where = dir;
    this.cfgPath = join(dir, 'config.json');
    this.runsPath = join(dir, 'runs.jsonl');
    this.ckRoot = join(dir, 'checkpoints');
    this.beatPath = join(dir, 'workers.json');
  }

  async meta(): Promise<SweepMeta | undefined> {
    if (!existsSync(this.cfgPath)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(this.cfgPath, 'utf8'));
    } catch (e) {
      throw new UsageError(
        `${this.cfgPath}: not a narrownet sweep (not valid JSON: ${(e as Error).message})`,
      );
    }
    return checkMeta(value, this.cfgPath);
  }

  async saveMeta(meta: SweepMeta): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.cfgPath, `${JSON.stringify(meta, null, 2)}\n`);
  }

  async records(): Promise<SweepRecord[]> {
    return readRuns(this.runsPath) as unknown as SweepRecord[];
  }

  async put(records: SweepRecord[]): Promise<void> {
    const have = new Set((await this.records()).map((r) => r.id));
    for (const r of records) {
      if (have.has(r.id)) continue;
      appendRun(this.runsPath, r as never);
      have.add(r.id);
    }
  }

  async checkpoint(unit: string): Promise<CheckpointSlot> {
    const dir = join(this.ckRoot, safeName(unit));
    mkdirSync(dir, { recursive: true });
    return { dir, commit: async () => {} };
  }

  async dropCheckpoint(unit: string): Promise<void> {
    rmSync(join(this.ckRoot, safeName(unit)), { recursive: true, force: true });
    if (existsSync(this.ckRoot) && readdirSync(this.ckRoot).length === 0)
      rmSync(this.ckRoot, { recursive: true });
  }

  /** Removes checkpoints of units not in `keep` (left when a process died between storing a unit's runs and dropping its checkpoint). */
  pruneCheckpoints(keep: string[]): string[] {
    if (!existsSync(this.ckRoot)) return [];
    const wanted = new Set(keep.map(safeName));
    const removed: string[] = [];
    for (const name of readdirSync(this.ckRoot))
      if (!wanted.has(name)) {
        rmSync(join(this.ckRoot, name), { recursive: true, force: true });
        removed.push(join(this.ckRoot, name));
      }
    return removed;
  }

  async beat(running: string[]): Promise<void> {
    const beat: WorkerBeat = { worker: workerName(), running, updatedAt: new Date().toISOString() };
    writeFileAtomic(this.beatPath, `${JSON.stringify([beat])}\n`);
  }

  async workers(): Promise<WorkerBeat[]> {
    if (!existsSync(this.beatPath)) return [];
    try {
      const beats = JSON.parse(readFileSync(this.beatPath, 'utf8')) as WorkerBeat[];
      return beats.map((b) => ({ ...b, dead: workerGone(b.worker) }));
    } catch {
      return [];
    }
  }

  /** Removes temporary files of writes a killed process left (call before working on the directory). */
  recover(): string[] {
    return removeTornTemps(this.dir);
  }

  async close(): Promise<void> {}
}
