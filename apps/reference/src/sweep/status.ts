import { experimentNamed } from '../experiments/registry.js';
import { UsageError } from '../options.js';
import type { AnyExperiment, RunPlan, SweepRecord } from './experiment.js';
import { checkStoredSettings } from './settings.js';
import type { SweepMeta, SweepStore } from './store.js';

/** Where a sweep stands. */
export interface SweepStatus {
  name: string;
  experiment: string;
  total: number;
  /** Runs stored with a result (converged, budget or diverged). */
  done: number;
  /** Of those, diverged. */
  diverged: number;
  /** Runs stored as failed (training threw on every attempt). */
  failed: number;
  /** Runs a live worker is training now. */
  running: number;
  /** Neither stored nor running. */
  pending: number;
  workers: { worker: string; stored: number; running: string[]; dead: boolean; updatedAt?: string }[];
}

/** What a store holds now: the sweep, its experiment and settings, records and status. */
export async function snapshot(store: SweepStore): Promise<{
  meta: SweepMeta;
  exp: AnyExperiment;
  settings: Record<string, unknown>;
  records: SweepRecord[];
  status: SweepStatus;
}> {
  const meta = await store.meta();
  if (!meta) throw new UsageError(`${store.where}: holds no sweep`);
  const exp = experimentNamed(meta.experiment);
  const settings = exp.validate(checkStoredSettings(exp, meta.settings, store.where));
  const plans = exp.expand(settings) as RunPlan[];
  // in the order of the sweep's runs: the report of a store does not depend on who finished first
  const order = new Map(plans.map((p, i) => [p.id, i]));
  const records = (await store.records()).sort(
    (a, b) => (order.get(a.id) ?? Number.MAX_SAFE_INTEGER) - (order.get(b.id) ?? Number.MAX_SAFE_INTEGER),
  );
  const ids = new Set(plans.map((p) => p.id));
  const stored = new Set(records.map((r) => r.id));
  const beats = await store.workers();
  const running = new Set(
    beats.filter((b) => !b.dead).flatMap((b) => b.running.filter((id) => ids.has(id) && !stored.has(id))),
  );
  const byWorker = new Map<string, SweepStatus['workers'][number]>();
  for (const b of beats)
    byWorker.set(b.worker, {
      worker: b.worker,
      stored: 0,
      running: b.dead ? [] : b.running,
      dead: b.dead === true,
      updatedAt: b.updatedAt,
    });
  for (const r of records) {
    const w = r.worker ?? 'unknown';
    const entry = byWorker.get(w) ?? { worker: w, stored: 0, running: [], dead: false };
    entry.stored++;
    byWorker.set(w, entry);
  }
  const failed = records.filter((r) => r.status === 'failed').length;
  return {
    meta,
    exp,
    settings,
    records,
    status: {
      name: meta.name,
      experiment: meta.experiment,
      total: plans.length,
      done: records.length - failed,
      diverged: records.filter((r) => r.status === 'diverged').length,
      failed,
      running: running.size,
      pending: plans.length - stored.size - running.size,
      workers: [...byWorker.values()],
    },
  };
}

/** Plain-text status, one line for the sweep and one per worker. */
export function statusText(s: SweepStatus): string {
  const head = `${s.name} (${s.experiment}): ${s.done} done (${s.diverged} diverged), ${s.running} running, ${s.failed} failed, ${s.pending} pending of ${s.total}`;
  const rows = s.workers.map(
    (w) =>
      `  ${w.worker}: ${w.stored} stored${w.dead ? ', process gone' : w.running.length ? `, training ${w.running.length}: ${w.running.slice(0, 3).join(' ')}${w.running.length > 3 ? ' …' : ''}` : ', idle'}`,
  );
  return [head, ...rows].join('\n');
}
