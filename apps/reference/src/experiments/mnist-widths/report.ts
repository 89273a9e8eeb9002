import { join } from 'node:path';
import {
  type ClassificationClaim,
  FRACTION_THRESHOLDS,
  armSeries,
  fractionVerdict,
  pct,
  writeReportPage,
} from '../../classification-report.js';
import { accuracySe } from '../../classification.js';
import { fmt } from '../../evidence.js';
import { claimsHtml, esc, statusHtml, writeFileAtomic } from '../../report.js';
import type { ReportInfo } from '../../sweep/experiment.js';
import { type LinePoint, linesSvg } from '../../vega.js';
import type { MnistWidthsSettings } from './settings.js';
import type { MnistRecord } from './train.js';

/** A cell of Fig. 7: an arm, a width and a radius, with its best optimizer's run. */
export interface MnistCell {
  arm: string;
  width: number;
  radius: number | null;
  runs: number;
  /** The run with the highest final test accuracy (App. H.2: "we report the best results"). */
  best: MnistRecord | null;
  /** Why the cell is no evidence (every run diverged or failed), or null. */
  notCovered: string | null;
}

const usable = (r: MnistRecord) =>
  r.status !== 'failed' && r.status !== 'diverged' && r.testAccuracy !== null;

/** Groups the runs into cells and picks each cell's best optimizer by final test accuracy. */
export function mnistCells(records: readonly MnistRecord[]): MnistCell[] {
  const groups = new Map<string, MnistRecord[]>();
  for (const r of records) {
    const key = `${r.arm}/${r.width}/${r.radius}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const ok = rs.filter(usable);
    const best = ok.reduce<MnistRecord | null>(
      (b, r) => (b === null || r.testAccuracy! > b.testAccuracy! ? r : b),
      null,
    );
    const failed = rs.filter((r) => r.status === 'failed').length;
    const diverged = rs.filter((r) => r.status === 'diverged').length;
    return {
      arm: rs[0]!.arm,
      width: rs[0]!.width,
      radius: rs[0]!.radius,
      runs: rs.length,
      best,
      notCovered: best ? null : `no run finished (${diverged} diverged, ${failed} failed of ${rs.length})`,
    };
  });
}

/**
 * App. H.3's statement "with proper choice of ε, our training regime leads to higher test accuracy"
 * (Fig. 7): per width where both arms have a covered cell, whether Alg. 2's best ε has a higher
 * final test accuracy than regular training. Verdict: reproduced when the fraction of such widths is
 * ≥ 0.8, partly when ≥ 0.5, else not reproduced; not covered without a width that has both arms.
 * The measured text gives the binomial standard error of one accuracy on the test set, so that a
 * difference can be read against the noise of a single seed.
 */
export function checkMnistClaims(records: readonly MnistRecord[]): ClassificationClaim[] {
  const cells = mnistCells(records).filter((c) => c.best);
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  let good = 0;
  let total = 0;
  const diffs: string[] = [];
  for (const w of widths) {
    const reg = cells.find((c) => c.width === w && c.arm === 'regular');
    const alg = cells
      .filter((c) => c.width === w && c.arm === 'alg2')
      .reduce<MnistCell | null>(
        (b, c) => (b === null || c.best!.testAccuracy! > b.best!.testAccuracy! ? c : b),
        null,
      );
    if (!reg || !alg) continue;
    total++;
    const d = alg.best!.testAccuracy! - reg.best!.testAccuracy!;
    if (d > 0) good++;
    diffs.push(`m₂ = ${w}: ${fmt(100 * d)} points (ε = ${alg.radius})`);
  }
  const nTest = records[0]?.nTest ?? 0;
  const p = cells.find((c) => c.arm === 'regular')?.best?.testAccuracy ?? 0.9;
  const se = accuracySe(p, nTest);
  return [
    {
      paper:
        'with a proper ε, Alg. 2 reaches a higher test accuracy than regular training (App. H.3, Fig. 7)',
      measured:
        total === 0
          ? 'no width has covered runs of both arms (Alg. 2 and regular)'
          : `${good} of ${total} widths: Alg. 2's best ε above regular training (${diffs.join('; ')}); one accuracy on ${nTest} test samples has a standard error ≈ ${fmt(100 * se)} points`,
      verdict: fractionVerdict(good, total),
    },
  ];
}

/** The Fig. 7 figure file. */
export const MNIST_FIGURE = 'fig7-test-accuracy-vs-width.svg';

