import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClaimCheck, checkClaims } from './claims.js';
import { type CellEvidence, judgeCell, usableBest } from './evidence.js';
import type { RunRecord } from './runs.js';
import type { ReportInfo } from './sweep/experiment.js';
import { type HeatCell, type LinePoint, colourScale, heatmapSvg, linesSvg } from './vega.js';

/**
 * The best run of one cell (regime × width × ε): lowest finite final loss over the step sizes,
 * with the cell's evidence judgement ({@link judgeCell}: not covered when every run diverged or
 * the best loss is not below the initial loss).
 */
export interface CellBest extends CellEvidence<RunRecord> {
  regime: RunRecord['regime'];
  width: number;
  radius: number;
}

/** Groups records into cells and judges each cell (best run, covered or not). */
export function bestPerCell(records: readonly RunRecord[]): CellBest[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = `${r.regime}/${r.width}/${r.radius}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()]
    .map((rs) => ({ regime: rs[0]!.regime, width: rs[0]!.width, radius: rs[0]!.radius, ...judgeCell(rs) }))
    .sort((a, b) => a.width - b.width || a.radius - b.radius);
}

/** Writes a file through a temporary name, so a reader never sees half of it. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const REGIME_NAME = { zhang2021: 'Alg. 2', constrainedRegular: 'regular init' } as const;

/** "Alg. 2, ε = 0.1, lr 0.01 / 0.1" — a cell's best run, as a legend names it. */
function runLabel(c: CellBest): string {
  const lrs = c.best ? `, lr ${c.best.lr1} / ${c.best.lr2}` : '';
  return `${REGIME_NAME[c.regime]}, ε = ${c.radius}${lrs}${c.notCovered ? ' (not covered)' : ''}`;
}

/**
 * Loss curves of the best run of every (regime, ε) cell at one width: ½Σ(y − f)² on a log axis
 * against the step, one line per cell named in the legend (regime, ε, step sizes), dashed by
 * regime, with a tooltip per point (from the records' `curve`; cells without one are left out).
 */
export async function curvesSvg(cells: readonly CellBest[], width: number): Promise<string | null> {
  const points: LinePoint[] = [];
  for (const c of cells) {
    if (c.width !== width || !c.best?.curve?.length) continue;
    for (const [step, loss] of c.best.curve)
      if (loss > 0 && Number.isFinite(loss))
        points.push({ x: step, y: loss, series: runLabel(c), group: REGIME_NAME[c.regime] });
  }
  if (points.length === 0) return null;
  return linesSvg(points, {
    title: `training loss of each cell's best run, m = ${width}`,
    xTitle: 'step',
    yTitle: '½Σ(y − f)²',
    seriesTitle: 'cell: regime, ε, lr1 / lr2 (dashed: regular init)',
    logY: true,
  });
}

