import { join } from 'node:path';
import { fmt, judgeCell } from '../../evidence.js';
import { claimsHtml, esc, statusHtml, writeFileAtomic } from '../../report.js';
import type { ReportInfo } from '../../sweep/experiment.js';
import { type HeatCell, colourScale, heatmapSvg } from '../../vega.js';
import type { KawaguchiDataset, KawaguchiSweepSettings } from './settings.js';
import type { KawaguchiRecord } from './train.js';

/** Verdict thresholds on the fraction of comparisons that go the paper's way (stated in the report). */
export const VERDICT_THRESHOLDS = { reproduced: 0.8, partly: 0.5 } as const;
/** A trained cell counts as "√L close to √J" when (√L − √J)/√L is at most this. */
export const CLOSE_GAP = 0.01;

/** One of Fig. 1's statements checked on a sweep. */
export interface KawaguchiClaim {
  id: 'depth' | 'width' | 'l-approaches-j';
  dataset: KawaguchiDataset;
  paper: string;
  measured: string;
  verdict: 'reproduced' | 'partly' | 'not reproduced' | 'not covered';
}

/**
 * Why a cell is no evidence, or null when it is: evidence.ts's rule (training diverged, or its
 * trained loss is not below the initial loss), and a J at init or at the trained weights that did
 * not converge (its value is unknown).
 */
export function notCovered(r: KawaguchiRecord): string | null {
  const l0 = r.sqrtLInit;
  const judged = judgeCell([
    {
      status: r.status,
      finalLoss: r.sqrtLTrained === null ? null : r.sqrtLTrained ** 2,
      curve: l0 === null ? [] : [[0, l0 ** 2] as const],
    },
  ]);
  if (r.status === 'failed') return `training failed: ${r.error ?? 'error'}`;
  if (judged.notCovered) return judged.notCovered.reason;
  if (!r.jInit?.converged || r.sqrtJInit === null) return `J at init: ${r.jInit?.status ?? 'not computed'}`;
  if (!r.jTrained?.converged || r.sqrtJTrained === null)
    return `trained J: ${r.jTrained?.status ?? 'not computed'}`;
  return null;
}

const verdictOf = (good: number, total: number): KawaguchiClaim['verdict'] =>
  total === 0
    ? 'not covered'
    : good / total >= VERDICT_THRESHOLDS.reproduced
      ? 'reproduced'
      : good / total >= VERDICT_THRESHOLDS.partly
        ? 'partly'
        : 'not reproduced';

/**
 * Fig. 1's statements, per data set, from the covered cells: "√J falls as depth grows" and "… as
 * width grows" (the fraction of adjacent pairs along that axis, at init and trained together,
 * whose larger net has the smaller √J — or both √J = 0, which cannot fall further), and "trained
 * √L approaches √J" (the fraction of cells whose relative gap (√L − √J)/√L is smaller after
 * training than at init, or at most {@link CLOSE_GAP}). Verdict: reproduced at ≥ 0.8, partly at
 * ≥ 0.5, else not reproduced; not covered without a comparable pair.
 */
