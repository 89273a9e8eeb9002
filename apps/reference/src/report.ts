import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { type ClaimCheck, checkClaims } from './claims.js';
import { type CellEvidence, judgeCell, usableBest } from './evidence.js';
import type { RunRecord } from './runs.js';

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

/** Renders a Vega-Lite spec to SVG headless (Vega View.toSVG(), no DOM). */
async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Renders a Zhang Fig. 4-style heat map headless (Vega-Lite → Vega View.toSVG()): ε on x, width
 * on y, colour = `value`, each cell labelled with its value; cells without a value are grey.
 */
export async function heatmapSvg(
  cells: { width: number; radius: number; value: number | null; label: string }[],
  title: string,
  colorTitle: string,
  domain: [number, number],
  scheme: 'viridis' | 'inferno',
): Promise<string> {
  const values = cells.map((c) => ({ ...c, eps: String(c.radius), m: String(c.width) }));
  const epsOrder = [...new Set(cells.map((c) => c.radius))].sort((a, b) => a - b).map(String);
  const mOrder = [...new Set(cells.map((c) => c.width))].sort((a, b) => b - a).map(String);
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    width: Math.max(180, 48 * epsOrder.length),
    height: Math.max(120, 30 * mOrder.length),
    encoding: {
      x: { field: 'eps', type: 'ordinal', sort: epsOrder, title: 'hidden-weight constraint ε' },
      y: { field: 'm', type: 'ordinal', sort: mOrder, title: 'width m' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white' },
        encoding: {
          color: {
            condition: {
              test: 'datum.value !== null && isFinite(datum.value)',
              field: 'value',
              type: 'quantitative',
              title: colorTitle,
              scale: { scheme, domain },
            },
            value: '#cccccc',
          },
        },
      },
      { mark: { type: 'text', fontSize: 9 }, encoding: { text: { field: 'label', type: 'nominal' } } },
    ],
  };
  return renderSvg(spec);
}

/**
 * Loss curves of the best run of every (regime, ε) cell at one width: log10 ½Σ(y − f)² against the
 * step, one line per cell (from the records' `curve`; cells without one are left out).
 */
export async function curvesSvg(cells: readonly CellBest[], width: number): Promise<string | null> {
  const values: { step: number; loss: number; run: string }[] = [];
  for (const c of cells) {
    if (c.width !== width || !c.best?.curve?.length) continue;
    const run = `${c.regime === 'zhang2021' ? 'Alg. 2' : 'regular init'} ε=${c.radius}`;
    for (const [step, loss] of c.best.curve)
      if (loss > 0 && Number.isFinite(loss)) values.push({ step, loss: Math.log10(loss), run });
  }
  if (values.length === 0) return null;
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `training loss of each cell's best run, m = ${width}`,
    data: { values },
    width: 360,
    height: 220,
    mark: { type: 'line', point: { size: 12 } },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'loss', type: 'quantitative', title: 'log10 ½Σ(y − f)²' },
      color: { field: 'run', type: 'nominal', title: 'cell' },
      strokeDash: { field: 'run', type: 'nominal', legend: null },
    },
  };
  return renderSvg(spec);
}

