import { join } from 'node:path';
import {
  type ClassificationClaim,
  FRACTION_THRESHOLDS,
  armSeries,
  type Verdict,
  fractionVerdict,
  pct,
  writeReportPage,
} from '../../classification-report.js';
import { fmt } from '../../evidence.js';
import { claimsHtml, esc, statusHtml, writeFileAtomic } from '../../report.js';
import type { ReportInfo } from '../../sweep/experiment.js';
import { type IntervalPoint, intervalsSvg } from '../../vega.js';
import type { ResNetWidthsSettings } from './settings.js';
import { type ResNetRecord, rImageNetTrainSide } from './train.js';

/** A cell of Fig. 8: an arm, a final width and a radius, over its seeds. */
export interface ResNetCell {
  arm: string;
  width: number;
  radius: number | null;
  runs: number;
  /** Finished runs' final test accuracies (diverged and failed runs have none). */
  accuracies: number[];
  /** Their mean, and the standard error of the mean over seeds (0 with one seed); null without any. */
  mean: number | null;
  se: number | null;
}

/** Groups the runs into cells with the mean and standard error of the final test accuracy over seeds. */
export function resnetCells(records: readonly ResNetRecord[]): ResNetCell[] {
  const groups = new Map<string, ResNetRecord[]>();
  for (const r of records) {
    const key = `${r.arm}/${r.width}/${r.radius}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const acc = rs
      .filter((r) => r.status !== 'failed' && r.status !== 'diverged' && r.testAccuracy !== null)
      .map((r) => r.testAccuracy!);
    const k = acc.length;
    const mean = k ? acc.reduce((a, b) => a + b, 0) / k : null;
    const sd = k > 1 ? Math.sqrt(acc.reduce((a, b) => a + (b - mean!) ** 2, 0) / (k - 1)) : 0;
    return {
      arm: rs[0]!.arm,
      width: rs[0]!.width,
      radius: rs[0]!.radius,
      runs: rs.length,
      accuracies: acc,
      mean,
      se: k ? sd / Math.sqrt(k) : null,
    };
  });
}

/** Why this sweep cannot speak to a claim about `about`, or undefined when it can. */
function coverage(
  s: ResNetWidthsSettings,
  cells: readonly ResNetCell[],
  about: 'cifar' | 'rimagenet',
): string | undefined {
  if (s.data === 'fashion-mnist')
    return `the claim is about ${about === 'cifar' ? 'CIFAR-10/100' : 'R-ImageNet'}; this sweep ran on ${s.data} (padded to 32×32) with reduced widths, which shows the machinery only`;
  if ((about === 'cifar') !== (s.data !== 'rimagenet'))
    return `the claim is about ${about === 'cifar' ? 'CIFAR-10/100' : 'R-ImageNet'}; this sweep ran on ${s.data}`;
  if (cells.some((c) => c.mean !== null && c.accuracies.length < 2))
    return 'a cell has fewer than 2 finished seeds, so there is no error bar to compare against';
  return undefined;
}

/** Mean difference a − b and its tolerance, 2 combined standard errors over seeds. */
function gap(a: ResNetCell, b: ResNetCell): { d: number; tol: number } {
  return { d: a.mean! - b.mean!, tol: 2 * Math.hypot(a.se!, b.se!) };
}

/**
 * The claims of App. H.4 (Fig. 8) and Sec. 5.2 / App. H.5 (Fig. 5/9), computed from the cells:
 * (1) Alg. 2 with its best ε is on par with or above regular training at each final width (mean ≥
 * regular's mean − 2 combined standard errors over seeds); (2) regular training does not fail when
 * the final block is narrowed (its mean at the narrowest width ≥ its mean at the widest − 2
 * combined standard errors); (3) on R-ImageNet, Alg. 2 (best ε) at the narrowest width keeps the
 * accuracy of regular training at the widest (≥ it − 2 s.e.) while regular training at the
 * narrowest width loses it (< it − 2 s.e.). Verdicts (1): fraction of widths (≥ 0.8 reproduced,
 * ≥ 0.5 partly); (2): reproduced / not reproduced; (3): reproduced when both hold, partly when
 * Alg. 2 keeps it but regular training does not lose it either, not reproduced when Alg. 2 does
 * not keep it. (1)-(2) are "not covered" unless the sweep is on CIFAR, (3) unless it is on
 * R-ImageNet, and all when a cell lacks seeds — the measured text still gives the numbers.
 */
export function checkResNetClaims(
  records: readonly ResNetRecord[],
  s: ResNetWidthsSettings,
): ClassificationClaim[] {
  const cells = resnetCells(records).filter((c) => c.mean !== null);
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  const reg = (w: number) => cells.find((c) => c.arm === 'regular' && c.width === w);
  let good = 0;
  let total = 0;
  const diffs: string[] = [];
  for (const w of widths) {
    const r = reg(w);
    const best = cells
      .filter((c) => c.arm === 'alg2' && c.width === w)
      .reduce<ResNetCell | null>((b, c) => (b === null || c.mean! > b.mean! ? c : b), null);
    if (!r || !best) continue;
    total++;
    const tol = 2 * Math.hypot(r.se!, best.se!);
    const d = best.mean! - r.mean!;
    if (d >= -tol) good++;
    diffs.push(`width ${w}: ${fmt(100 * d)} ± ${fmt(100 * tol)} points (ε = ${best.radius})`);
  }
  const why = coverage(s, cells, 'cifar');
  const gate = (v: Verdict): Verdict => (why ? 'not covered' : v);
  const first = reg(widths[0]!);
  const last = reg(widths.at(-1)!);
  let narrow: { text: string; verdict: Verdict };
  if (!first || !last || widths.length < 2)
    narrow = { text: 'fewer than two widths with regular runs', verdict: 'not covered' };
  else {
    const tol = 2 * Math.hypot(first.se!, last.se!);
    const d = first.mean! - last.mean!;
    narrow = {
      text: `regular training at width ${first.width}: ${pct(first.mean)} vs ${pct(last.mean)} at width ${last.width} (difference ${fmt(100 * d)} ± ${fmt(100 * tol)} points)`,
      verdict: d >= -tol ? 'reproduced' : 'not reproduced',
    };
  }
  const note = why ? ` — not covered at this scale: ${why}` : '';
  const rimagenet = rImageNetClaim(cells, widths, coverage(s, cells, 'rimagenet'));
  return [
    {
      paper:
        'on CIFAR-10/100, Alg. 2 (best ε) is on par with or above regular training at every final-block width (App. H.4, Fig. 8)',
      measured:
        total === 0
          ? `no width has finished runs of both arms${note}`
          : `${good} of ${total} widths within 2 standard errors or above (${diffs.join('; ')})${note}`,
      verdict: gate(fractionVerdict(good, total)),
    },
    {
      paper: 'on CIFAR-10/100, regular training does not fail when the final block is narrowed (App. H.4)',
      measured: `${narrow.text}${note}`,
      verdict: gate(narrow.verdict),
    },
    {
      paper:
        'on R-ImageNet, Alg. 2 keeps the test accuracy of the narrowed (width 64) ResNet-18 where regular training loses it (Sec. 5.2, Fig. 5)',
      ...rimagenet,
    },
  ];
}

/** Claim (3) of {@link checkResNetClaims}: measured text and verdict, gated by `why`. */
function rImageNetClaim(
  cells: readonly ResNetCell[],
  widths: readonly number[],
  why: string | undefined,
): { measured: string; verdict: Verdict } {
  const reg = (w: number) => cells.find((c) => c.arm === 'regular' && c.width === w);
  const narrowW = widths[0];
  const wideW = widths.at(-1);
  const regNarrow = narrowW === undefined ? undefined : reg(narrowW);
  const regWide = wideW === undefined ? undefined : reg(wideW);
  const alg2Narrow = cells
    .filter((c) => c.arm === 'alg2' && c.width === narrowW)
    .reduce<ResNetCell | null>((b, c) => (b === null || c.mean! > b.mean! ? c : b), null);
  if (!regNarrow || !regWide || !alg2Narrow || widths.length < 2)
    return {
      measured: `needs regular runs at two widths and Alg. 2 runs at the narrowest${why ? ` — not covered at this scale: ${why}` : ''}`,
      verdict: 'not covered',
    };
  const keep = gap(alg2Narrow, regWide);
  const lose = gap(regNarrow, regWide);
  const kept = keep.d >= -keep.tol;
  const lost = lose.d < -lose.tol;
  const measured = `at width ${narrowW}: Alg. 2 (ε = ${alg2Narrow.radius}) ${pct(alg2Narrow.mean)}, regular ${pct(regNarrow.mean)}; regular at width ${wideW}: ${pct(regWide.mean)} (Alg. 2 − wide regular ${fmt(100 * keep.d)} ± ${fmt(100 * keep.tol)} points, narrow − wide regular ${fmt(100 * lose.d)} ± ${fmt(100 * lose.tol)} points)`;
  const verdict: Verdict = !kept ? 'not reproduced' : lost ? 'reproduced' : 'partly';
  return why
    ? { measured: `${measured} — not covered at this scale: ${why}`, verdict: 'not covered' }
    : { measured, verdict };
}

/** The Fig. 5/8 figure file. */
export const RESNET_FIGURE = 'fig8-test-accuracy-vs-final-width.svg';

/** Writes the figure and report.html; returns the claim lines for the console. */
export async function writeResNetReport(
  dir: string,
  records: readonly ResNetRecord[],
  info: ReportInfo<ResNetWidthsSettings>,
): Promise<string[]> {
  const s = info.settings;
  const claims = checkResNetClaims(records, s);
  const cells = resnetCells(records).sort((a, b) => a.width - b.width);
  const points: IntervalPoint[] = cells
    .filter((c) => c.mean !== null)
    .map((c) => ({
      x: c.width,
      mean: 100 * c.mean!,
      lo: 100 * (c.mean! - c.se!),
      hi: 100 * (c.mean! + c.se!),
      series: armSeries(c),
    }));
  const svg =
    points.length > 0
      ? await intervalsSvg(points, {
          title: `${s.data}: test accuracy vs final-block width (Zhang Fig. 5/8), mean ± s.e. over seeds`,
          xTitle: 'channels of the final (4th) block',
          yTitle: 'test accuracy (%)',
          seriesTitle: 'training',
          logX: true,
        })
      : '<p>No finished runs yet.</p>';
  writeFileAtomic(join(dir, RESNET_FIGURE), svg);
  const cellRows = cells
    .map(
      (c) =>
        `<tr><td>${esc(armSeries(c))}</td><td>${c.width}</td><td>${pct(c.mean)}</td><td>${c.se === null ? '—' : pct(c.se)}</td><td>${c.accuracies.length} of ${c.runs}</td><td>${c.accuracies.map((a) => pct(a)).join(', ')}</td></tr>`,
    )
    .join('\n');
  const runRows = records
    .map(
      (r) =>
        `<tr><td>${esc(r.id)}</td><td>${r.status}</td><td>${r.steps}</td><td>${pct(r.trainAccuracy)}</td><td>${pct(r.testAccuracy)}</td><td>${r.testLoss === null ? '—' : fmt(r.testLoss)}</td><td>${(r.wallMs / 1000).toFixed(1)}</td></tr>`,
    )
    .join('\n');
  return writeReportPage(
    dir,
    'Zhang et al. 2021 Fig. 5/8 (ResNet-18 test accuracy vs final-block width)',
    `<h1>Zhang et al. 2021, Sec. 5.2 / App. H.4 — ResNet-18 test accuracy vs final-block width</h1>
${statusHtml(info, records.length)}
${s.data === 'fashion-mnist' ? "<p><b>This scale shows the machinery, not the paper's result:</b> Fashion-MNIST padded to 32×32 (one input channel), reduced widths and few epochs. The paper's claims are about CIFAR-10/100 and R-ImageNet (<code>--scale paper</code>, a GPU job).</p>" : ''}
<p class="note">ResNet-18 (${s.data === 'rimagenet' ? 'ImageNet layout: 7×7 stride-2 stem and 3×3 stride-2 max pooling' : 'CIFAR layout: 3×3 stem'}, four stages of two basic blocks, strides 1-2-2-2, global average pooling) with stage widths ${s.trunkWidths.join('-')} and final width on the x axis, on ${esc(s.data)} (${s.trainN} training / ${s.testN} test images${s.data === 'rimagenet' ? ` from ImageNet's train / val folders, held as 8-bit pixels and cropped per batch: test images resized and centre-cropped to ${s.imageSize}×${s.imageSize}${s.augment ? `, training images held at ${rImageNetTrainSide(s)}×${rImageNetTrainSide(s)} and randomly cropped to ${s.imageSize}×${s.imageSize} (a fixed-scale crop at a uniform position, not torchvision's RandomResizedCrop) and flipped` : ', training images centre-cropped likewise'}` : ''}, standardised with the training pixels' global mean and std${s.augment && s.data !== 'rimagenet' ? ', training batches pad-4 random-cropped and flipped' : ''}),
softmax cross-entropy, SGD lr ${s.lr}, momentum ${s.momentum}, weight decay ${s.weightDecay}, batch ${s.batchSize}, ${s.epochs} epochs ${s.schedule === 'cosine' ? `with cosine annealing (T_max = ${s.epochs} epochs)` : `with the step size ×0.1 at epochs ${s.milestones.join(', ')}`}.
Alg. 2: the head cut in half (paired), mirrored LeCun on the final block (output 0 at init), ‖W₄ − W₄⁰‖_F ≤ ε over the final block after every mini-batch, ${s.vConstraint === 'none' ? 'the head free' : `each class row of the head onto B_{ζ,κ} (ζ = ${s.zeta}, κ = ${s.kappa}, ${s.vConstraint})`}.
Regular: LeCun init, linear head, no projection. Accuracies at the final epoch (no early stopping), eval-mode batch norm; error bars: standard error of the mean over seeds ${s.seeds.join(', ')}.</p>
<h2>Figure</h2>
<div>${svg}</div>
<h2>The paper's claims, checked</h2>
<p class="note">Comparisons use 2 combined standard errors over seeds. Claim 1: reproduced when the fraction of widths going the paper's way is ≥ ${FRACTION_THRESHOLDS.reproduced}, partly when ≥ ${FRACTION_THRESHOLDS.partly}. A verdict is what this sweep shows at its settings; nothing was tuned.</p>
${claimsHtml(claims, 'Zhang et al. 2021, Sec. 5.2, App. H.4')}
<h2>Cells</h2>
<table><tr><th>training</th><th>final width</th><th>mean test acc.</th><th>s.e.</th><th>finished</th><th>per seed</th></tr>
${cellRows}
</table>
<h2>Runs</h2>
<table><tr><th>run</th><th>status</th><th>steps</th><th>train acc.</th><th>test acc.</th><th>test loss</th><th>wall s</th></tr>
${runRows}
</table>
`,
    s,
    claims,
  );
}
