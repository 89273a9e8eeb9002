/**
 * When a cell of a sweep counts as evidence for a claim — one rule for every experiment.
 *
 * A cell is the set of runs of one setting (e.g. regime × width × ε over a step-size grid); its
 * result is its best run. A failed cell says nothing about a paper's claim — neither for nor
 * against it: a cell is **not covered** when every run diverged, or when its best loss is not
 * below the loss at step 0 (every run blew up or made no progress: the step sizes are wrong for
 * this setting, which is not what a claim about the loss landscape is about). Quantities measured
 * at such a cell's end point (λ_min, stationarity) are not used either.
 */

/** The part of a run record the rule reads (any experiment's records have these). */
export interface RunOutcome {
  /** `diverged` when the run left the finite range. */
  status: string;
  /** Training loss at the final iterate; null when the run diverged. */
  finalLoss: number | null;
  /** `[step, loss]` at each evaluation; an entry at step 0 is the initial loss. */
  curve?: readonly (readonly [number, number])[];
}

/** Why a cell is not covered: a short label (heat-map cells) and a sentence (tables, claims). */
export interface NotCovered {
  label: 'diverged' | 'failed' | 'no descent' | 'no runs';
  reason: string;
}

/** What a cell of runs shows: its best run, and whether it may be used as evidence. */
export interface CellEvidence<R extends RunOutcome> {
  /** Runs in the cell and how many of them diverged. */
  runs: number;
  diverged: number;
  /** The run with the lowest finite final loss among those that did not diverge. */
  best: R | null;
  /** Null when the cell is usable evidence; otherwise why not. */
  notCovered: NotCovered | null;
}

/** The loss at step 0 of a run (its curve's first entry), or null when the record has none. */
export function initialLoss(run: RunOutcome): number | null {
  const first = run.curve?.[0];
  return first && first[0] === 0 && Number.isFinite(first[1]) ? first[1] : null;
}

/** A number in three significant digits, exponential outside [0.01, 1e4) (claims and reasons). */
export function fmt(x: number): string {
  return x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-2 ? x.toExponential(2) : x.toPrecision(3);
}

/** A run that left the finite range: status `diverged`, or no finite final loss (a failed run too). */
export function isDiverged(run: RunOutcome): boolean {
  return run.status === 'diverged' || run.finalLoss === null || !Number.isFinite(run.finalLoss);
}

/** A run whose training threw on every attempt (status `failed`: no result, not a divergence). */
export function isFailed(run: RunOutcome): boolean {
  return run.status === 'failed';
}

/**
 * Judges one cell: picks its best run (lowest finite final loss of the runs that did not
 * diverge) and says whether the cell is evidence (see the module comment for the rule).
 */
export function judgeCell<R extends RunOutcome>(runs: readonly R[]): CellEvidence<R> {
  let best: R | null = null;
  let diverged = 0;
  let failed = 0;
  for (const r of runs) {
    if (isFailed(r)) failed++;
    else if (isDiverged(r)) diverged++;
    else if (best === null || r.finalLoss! < best.finalLoss!) best = r;
  }
  const n = runs.length;
  let notCovered: NotCovered | null = null;
  if (n === 0) notCovered = { label: 'no runs', reason: 'no runs' };
  else if (best === null)
    notCovered = failed
      ? {
          label: 'failed',
          reason: `no run finished: ${failed} of ${n} failed (training threw)${diverged ? `, ${diverged} diverged` : ''}`,
        }
      : { label: 'diverged', reason: `every run diverged (${diverged} of ${n})` };
  else {
    const l0 = initialLoss(best);
    if (l0 !== null && best.finalLoss! >= l0)
      notCovered = {
        label: 'no descent',
        reason: `best final loss ${fmt(best.finalLoss!)} is not below the initial loss ${fmt(l0)}${diverged ? ` (${diverged} of ${n} runs diverged)` : ''}`,
      };
  }
  return { runs: n, diverged, best, notCovered };
}

/** The best run of a cell when the cell is evidence, else null. */
export function usableBest<R extends RunOutcome>(cell: CellEvidence<R> | undefined): R | null {
  return cell && cell.notCovered === null ? cell.best : null;
}