export function checkKawaguchiClaims(records: readonly KawaguchiRecord[]): KawaguchiClaim[] {
  const out: KawaguchiClaim[] = [];
  const datasets = [...new Set(records.map((r) => r.dataset))];
  for (const dataset of datasets) {
    const mine = records.filter((r) => r.dataset === dataset);
    const covered = mine.filter((r) => notCovered(r) === null);
    const uncovered = mine.length - covered.length;
    const note = uncovered ? `; ${uncovered} of ${mine.length} cells not covered` : '';
    const at = (depth: number, width: number) => covered.find((r) => r.depth === depth && r.width === width);
    const depths = [...new Set(mine.map((r) => r.depth))].sort((a, b) => a - b);
    const widths = [...new Set(mine.map((r) => r.width))].sort((a, b) => a - b);
    for (const axis of ['depth', 'width'] as const) {
      let good = 0;
      let total = 0;
      const along = axis === 'depth' ? depths : widths;
      const across = axis === 'depth' ? widths : depths;
      for (const other of across)
        for (let i = 0; i + 1 < along.length; i++) {
          const cell = (v: number) => (axis === 'depth' ? at(v, other) : at(other, v));
          const a = cell(along[i]!);
          const b = cell(along[i + 1]!);
          if (!a || !b) continue;
          for (const f of ['sqrtJInit', 'sqrtJTrained'] as const) {
            const va = a[f]!;
            const vb = b[f]!;
            total++;
            if (vb < va || (va === 0 && vb === 0)) good++;
          }
        }
      out.push({
        id: axis,
        dataset,
        paper: `√J falls as ${axis} grows (Fig. 1, ${dataset})`,
        measured: `${good} of ${total} adjacent pairs along ${axis} (at init and trained) have the smaller √J at the larger ${axis}${total ? ` (${fmt(good / total)})` : ''}${note}`,
        verdict: verdictOf(good, total),
      });
    }
    let good = 0;
    for (const r of covered) {
      const gap0 = r.sqrtLInit! > 0 ? (r.sqrtLInit! - r.sqrtJInit!) / r.sqrtLInit! : 0;
      const gap1 = r.sqrtLTrained! > 0 ? (r.sqrtLTrained! - r.sqrtJTrained!) / r.sqrtLTrained! : 0;
      if (gap1 < gap0 || gap1 <= CLOSE_GAP) good++;
    }
    out.push({
      id: 'l-approaches-j',
      dataset,
      paper: `trained √L approaches √J (Theorem 1: L = J at local minima; Fig. 1, ${dataset})`,
      measured: `${good} of ${covered.length} covered cells have a smaller relative gap (√L − √J)/√L after training than at init, or one ≤ ${CLOSE_GAP}${note}`,
      verdict: verdictOf(good, covered.length),
    });
  }
  return out;
}

/** Figure file of a data set's panel. */
export const figureName = (dataset: KawaguchiDataset, panel: 'init' | 'trained') =>
  `fig1-${dataset}-sqrtJ-${panel}.svg`;

const num = (x: number | null | undefined) => (x === null || x === undefined ? '—' : fmt(x));