/** The claims table of the report (Zhang et al. Sec. 5.1 checked on this sweep). */
function claimsHtml(claims: readonly ClaimCheck[]): string {
  const colour = {
    reproduced: '#1a7f37',
    'not reproduced': '#b42318',
    partly: '#9a6700',
    'not covered': '#555',
  };
  return `<table><tr><th>the paper (Sec. 5.1, Fig. 4)</th><th>this sweep</th><th>verdict</th></tr>
${claims
  .map(
    (c) =>
      `<tr><td>${esc(c.paper)}</td><td>${esc(c.measured)}</td><td style="color:${colour[c.verdict]}"><b>${c.verdict}</b></td></tr>`,
  )
  .join('\n')}
</table>`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
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
  const loss = (c: CellBest) => {
    const l = usableBest(c)?.finalLoss;
    return l != null && l > 0 ? Math.log10(l) : null;
  };
  const lam = (c: CellBest) => usableBest(c)?.lambdaMin ?? null;
  const lossVals = cells.map(loss).filter((v): v is number => v !== null);
  const lamVals = cells.map(lam).filter((v): v is number => v !== null);
  const lossDomain: [number, number] = lossVals.length
    ? [Math.min(...lossVals), Math.max(...lossVals)]
    : [0, 1];
  const lamDomain: [number, number] = lamVals.length ? [0, Math.max(...lamVals)] : [0, 1];
  if (lossDomain[0] === lossDomain[1]) lossDomain[1] = lossDomain[0] + 1;
  if (lamDomain[1] === 0) lamDomain[1] = 1;
  const figs: [keyof typeof FIGURES, RunRecord['regime'], 'loss' | 'lambda', string][] = [
    ['zhangLoss', 'zhang2021', 'loss', '(a) ours (Alg. 2): log10 final training loss'],
    [
      'regularLoss',
      'constrainedRegular',
      'loss',
      '(b) regular init + W ball (ε = 1000: regular): log10 loss',
    ],
    ['zhangLambda', 'zhang2021', 'lambda', '(c) ours: λ_min(J(w*, v*))'],
    ['regularLambda', 'constrainedRegular', 'lambda', '(d) regular init + W ball: λ_min(J(w*, v*))'],
  ];
  const svgs: Record<string, string> = {};
  for (const [name, regime, what, title] of figs) {
    const mine = cells.filter((c) => c.regime === regime);
    if (mine.length === 0) continue;
    const svg = await heatmapSvg(
      mine.map((c) => {
        const v = what === 'loss' ? loss(c) : lam(c);
        const label = c.notCovered
          ? c.notCovered.label
          : what === 'loss'
            ? fmt(c.best?.finalLoss, 2)
            : fmt(c.best?.lambdaMin, 2);
        return { width: c.width, radius: c.radius, value: v, label };
      }),
      title,
      what === 'loss' ? 'log10 loss' : 'λ_min',
      what === 'loss' ? lossDomain : lamDomain,
      what === 'loss' ? 'viridis' : 'inferno',
    );
    writeFileAtomic(join(dir, FIGURES[name]), svg);
    svgs[name] = svg;
  }
  const rows = cells
    .map(
      (c) =>
        `<tr><td>${c.regime}</td><td>${c.width}</td><td>${c.radius}</td><td>${fmt(c.best?.finalLoss)}</td>` +
        `<td>${fmt(c.best?.lambdaMin)}</td><td>${c.best ? `${c.best.lr1}, ${c.best.lr2}` : '—'}</td>` +
        `<td>${fmt(c.best?.distanceW)}</td><td>${fmt(c.best?.distanceV)}</td><td>${fmt(c.best?.stationarity)}</td><td>${c.best?.status ?? '—'}</td><td>${c.runs}</td><td>${c.diverged}</td></tr>`,
    )
    .join('\n');
  // Summary: the paper's comparisons, computed from the cells (smallest width; every ε).
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  const radii = [...new Set(cells.map((c) => c.radius))].sort((a, b) => a - b);
  const cell = (regime: RunRecord['regime'], m: number, eps: number) =>
    usableBest(cells.find((c) => c.regime === regime && c.width === m && c.radius === eps));
  const summaryRows: string[] = [];
  for (const m of widths.slice(0, 2)) {
    for (const eps of radii) {
      const z = cell('zhang2021', m, eps);
      const r = cell('constrainedRegular', m, eps);
      if (!z && !r) continue;
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
        `<tr><td>${m}</td><td>${eps}</td><td>${fmt(z?.finalLoss)}</td><td>${fmt(r?.finalLoss)}</td><td>${lower}</td>` +
          `<td>${fmt(z?.lambdaMin)}</td><td>${fmt(r?.lambdaMin)}</td></tr>`,
      );
    }
  }
  const zl = cells
    .filter((c) => c.regime === 'zhang2021' && c.best?.lambdaMin != null)
    .map((c) => c.best!.lambdaMin!);
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
(constrainedRegular; ε = 1000 = regular training). ${zl.length ? `Smallest λ_min(J) at the end points of Alg. 2 over all cells: ${fmt(Math.min(...zl))}.` : ''}</p>
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
ε = 1000 is the unconstrained regime (its column in (b) is the regular training regime). Grey: every step size diverged.</p>
<p>Command: <code>${esc(ctx.command)}</code></p>
<h2>Figures</h2><div class="figs">
${Object.values(svgs)
  .map((s) => `<div>${s}</div>`)
  .join('\n')}
</div>
${summary}
<h2>Settings</h2><table>${settingsRows}</table>
<h2>Best run per cell</h2>
<table><tr><th>regime</th><th>m</th><th>ε</th><th>final loss</th><th>λ_min(J)</th><th>lr1, lr2</th><th>‖W − W0‖_F</th><th>‖v − v0‖</th><th title="‖P_T(−∇ℓ)‖/‖∇ℓ‖: 0 = KKT point, 1 = no constraint blocks the gradient">stationarity</th><th>status</th><th>runs</th><th>diverged</th></tr>
${rows}
</table>
<p class="note">All runs: <code>runs.jsonl</code> (one JSON object per run).</p>
</body></html>
`;
  writeFileAtomic(join(dir, 'report.html'), html);
  return { cells, claims };
}