/** CSV of the best-run-per-cell table (RFC 4180 quoting). */
export function cellsCsv(cells: readonly CellBest[]): string {
  const q = (v: unknown) => {
    const t = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const head = [
    'regime',
    'width',
    'radius',
    'covered',
    'not_covered_reason',
    'best_final_loss',
    'lambda_min',
    'lr1',
    'lr2',
    'distance_w',
    'distance_v',
    'stationarity',
    'status',
    'runs',
    'diverged',
    'best_run_id',
  ];
  const rows = cells.map((c) => {
    const b = c.best;
    return [
      c.regime,
      c.width,
      c.radius,
      c.notCovered ? 'no' : 'yes',
      c.notCovered?.reason,
      b?.finalLoss,
      usableBest(c)?.lambdaMin,
      b?.lr1,
      b?.lr2,
      b?.distanceW,
      b?.distanceV,
      usableBest(c)?.stationarity,
      b?.status,
      c.runs,
      c.diverged,
      b?.id,
    ];
  });
  return `${[head, ...rows].map((r) => r.map(q).join(',')).join('\n')}\n`;
}

/**
 * The claims table of a report: the paper's statement, what the sweep measured, the verdict in
 * its colour. `source` names where the paper says it (default: Zhang et al. Sec. 5.1, Fig. 4).
 */
export function claimsHtml(
  claims: readonly Pick<ClaimCheck, 'paper' | 'measured' | 'verdict'>[],
  source = 'Sec. 5.1, Fig. 4',
): string {
  const colour = {
    reproduced: '#1a7f37',
    'not reproduced': '#b42318',
    partly: '#9a6700',
    'not covered': '#555',
  };
  return `<table><tr><th>the paper (${esc(source)})</th><th>this sweep</th><th>verdict</th></tr>
${claims
  .map(
    (c) =>
      `<tr><td>${esc(c.paper)}</td><td>${esc(c.measured)}</td><td style="color:${colour[c.verdict]}"><b>${c.verdict}</b></td></tr>`,
  )
  .join('\n')}
</table>`;
}

/** The rows of a report's settings table: one `<tr>` per field, lists joined by commas. */
export function settingsRowsHtml(settings: object): string {
  return Object.entries(settings)
    .map(
      ([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(Array.isArray(v) ? v.join(', ') : String(v))}</td></tr>`,
    )
    .join('\n');
}

/** Escapes text for HTML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A sweep report's status paragraph: complete or not, how many of the runs (or `unit`) are stored,
 * the engines, the wall time of the sessions that wrote the directory and the command.
 */
export function statusHtml(info: ReportInfo<unknown>, stored: number, unit = 'runs'): string {
  return `<p>${info.complete ? 'Complete' : '<b>Incomplete</b>'}: ${stored} of ${info.totalRuns} ${unit}. Engine: <code>${esc(info.engine)}</code>.
Wall time of the sessions that wrote this directory: ${info.wallSeconds.toFixed(0)} s. Command: <code>${esc(info.command)}</code>.</p>`;
}

function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return x === 0
    ? '0'
    : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3
      ? x.toExponential(digits - 1)
      : x.toPrecision(digits);
}

/** Names of the figure files a report has. */
export const FIGURES = {
  zhangLoss: 'fig4a-zhang2021-loss.svg',
  regularLoss: 'fig4b-constrained-regular-loss.svg',
  zhangLambda: 'fig4c-zhang2021-lambda-min.svg',
  regularLambda: 'fig4d-constrained-regular-lambda-min.svg',
} as const;

/** The CSV of the best-run-per-cell table, beside report.html. */
export const CELLS_CSV = 'cells.csv';

/** What the report shows besides the runs. */
export interface ReportContext {
  settings: Record<string, unknown>;
  engine: string;
  wallSeconds: number;
  command: string;
  complete: boolean;
  totalRuns: number;
  /** ½Σ(y − ȳ)² of the training set (the best constant predictor): the scale of "low cost". */
  constantLoss: number;
}

/**
 * Writes the four Fig. 4 heat maps (SVG) and `report.html` into `dir` from the run records.
 * Returns the cells.
 */
export async function writeReport(
  dir: string,
  records: readonly RunRecord[],
  ctx: ReportContext,
): Promise<{ cells: CellBest[]; claims: ClaimCheck[] }> {
  const cells = bestPerCell(records);
  const claims = checkClaims(cells, { constantLoss: ctx.constantLoss });
  const loss = (c: CellBest) => usableBest(c)?.finalLoss ?? null;
  const lam = (c: CellBest) => usableBest(c)?.lambdaMin ?? null;
  // one scale per quantity over the covered cells of both regimes, so (a)/(b) and (c)/(d) compare;
  // a cell that is not covered (diverged, no descent) is grey and outside the scale
  const nums = (f: (c: CellBest) => number | null) => cells.map(f).filter((v): v is number => v !== null);
  const scales = { loss: colourScale(nums(loss), 'viridis'), lambda: colourScale(nums(lam), 'inferno') };
  const figs: [keyof typeof FIGURES, RunRecord['regime'], 'loss' | 'lambda', string][] = [
    ['zhangLoss', 'zhang2021', 'loss', '(a) ours (Alg. 2): final training loss'],
    [
      'regularLoss',
      'constrainedRegular',
      'loss',
      '(b) regular init + W ball (ε = 1000: regular): final loss',
    ],
    ['zhangLambda', 'zhang2021', 'lambda', '(c) ours: λ_min(J(w*, v*))'],
    ['regularLambda', 'constrainedRegular', 'lambda', '(d) regular init + W ball: λ_min(J(w*, v*))'],
  ];
  const xOrder = [...new Set(cells.map((c) => c.radius))].sort((a, b) => a - b).map(String);
  const yOrder = [...new Set(cells.map((c) => c.width))].sort((a, b) => b - a).map(String);
  const svgs: Record<string, string> = {};
  for (const [name, regime, what, title] of figs) {
    const mine = cells.filter((c) => c.regime === regime);
    if (mine.length === 0) continue;
    const heat: HeatCell[] = mine.map((c) => {
      const v = what === 'loss' ? loss(c) : lam(c);
      return {
        x: String(c.radius),
        y: String(c.width),
        value: v,
        label: c.notCovered ? c.notCovered.label : v === null ? 'not computed' : fmt(v, 2),
        details: {
          'best lr1, lr2': c.best ? `${c.best.lr1}, ${c.best.lr2}` : '—',
          'runs (diverged)': `${c.runs} (${c.diverged})`,
          evidence: c.notCovered ? `not covered: ${c.notCovered.reason}` : 'covered',
        },
      };
    });
    const svg = await heatmapSvg(heat, {
      title,
      xTitle: 'hidden-weight constraint ε',
      yTitle: 'width m',
      xOrder: xOrder.filter((x) => mine.some((c) => String(c.radius) === x)),
      yOrder: yOrder.filter((y) => mine.some((c) => String(c.width) === y)),
      colourTitle: what === 'loss' ? '½Σ(y − f)²' : 'λ_min(J)',
      scale: scales[what],
    });
    writeFileAtomic(join(dir, FIGURES[name]), svg);
    svgs[name] = svg;
  }
  writeFileAtomic(join(dir, CELLS_CSV), cellsCsv(cells));
  const rows = cells
    .map(
      (c) =>
        `<tr><td>${c.regime}</td><td>${c.width}</td><td>${c.radius}</td><td>${fmt(c.best?.finalLoss)}</td>` +
        `<td>${fmt(lam(c))}</td><td>${c.best ? `${c.best.lr1}, ${c.best.lr2}` : '—'}</td>` +
        `<td>${fmt(c.best?.distanceW)}</td><td>${fmt(c.best?.distanceV)}</td><td>${fmt(usableBest(c)?.stationarity)}</td><td>${c.best?.status ?? '—'}</td><td>${c.runs}</td><td>${c.diverged}</td>` +
        `<td>${c.notCovered ? `not covered: ${esc(c.notCovered.reason)}` : 'covered'}</td></tr>`,
    )
    .join('\n');
  // Summary: the paper's comparisons, computed from the cells (smallest width; every ε).
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  const radii = [...new Set(cells.map((c) => c.radius))].sort((a, b) => a - b);
  const find = (regime: RunRecord['regime'], m: number, eps: number) =>
    cells.find((c) => c.regime === regime && c.width === m && c.radius === eps);
  // a number of a cell's best run, or why the cell is not covered
  const shown = (c: CellBest | undefined, v: (r: RunRecord) => number | null | undefined) =>
    c === undefined ? '—' : c.notCovered ? c.notCovered.label : fmt(v(c.best!));
  const summaryRows: string[] = [];
  for (const m of widths.slice(0, 2)) {
    for (const eps of radii) {
      const zc = find('zhang2021', m, eps);
      const rc = find('constrainedRegular', m, eps);
      if (!zc && !rc) continue;
      const z = usableBest(zc);
      const r = usableBest(rc);
      // below 1e-6 both fits are exact to float32 precision: no winner
      const lower =
        z && r
          ? Math.max(z.finalLoss!, r.finalLoss!) <= 1e-6
            ? 'both ≤ 1e-6'
            : z.finalLoss! < r.finalLoss!
              ? 'zhang2021'
              : z.finalLoss! > r.finalLoss!
                ? 'constrainedRegular'
                : 'tie'
          : '—';
      summaryRows.push(
        `<tr><td>${m}</td><td>${eps}</td><td>${shown(zc, (x) => x.finalLoss)}</td><td>${shown(rc, (x) => x.finalLoss)}</td><td>${lower}</td>` +
          `<td>${shown(zc, (x) => x.lambdaMin)}</td><td>${shown(rc, (x) => x.lambdaMin)}</td></tr>`,
      );
    }
  }
  const zl = cells
    .filter((c) => c.regime === 'zhang2021')
    .map((c) => usableBest(c)?.lambdaMin)
    .filter((l): l is number => l != null);
  const curveSvgs: string[] = [];
  for (const m of widths.slice(0, 3)) {
    const svg = await curvesSvg(cells, m);
    if (svg) {
      const file = `loss-curves-m${m}.svg`;
      writeFileAtomic(join(dir, file), svg);
      curveSvgs.push(svg);
    }
  }
  const summary = `<h2>The paper's claims, checked</h2>
<p class="note">Computed from the cells below at the smallest width; "low cost" and "singular" are the stated thresholds.
A verdict is what this sweep shows at its settings (steps, step sizes), not a statement about other settings.</p>
${claimsHtml(claims)}
${curveSvgs.length ? `<h2>Loss curves</h2><div class="figs">${curveSvgs.map((s) => `<div>${s}</div>`).join('\n')}</div>` : ''}
<h2>Summary</h2>
<p>Smallest widths: best final loss and λ_min(J) of Alg. 2 (zhang2021) and of the regular init with the same ball
(constrainedRegular; ε = 1000 = regular training). ${zl.length ? `Smallest λ_min(J) at the end points of Alg. 2 over all covered cells: ${fmt(Math.min(...zl))}.` : ''}</p>
<table><tr><th>m</th><th>ε</th><th>loss zhang2021</th><th>loss constrainedRegular</th><th>lower</th><th>λ_min zhang2021</th><th>λ_min constrainedRegular</th></tr>
${summaryRows.join('\n')}
</table>`;
  const settingsRows = Object.entries(ctx.settings)
    .map(
      ([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(Array.isArray(v) ? v.join(', ') : String(v))}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>narrownet — Zhang et al. 2021 Fig. 4 (synthetic)</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}.figs{display:flex;flex-wrap:wrap;gap:1em}
.note{color:#555}</style></head><body>
<h1>Zhang et al. 2021, Fig. 4 — synthetic data (n = ${ctx.settings.n}, d = ${ctx.settings.d})</h1>
<p>${ctx.complete ? 'Complete' : '<b>Incomplete</b>'}: ${records.length} of ${ctx.totalRuns} runs. Engine: <code>${esc(ctx.engine)}</code>.
Wall time of the sessions that wrote this directory: ${ctx.wallSeconds.toFixed(0)} s.</p>
<p class="note">Each cell shows the best final training loss ½Σ(y − f)² over the step-size grid (lr1 for W, lr2 for v),
and λ_min(J(w*, v*)) of the Jacobian w.r.t. the hidden weights (eq. 3) at that run's final iterate.
ε = 1000 is the unconstrained regime (its column in (b) is the regular training regime).
Colour scales are logarithmic where the values span a decade or more. Grey: the cell is not covered — every step size diverged
("diverged") or its best loss is not below the initial loss ("no descent"); such a cell is outside the colour scale and is no evidence for or against a claim.</p>
<p>Command: <code>${esc(ctx.command)}</code>. Data: <a href="runs.jsonl">runs.jsonl</a> (every run), <a href="${CELLS_CSV}">${CELLS_CSV}</a> (best run per cell).</p>
<h2>Figures</h2><div class="figs">
${Object.values(svgs)
  .map((s) => `<div>${s}</div>`)
  .join('\n')}
</div>
${summary}
<h2>Settings</h2><table>${settingsRows}</table>
<h2>Best run per cell</h2>
<table><tr><th>regime</th><th>m</th><th>ε</th><th>final loss</th><th>λ_min(J)</th><th>lr1, lr2</th><th>‖W − W0‖_F</th><th>‖v − v0‖</th><th title="‖P_T(−∇ℓ)‖/‖∇ℓ‖: 0 = KKT point, 1 = no constraint blocks the gradient">stationarity</th><th>status</th><th>runs</th><th>diverged</th><th>evidence</th></tr>
${rows}
</table>
<p class="note">Data: <a href="runs.jsonl">runs.jsonl</a> (every run, one JSON object per line) and
<a href="${CELLS_CSV}">${CELLS_CSV}</a> (this table). λ_min and stationarity of a cell that is not covered are left out.</p>
</body></html>
`;
  writeFileAtomic(join(dir, 'report.html'), html);
  return { cells, claims };
}