/** Writes the heat maps (init left, trained right, per data set), report.html; returns claim lines. */
export async function writeKawaguchiReport(
  dir: string,
  records: readonly KawaguchiRecord[],
  info: ReportInfo<KawaguchiSweepSettings>,
): Promise<string[]> {
  const claims = checkKawaguchiClaims(records);
  const figs: string[] = [];
  for (const dataset of info.settings.datasets) {
    const mine = records.filter((r) => r.dataset === dataset);
    if (mine.length === 0) continue;
    const value = (r: KawaguchiRecord, panel: 'init' | 'trained') =>
      notCovered(r) === null ? (panel === 'init' ? r.sqrtJInit : r.sqrtJTrained) : null;
    // one scale for both panels so that init and trained compare
    const scale = colourScale(
      mine.flatMap((r) => [value(r, 'init'), value(r, 'trained')]).filter((v): v is number => v !== null),
      'viridis',
    );
    const panels: string[] = [];
    for (const panel of ['init', 'trained'] as const) {
      const cells: HeatCell[] = mine.map((r) => {
        const v = value(r, panel);
        const why = notCovered(r);
        return {
          x: String(r.width),
          y: String(r.depth),
          value: v,
          // √J beside √L in the cell: how far the point is from Theorem 1's L = J
          label: why
            ? r.status === 'diverged'
              ? 'diverged'
              : 'not covered'
            : `${fmt(v!)} / ${num(panel === 'init' ? r.sqrtLInit : r.sqrtLTrained)}`,
          details: {
            '√L': num(panel === 'init' ? r.sqrtLInit : r.sqrtLTrained),
            'J method': (panel === 'init' ? r.jInit : r.jTrained)?.status ?? '—',
            evidence: why ? `not covered: ${why}` : 'covered',
          },
        };
      });
      const svg = await heatmapSvg(cells, {
        title: `${dataset}: √J ${panel === 'init' ? 'at initialisation' : 'after training'} (cells: √J / √L)`,
        xTitle: 'width',
        yTitle: 'depth H',
        xOrder: [...new Set(mine.map((r) => r.width))].sort((a, b) => a - b).map(String),
        yOrder: [...new Set(mine.map((r) => r.depth))].sort((a, b) => b - a).map(String),
        colourTitle: '√J',
        scale,
      });
      writeFileAtomic(join(dir, figureName(dataset, panel)), svg);
      panels.push(`<div>${svg}</div>`);
    }
    figs.push(`<h3>${esc(dataset)}</h3><div class="figs">${panels.join('\n')}</div>`);
  }
  const rows = records
    .map((r) => {
      const why = notCovered(r);
      return `<tr><td>${r.dataset}</td><td>${r.depth}</td><td>${r.width}</td><td>${r.params}</td><td>${num(r.sqrtJInit)}</td><td>${num(r.sqrtLInit)}</td><td>${num(r.sqrtJTrained)}</td><td>${num(r.sqrtLTrained)}</td><td>${esc(r.jInit?.method ?? '—')} / ${esc(r.jTrained?.method ?? '—')}</td><td>${esc(r.jInit?.status ?? '—')} / ${esc(r.jTrained?.status ?? '—')}</td><td>${r.status}</td><td>${why ? `not covered: ${esc(why)}` : 'covered'}</td></tr>`;
    })
    .join('\n');
  const settingsRows = Object.entries(info.settings)
    .map(
      ([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(Array.isArray(v) ? v.join(', ') : String(v))}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>narrownet — Kawaguchi, Huang &amp; Kaelbling 2019 Fig. 1 (depth × width)</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}.figs{display:flex;flex-wrap:wrap;gap:1em}
.note{color:#555}</style></head><body>
<h1>Kawaguchi, Huang &amp; Kaelbling 2019, Fig. 1 — √J(θ) over depth × width</h1>
${statusHtml(info, records.length, 'cells')}
<p class="note">Each cell is a bias-free ReLU MLP (LeCun-normal init) of that depth H and width, trained with SGD with momentum for ${info.settings.epochs} epochs.
√J(θ) = √(½‖(I − P)vec(Y)‖²) (Theorem 1) at the initial weights (left) and after training (right); each cell reads √J / √L with √L = √(½‖Ŷ − Y‖²) (Theorem 1: L = J at a local minimum), the colour is √J.
Grey: not covered — training diverged, its loss did not fall below the initial loss, or J did not converge; such a cell is no evidence for or against a claim.</p>
<h2>Figures</h2>
${figs.join('\n')}
<h2>The paper's claims, checked</h2>
<p class="note">A claim about an axis counts the adjacent pairs of covered cells along it (at init and trained) whose larger net has the smaller √J (both 0 counts: J ≥ 0 cannot fall);
"√L approaches √J" counts covered cells whose relative gap (√L − √J)/√L is smaller after training than at init, or ≤ ${CLOSE_GAP}.
Verdict: reproduced when the fraction is ≥ ${VERDICT_THRESHOLDS.reproduced}, partly when ≥ ${VERDICT_THRESHOLDS.partly}, else not reproduced; not covered without a comparison.
A verdict is what this sweep shows at its settings (n, epochs), not a statement about others.</p>
${claimsHtml(claims, 'Kawaguchi et al. 2019, Sec. 4.3, Fig. 1')}
<h2>Cells</h2>
<table><tr><th>data set</th><th>H</th><th>width</th><th>params</th><th>√J init</th><th>√L init</th><th>√J trained</th><th>√L trained</th><th>J method (init / trained)</th><th>J status (init / trained)</th><th>training</th><th>evidence</th></tr>
${rows}
</table>
<h2>Settings</h2><table>${settingsRows}</table>
<p class="note">Data: <a href="runs.jsonl">runs.jsonl</a> (one JSON object per cell).</p>
</body></html>
`;
  writeFileAtomic(join(dir, 'report.html'), html);
  return claims.map((c) => `${c.verdict.padEnd(14)} ${c.paper}\n${' '.repeat(15)}${c.measured}`);
}