/** Writes the figure, report.html; returns the claim lines for the console. */
export async function writeMnistReport(
  dir: string,
  records: readonly MnistRecord[],
  info: ReportInfo<MnistWidthsSettings>,
): Promise<string[]> {
  const claims = checkMnistClaims(records);
  const cells = mnistCells(records).sort((a, b) => a.width - b.width);
  const points: LinePoint[] = cells
    .filter((c) => c.best)
    .map((c) => ({ x: c.width, y: 100 * c.best!.testAccuracy!, series: armSeries(c), group: c.arm }));
  const svg =
    points.length > 0
      ? await linesSvg(points, {
          title: `${info.settings.data}: test accuracy vs width (Fig. 7)`,
          xTitle: 'width m₂ of the 2nd hidden layer',
          yTitle: 'test accuracy (%)',
          seriesTitle: 'training',
          logY: false,
        })
      : '<p>No finished runs yet.</p>';
  writeFileAtomic(join(dir, MNIST_FIGURE), svg);
  const cellRows = cells
    .map(
      (c) =>
        `<tr><td>${esc(armSeries(c))}</td><td>${c.width}</td><td>${c.best?.optimizer ?? '—'}</td><td>${pct(c.best?.testAccuracy)}</td><td>${pct(c.best?.trainAccuracy)}</td><td>${c.best?.testLoss === null || c.best === null ? '—' : fmt(c.best.testLoss)}</td><td>${c.runs}</td><td>${c.notCovered ? `not covered: ${esc(c.notCovered)}` : 'covered'}</td></tr>`,
    )
    .join('\n');
  const runRows = records
    .map(
      (r) =>
        `<tr><td>${esc(r.id)}</td><td>${r.status}</td><td>${r.steps}</td><td>${pct(r.trainAccuracy)}</td><td>${pct(r.testAccuracy)}</td><td>${r.trainLoss === null ? '—' : fmt(r.trainLoss)}</td><td>${r.testLoss === null ? '—' : fmt(r.testLoss)}</td><td>${(r.wallMs / 1000).toFixed(1)}</td></tr>`,
    )
    .join('\n');
  const s = info.settings;
  return writeReportPage(
    dir,
    'Zhang et al. 2021 Fig. 7 (MNIST test accuracy vs width)',
    `<h1>Zhang et al. 2021, App. H.2-H.3, Fig. 7 — test accuracy vs width</h1>
${statusHtml(info, records.length)}
<p class="note">A ${784}-${s.hiddenWidth}-m₂-10 ReLU net (no biases) on ${esc(s.data)} (${s.trainN} training / ${s.testN} test samples, pixels standardised with the training pixels' global mean and std),
softmax cross-entropy, batch ${s.batchSize}, ${s.epochs} epochs with cosine annealing (T_max = ${s.epochs} epochs), Adam (lr ${s.adamLr}, weight decay ${s.adamWeightDecay}) or SGD (lr ${s.sgdLr}, momentum ${s.sgdMomentum}, weight decay ${s.sgdWeightDecay});
Alg. 2: mirrored init, ‖W₂ − W₂⁰‖_F ≤ ε, ${s.vConstraint === 'none' ? 'the output half V free' : `each row of V projected onto B_{ζ,κ} (ζ = ${s.zeta}, κ = ${s.kappa}, ${s.vConstraint})`}; each cell (training arm × width × ε) reports its optimizer with the higher final test accuracy, as App. H.2 reports the better of the two. Accuracies are at the final epoch (no early stopping).</p>
<h2>Figure</h2>
<div>${svg}</div>
<h2>The paper's claims, checked</h2>
<p class="note">Verdict: reproduced when the fraction of widths going the paper's way is ≥ ${FRACTION_THRESHOLDS.reproduced}, partly when ≥ ${FRACTION_THRESHOLDS.partly}, else not reproduced; not covered without a width that has both arms.
One seed per run: differences below about two standard errors are within the noise of the test set. A verdict is what this sweep shows at its settings, not a statement about others.</p>
${claimsHtml(claims, 'Zhang et al. 2021, App. H.3, Fig. 7')}
<h2>Cells</h2>
<table><tr><th>training</th><th>m₂</th><th>best optimizer</th><th>test acc.</th><th>train acc.</th><th>test loss</th><th>runs</th><th>evidence</th></tr>
${cellRows}
</table>
<h2>Runs</h2>
<table><tr><th>run</th><th>status</th><th>steps</th><th>train acc.</th><th>test acc.</th><th>train loss</th><th>test loss</th><th>wall s</th></tr>
${runRows}
</table>
`,
    s,
    claims,
  );
}
