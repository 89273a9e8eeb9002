import { join } from 'node:path';
import type { ClaimCheck } from '../../claims.js';
import { fmt } from '../../evidence.js';
import { claimsHtml, esc, settingsRowsHtml, writeFileAtomic } from '../../report.js';
import type { ReportInfo } from '../../sweep/experiment.js';
import { type IntervalPoint, intervalsSvg } from '../../vega.js';
import { type SongSettings, heInit } from './settings.js';
import type { SongRecord } from './train.js';

/** A verdict of the app's claims tables. */
type Verdict = ClaimCheck['verdict'];

/** One of Fig. 1's statements checked on the sweep. */
export interface SongClaim {
  id: 'zero-train-error' | 'test-error-falls' | 'he-at-boundary';
  paper: string;
  measured: string;
  verdict: Verdict;
}

/** Verdict thresholds (fixed before any run; stated in the report). Errors in %. */
export const SONG_THRESHOLDS = {
  /** A cell "reaches zero training error" when its mean training error is ≤ this. */
  zeroError: 1,
  /** Spearman ρ(ω₂, mean test error) ≤ this: reproduced; ≤ partlyRho: partly. */
  rho: -0.7,
  partlyRho: -0.4,
  /** Good region: mean test error ≤ best × (1 + goodRelative) + goodPoints. */
  goodRelative: 0.1,
  goodPoints: 1,
  /** He's ω₂ within this many grid steps (log scale) of the boundary: reproduced; partlySteps: partly. */
  steps: 1,
  partlySteps: 2,
} as const;

/** Two-sided 97.5% quantiles of Student's t for 1…30 degrees of freedom (then 1.96). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Mean and the 95% confidence interval of the mean (Student's t; a single value has no interval). */
export function meanCi(xs: readonly number[]): { mean: number; lo: number; hi: number; sd: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: mean, hi: mean, sd: 0 };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const h = (T975[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean, lo: mean - h, hi: mean + h, sd };
}

/** Spearman's rank correlation (average ranks for ties). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const rank = (v: readonly number[]) => {
    const idx = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
      for (let t = i; t <= j; t++) r[idx[t]![1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const m = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  const ma = m(ra);
  const mb = m(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/** The finished runs of one ω₂ and their statistics. */
