/** Report pieces the classification experiments (mnist-widths, random-labels, resnet-widths) share. */
import { join } from 'node:path';
import { esc, writeFileAtomic } from './report.js';

/** A claim's verdict. */
export type Verdict = 'reproduced' | 'partly' | 'not reproduced' | 'not covered';

/** One of a paper's statements checked on a sweep. */
export interface ClassificationClaim {
  paper: string;
  measured: string;
  verdict: Verdict;
}

/** Thresholds on the fraction of comparisons that go the paper's way (stated in each report). */
export const FRACTION_THRESHOLDS = { reproduced: 0.8, partly: 0.5 } as const;

/**
 * The verdict of `good` of `total` comparisons going the paper's way: reproduced at ≥ 0.8, partly
 * at ≥ 0.5, else not reproduced; not covered without a comparison.
 */
export function fractionVerdict(good: number, total: number): Verdict {
  if (total === 0) return 'not covered';
  const f = good / total;
  return f >= FRACTION_THRESHOLDS.reproduced
    ? 'reproduced'
    : f >= FRACTION_THRESHOLDS.partly
      ? 'partly'
      : 'not reproduced';
}

/** An accuracy as a percentage with two decimals, '—' when absent. */
export const pct = (x: number | null | undefined): string =>
  x === null || x === undefined ? '—' : `${(100 * x).toFixed(2)}%`;

/** The settings as an HTML table body (one row per field). */
export function settingsRows(settings: object): string {
  return Object.entries(settings)
    .map(
      ([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(Array.isArray(v) ? v.join(', ') : String(v))}</td></tr>`,
    )
    .join('\n');
}

/** A whole report page: title, then the body's HTML. */
export function reportPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>narrownet — ${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}.note{color:#555}</style></head><body>
${body}
</body></html>
`;
}

/**
 * Writes `dir/report.html`: {@link reportPage} of the body followed by the settings table and the
 * link to runs.jsonl; returns the console lines of the claims.
 */
export function writeReportPage(
  dir: string,
  title: string,
  body: string,
  settings: object,
  claims: readonly ClassificationClaim[],
): string[] {
  const tail = `<h2>Settings</h2><table>${settingsRows(settings)}</table>
<p class="note">Data: <a href="runs.jsonl">runs.jsonl</a> (one JSON object per run, with its evaluation curve).</p>`;
  writeFileAtomic(join(dir, 'report.html'), reportPage(title, `${body}\n${tail}`));
  return claimLines(claims);
}

/** The console lines of a report's claims. */
export function claimLines(claims: readonly ClassificationClaim[]): string[] {
  return claims.map((c) => `${c.verdict.padEnd(14)} ${c.paper}\n${' '.repeat(15)}${c.measured}`);
}

/** The figure series of a sweep cell: regular training, or Alg. 2 at its radius ε. */
export const armSeries = (c: { arm: string; radius: number | null }): string =>
  c.arm === 'regular' ? 'regular training (LeCun)' : `Alg. 2, ε = ${c.radius}`;
