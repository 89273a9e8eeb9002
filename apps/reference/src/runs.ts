import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import type { SweepRecord } from './sweep/experiment.js';

/** Identity of one run of the synthetic sweep: regime × width × radius × step sizes. */
export interface RunKey {
  regime: 'zhang2021' | 'constrainedRegular';
  width: number;
  radius: number;
  lr1: number;
  lr2: number;
}

/** One line of `runs.jsonl` of the synthetic experiment. */
export interface RunRecord extends RunKey, SweepRecord {
  /** `<regime>/m<width>/eps<radius>/lr<lr1>,<lr2>`. */
  id: string;
  /** The regime and data settings the run used. */
  config: {
    /** `sgd` (heavy ball, App. H.2) or `adam`; absent in records written before `--update`. */
    update?: 'sgd' | 'adam';
    /** `constant` (App. H.2) or `cosine`; absent in records written before `--schedule`. */
    schedule?: 'constant' | 'cosine';
    momentum: number;
    vConstraint: string;
    stepBudget: number;
    lossTolerance: number;
    n: number;
    d: number;
    seed: number;
    loss: string;
  };
  /** Step of the checkpoint the run's last session continued from (absent: trained from step 0 in one go). */
  resumedFrom?: number;
  /** Steps taken. */
  steps: number;
  divergedAt?: number;
  /** ½ Σ (y − f)² at the final iterate (null when diverged). */
  finalLoss: number | null;
  /** ‖W − W0‖_F at the final iterate. */
  distanceW: number | null;
  /** ‖v − v0‖ at the final iterate (v: the outer weights); absent in older records. */
  distanceV?: number | null;
  /** KKT residual at the final iterate (projected-gradient mapping, η = 1). */
  kktResidual: number | null;
  /**
   * ‖P_T(−∇ℓ)‖/‖∇ℓ‖ at the final iterate (optim's `relativeStationarity`): 0 at a KKT point of the
   * constrained problem, 1 where no constraint blocks the gradient. Absent in older records.
   */
  stationarity?: number | null;
  /**
   * λ_min(J(w*, v*)) at the final iterate, or null when not computed (with `lambdaMin: best` it is
   * computed for every run that was the best of its cell when it finished).
   */
  lambdaMin: number | null;
  /**
   * The training loss ½Σ(y − f)² as `[step, loss]` at every evaluation (every `evalEvery` steps and
   * at the end); absent in records written before narrownet-reference 0.2.
   */
  curve?: [number, number][];
}

/** The id of a run (stable across sessions: the resume key). */
export function runId(k: RunKey): string {
  return `${k.regime}/m${k.width}/eps${k.radius}/lr${k.lr1},${k.lr2}`;
}

/**
 * Reads `runs.jsonl`: one JSON object per line. A partially written last line (no newline, or
 * not parseable) is ignored and cut off the file so appends start on a fresh line; a bad line
 * elsewhere is an error naming the file and line.
 */
export function readRuns<R extends { id: string } = RunRecord>(path: string): R[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const out: R[] = [];
  let goodBytes = 0;
  for (const [i, line] of lines.entries()) {
    const last = i === lines.length - 1;
    if (last && line === '') break;
    let rec: R | undefined;
    try {
      rec = JSON.parse(line) as R;
    } catch {
      rec = undefined;
    }
    const complete = !last; // a line is complete only when a newline follows it
    if (!rec || typeof rec.id !== 'string' || !complete) {
      if (last || (i === lines.length - 2 && lines[lines.length - 1] === '' && !rec)) {
        truncateSync(path, goodBytes);
        break;
      }
      throw new Error(`${path}:${i + 1}: not a run record (corrupt line)`);
    }
    out.push(rec);
    goodBytes += Buffer.byteLength(line, 'utf8') + 1;
  }
  return out;
}

/** Appends one record as a line and flushes it to disk. */
export function appendRun(path: string, rec: { id: string }): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, `${JSON.stringify(rec)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