export interface SongCell {
  omega2: number;
  runs: number;
  finished: number;
  train: ReturnType<typeof meanCi> | null;
  test: ReturnType<typeof meanCi> | null;
  lazyRelative: number | null;
  relMoveW: number | null;
  relMoveV: number | null;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** One cell per ω₂ (ascending) from the records that finished (not failed, not diverged). */
export function songCells(records: readonly SongRecord[]): SongCell[] {
  const ws = [...new Set(records.map((r) => r.omega2))].sort((a, b) => a - b);
  return ws.map((omega2) => {
    const all = records.filter((r) => r.omega2 === omega2);
    const ok = all.filter((r) => r.trainError !== null && r.testError !== null);
    return {
      omega2,
      runs: all.length,
      finished: ok.length,
      train: ok.length ? meanCi(ok.map((r) => r.trainError!)) : null,
      test: ok.length ? meanCi(ok.map((r) => r.testError!)) : null,
      lazyRelative: mean(ok.filter((r) => r.lazy?.relative != null).map((r) => r.lazy!.relative!)),
      relMoveW: mean(ok.map((r) => r.relMoveW!)),
      relMoveV: mean(ok.map((r) => r.relMoveV!)),
    };
  });
}

/**
 * Fig. 1's statements: SGD reaches zero training error for every ω₂ (cells with mean training
 * error ≤ 1%: all → reproduced, at least half → partly); test error falls as ω₂/ω₁ grows (Spearman
 * ρ of ω₂ and mean test error ≤ −0.7 → reproduced, ≤ −0.4 → partly); He's ratio sits at the
 * boundary of the good region (good: mean test error ≤ best × 1.1 + 1 point; the region is the
 * run of good cells ending at the largest ω₂; He's ω₂ within 1 grid step (log scale) of its
 * smallest ω₂ → reproduced, within 2 → partly; no bad cell below it → not reproduced).
 */
export function checkSongClaims(records: readonly SongRecord[], heOmega2: number): SongClaim[] {
  const t = SONG_THRESHOLDS;
  const cells = songCells(records).filter((c) => c.finished > 0);
  const out: SongClaim[] = [];
  const none = cells.length === 0;
  const zero = cells.filter((c) => c.train!.mean <= t.zeroError).length;
  out.push({
    id: 'zero-train-error',
    paper: 'SGD reaches zero training error for every ω₂ (Fig. 1, as Theorem 3 suggests)',
    measured: none
      ? 'no finished run'
      : `${zero} of ${cells.length} ω₂ values have mean training error ≤ ${t.zeroError}% (largest mean ${fmt(Math.max(...cells.map((c) => c.train!.mean)))}%)`,
    verdict: none
      ? 'not covered'
      : zero === cells.length
        ? 'reproduced'
        : zero * 2 >= cells.length
          ? 'partly'
          : 'not reproduced',
  });
  const rho =
    cells.length >= 3
      ? spearman(
          cells.map((c) => c.omega2),
          cells.map((c) => c.test!.mean),
        )
      : null;
  out.push({
    id: 'test-error-falls',
    paper: 'Test error falls as ω₂/ω₁ grows (Fig. 1)',
    measured:
      rho === null
        ? 'needs ≥ 3 ω₂ values with finished runs'
        : `Spearman ρ(ω₂, mean test error) = ${fmt(rho)} over ${cells.length} values (reproduced ≤ ${t.rho}, partly ≤ ${t.partlyRho}); mean test error ${fmt(cells[0]!.test!.mean)}% at ω₂ = ${cells[0]!.omega2} → ${fmt(cells.at(-1)!.test!.mean)}% at ${cells.at(-1)!.omega2}`,
    verdict:
      rho === null
        ? 'not covered'
        : rho <= t.rho
          ? 'reproduced'
          : rho <= t.partlyRho
            ? 'partly'
            : 'not reproduced',
  });
  let verdict: Verdict = 'not covered';
  let measured = 'needs ≥ 3 ω₂ values with finished runs';
  if (cells.length >= 3) {
    const best = Math.min(...cells.map((c) => c.test!.mean));
    const bound = best * (1 + t.goodRelative) + t.goodPoints;
    const good = cells.map((c) => c.test!.mean <= bound);
    let b = cells.length;
    while (b > 0 && good[b - 1]) b--;
    const logs = cells.map((c) => Math.log(c.omega2));
    const spacing = (logs.at(-1)! - logs[0]!) / (cells.length - 1);
    if (b === cells.length) {
      verdict = 'not reproduced';
      measured = `the largest ω₂ is not in the good region (mean test error ≤ ${fmt(bound)}%): no good region at the top of the grid`;
    } else if (b === 0) {
      verdict = 'not reproduced';
      measured = `every ω₂ is in the good region (mean test error ≤ ${fmt(bound)}%): no boundary inside the grid`;
    } else {
      const edge = cells[b]!.omega2;
      const dist = Math.abs(Math.log(heOmega2) - Math.log(edge)) / spacing;
      verdict = dist <= t.steps ? 'reproduced' : dist <= t.partlySteps ? 'partly' : 'not reproduced';
      measured = `good region (mean test error ≤ best ${fmt(best)}% × ${1 + t.goodRelative} + ${t.goodPoints} = ${fmt(bound)}%) starts at ω₂ = ${edge}; He's ω₂ = ${fmt(heOmega2)} is ${fmt(dist)} grid steps from it (reproduced ≤ ${t.steps}, partly ≤ ${t.partlySteps})`;
    }
  }
  out.push({
    id: 'he-at-boundary',
    paper:
      "He's initialization (a balanced ratio) lies at the boundary of the well-performing region (Fig. 1)",
    measured,
    verdict,
  });
  return out;
}

const num = (x: number | null | undefined) => (x === null || x === undefined ? '—' : fmt(x));

/** Writes Fig. 1 (train and test error vs ω₂ with 95% CIs, He marked), the lazy-training figure, claims and report.html. */
export async function writeSongReport(
  dir: string,
  records: readonly SongRecord[],
  info: ReportInfo<SongSettings>,
): Promise<string[]> {
  const s = info.settings;
  const he = heInit(784, s.width);
  const claims = checkSongClaims(records, he.omega2);
  const cells = songCells(records);
  const failed = records.filter((r) => r.status === 'failed');
  const points: IntervalPoint[] = cells.flatMap((c) =>
    c.train && c.test
      ? [
          { x: c.omega2, ...c.train, series: 'training error' },
          { x: c.omega2, ...c.test, series: 'test error' },
        ]
      : [],
  );
  const figs: string[] = [];
  const marks = [{ x: he.omega2, label: `He: ω₂ = ${fmt(he.omega2)}` }];
  if (points.length) {
    const svg = await intervalsSvg(points, {
      title: `Training and test error vs ω₂ (ω₁ω₂ = ${he.product.toPrecision(4)}), 95% CI over seeds`,
      xTitle: 'ω₂',
      yTitle: 'error (%)',
      seriesTitle: 'error',
      logX: true,
      marks,
    });
    writeFileAtomic(join(dir, 'fig1-error-vs-omega2.svg'), svg);
    figs.push(`<div>${svg}</div>`);
  }
  const lazyPts: IntervalPoint[] = cells.flatMap((c) => {
    const xs = records
      .filter((r) => r.omega2 === c.omega2 && r.trainError !== null && r.lazy?.relative != null)
      .map((r) => r.lazy!.relative!);
    return xs.length ? [{ x: c.omega2, ...meanCi(xs), series: '‖F − F̃‖ / ‖F − F₀‖' }] : [];
  });
  if (lazyPts.length) {
    const svg = await intervalsSvg(lazyPts, {
      title: 'Lazy-training distance (App. F) relative to the output movement',
      xTitle: 'ω₂',
      yTitle: 'relative distance to the linearized model',
      seriesTitle: 'measure',
      logX: true,
      marks,
    });
    writeFileAtomic(join(dir, 'lazy-vs-omega2.svg'), svg);
    figs.push(`<div>${svg}</div>`);
  }
  const teacher = records.find((r) => r.teacher)?.teacher;
  const teacherFailed = failed.find((r) => /teacher/.test(r.error ?? ''));
  const cellRows = cells
    .map(
      (c) =>
        `<tr><td>${c.omega2}</td><td>${fmt(he.product / c.omega2)}</td><td>${fmt(c.omega2 ** 2 / he.product)}</td><td>${c.finished} / ${c.runs}</td><td>${c.train ? `${fmt(c.train.mean)} [${fmt(c.train.lo)}, ${fmt(c.train.hi)}]` : '—'}</td><td>${c.test ? `${fmt(c.test.mean)} [${fmt(c.test.lo)}, ${fmt(c.test.hi)}]` : '—'}</td><td>${num(c.lazyRelative)}</td><td>${num(c.relMoveW)}</td><td>${num(c.relMoveV)}</td></tr>`,
    )
    .join('\n');
  const runRows = records
    .map((r) => {
      const q = r.quantities;
      return `<tr><td>${esc(r.id)}</td><td>${r.status}${r.error ? `: ${esc(r.error)}` : ''}</td><td>${num(r.trainError)}</td><td>${num(r.testError)}</td><td>${num(r.finalLoss)}</td><td>${r.lazy ? (r.lazy.diverged ? 'its GD diverged' : `${num(r.lazy.finalDistance)} / ${num(r.lazy.outputMovement)} = ${num(r.lazy.relative)}`) : '—'}</td><td>${q ? `${fmt(q.muPhi)}, ${fmt(q.nuPhi)}, ${num(q.betaPhi)}, ${num(q.rhoPhi)}` : '—'}</td><td>${(r.wallMs / 1000).toFixed(1)} s</td></tr>`;
    })
    .join('\n');
  const notes = [...new Set(records.flatMap((r) => r.quantities?.notes ?? []))];
  const settingsRows = settingsRowsHtml(s);
  const t = SONG_THRESHOLDS;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>narrownet — Song et al. 2021 Fig. 1 (the ω₂/ω₁ sweep)</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}.figs{display:flex;flex-wrap:wrap;gap:1em}.note{color:#555}.bad{color:#b42318}</style></head><body>
<h1>Song et al. 2021, Fig. 1 — training and test error vs ω₂</h1>
${teacherFailed ? `<h2 class="bad">The teacher failed: ${esc(teacherFailed.error!)}</h2><p class="bad">No student was trained on its labels; every run is recorded failed.</p>` : ''}
<p>${info.complete ? 'Complete' : '<b>Incomplete</b>'}: ${records.length} of ${info.totalRuns} runs${failed.length ? `, <b class="bad">${failed.length} failed</b>` : ''}. Engine: <code>${esc(info.engine)}</code>.
Wall time: ${info.wallSeconds.toFixed(0)} s. Command: <code>${esc(info.command)}</code>.</p>
<p class="note">Students: [784, ${s.width}, 10], GeLU, no biases (Φ(Θ) = Vφ(WX)), W ~ N(0, ω₁²), V ~ N(0, ω₂²) with ω₁ω₂ fixed at He's value for this architecture,
√(2/784)·√(2/${s.width}) = 2/√(784·${s.width}) = ${he.product.toPrecision(4)} (the paper's ≈ 0.002259 is this formula at width 1000); He's own ω₂ = √(2/${s.width}) = ${fmt(he.omega2)} (ratio ω₂/ω₁ = ${fmt(he.ratio)}) is marked.
Mean squared error against the teacher's one-hot labels, SGD (batch ${s.batchSize}, step ${s.lr}) for ${s.epochs} epochs (${Math.floor(s.n / s.batchSize)} steps each).
Teacher: [784, ${s.teacherWidth}, 10], GeLU, no biases, He init, softmax cross-entropy, SGD (batch ${s.batchSize}, step ${s.teacherLr}) until zero training error (budget ${s.teacherEpochs} epochs)${teacher ? `: reached ${fmt(teacher.trainError)}% training error after ${teacher.epochs} epochs; its labels differ from the true digits on ${fmt(teacher.testDisagreement)}% of the test set` : ''}.
Data: ${esc(records.find((r) => r.data)?.data ?? '—')}.</p>
<h2>Figures</h2><div class="figs">${figs.join('\n')}</div>
<h2>The paper's claims, checked</h2>
<p class="note">Per ω₂, the mean over the finished seeds. Zero training error: mean ≤ ${t.zeroError}% (all ω₂ reproduced, ≥ half partly).
Falling test error: Spearman ρ(ω₂, mean test error) ≤ ${t.rho} reproduced, ≤ ${t.partlyRho} partly.
Good region: the ω₂ values from the top of the grid down whose mean test error is ≤ best × ${1 + t.goodRelative} + ${t.goodPoints} points; He's ω₂ within ${t.steps} (partly ${t.partlySteps}) grid steps on the log scale of its lowest ω₂.
Thresholds fixed before any run.</p>
${claimsHtml(claims, 'Song et al. 2021, Sec. 6, Fig. 1, App. G')}
<h2>Per ω₂</h2>
<table><tr><th>ω₂</th><th>ω₁</th><th>ω₂/ω₁</th><th>finished</th><th>training error % (95% CI)</th><th>test error % (95% CI)</th><th>lazy: ‖F − F̃‖/‖F − F₀‖</th><th>‖W − W₀‖/‖W₀‖</th><th>‖V − V₀‖/‖V₀‖</th></tr>
${cellRows}</table>
<p class="note">Lazy-training distance (App. F): from the same init, ${s.lazySteps} full-batch GD steps on Song's h = ‖F − Y‖² over the first ${s.lazySamples} training digits, of the network and of its linearization at Θ₀ (step ${s.lr}/(samples·10), i.e. GD on their mean squared error with the students' step);
‖F − F̃‖ relative to how far the network's outputs moved: ≈ 0 is lazy (the network behaves as its linearization), larger is not.
μ_Φ, ν_Φ, β_Φ, ρ_Φ (Lemma 3) at init on the first ${s.quantitySamples} training digits.${notes.length ? ` Notes: ${esc(notes.join(' '))}` : ''}</p>
<h2>Runs</h2>
<table><tr><th>run</th><th>status</th><th>train err %</th><th>test err %</th><th>final loss</th><th>lazy ‖F − F̃‖ / ‖F − F₀‖</th><th>μ_Φ, ν_Φ, β_Φ, ρ_Φ</th><th>wall</th></tr>
${runRows}</table>
<h2>Settings</h2><table>${settingsRows}</table>
<p class="note">Data: <a href="runs.jsonl">runs.jsonl</a> (one JSON object per run).</p>
</body></html>
`;
  writeFileAtomic(join(dir, 'report.html'), html);
  const lines = claims.map((c) => `${c.verdict.padEnd(14)} ${c.paper}\n${' '.repeat(15)}${c.measured}`);
  if (teacherFailed) lines.unshift(`TEACHER FAILED: ${teacherFailed.error}`);
  return lines;
}
