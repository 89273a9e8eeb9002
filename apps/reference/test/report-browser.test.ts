import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import * as vega from 'vega';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../src/report.js';
import { type RunRecord, appendRun } from '../src/runs.js';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../../../tooling/chromium.mjs';
import { syntheticRecord } from './records.js';

// Debian's chromium, driven by playwright-core (which never downloads a browser)
const HAVE = hasChromium();
// in CI a missing browser is a failure, not a skip
const SKIP = !HAVE && !process.env.CI;
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

const root = mkdtempSync(join(tmpdir(), 'narrownet-browser-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A record of a 200-step run with step sizes (lr1, 0.1), evaluated every 50 steps. */
function rec(
  regime: RunRecord['regime'],
  width: number,
  radius: number,
  lr1: number,
  o: { loss0: number; finalLoss: number | null; lambdaMin?: number },
): RunRecord {
  return syntheticRecord({ regime, width, radius, lr1, lr2: 0.1 }, o);
}

const L0 = 15;
const RECORDS: RunRecord[] = [
  rec('zhang2021', 4, 0.1, 0.01, { loss0: L0, finalLoss: 12.8, lambdaMin: 1.4e-4 }),
  rec('zhang2021', 4, 0.1, 3, { loss0: L0, finalLoss: null }),
  rec('zhang2021', 4, 1000, 0.01, { loss0: L0, finalLoss: 1e-7, lambdaMin: 0.6 }),
  // blown up: best loss above the initial one, with a huge λ_min that must not reach the scale
  rec('zhang2021', 6, 0.1, 0.01, { loss0: L0, finalLoss: 1.2e11, lambdaMin: 2e9 }),
  rec('zhang2021', 6, 1000, 0.01, { loss0: L0, finalLoss: 0.2, lambdaMin: 0.07 }),
  rec('constrainedRegular', 4, 0.1, 0.01, { loss0: L0, finalLoss: null }),
  rec('constrainedRegular', 4, 0.1, 3, { loss0: L0, finalLoss: null }),
  rec('constrainedRegular', 4, 1000, 0.01, { loss0: L0, finalLoss: 0.7, lambdaMin: 0.024 }),
  rec('constrainedRegular', 6, 0.1, 0.01, { loss0: L0, finalLoss: 13, lambdaMin: 0.03 }),
  rec('constrainedRegular', 6, 1000, 0.01, { loss0: L0, finalLoss: 0.07, lambdaMin: 0.027 }),
];

/** WCAG 2 contrast of two CSS colours `rgb(r, g, b)` / `#rrggbb` (written here, not the app's). */
function rgbOf(c: string): [number, number, number] {
  const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = /^#([0-9a-f]{6})$/i.exec(c)?.[1];
  if (h) return [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
  throw new Error(`not a colour: ${c}`);
}
function wcagContrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = rgbOf(c).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** The little of the DOM the page functions below use (the test compiles without lib "dom"). */
interface El {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): {
    x: number;
    y: number;
    width: number;
    height: number;
    left: number;
    right: number;
    top: number;
    bottom: number;
  };
  closest(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<El> };

/** In the page: every figure, with its title, legend labels, tooltips and heat-map cell labels. */
async function figures(page: Page) {
  return page.evaluate(() => {
    const texts = (root: El, sel: string) =>
      Array.from(root.querySelectorAll(sel), (e) => e.textContent ?? '');
    return Array.from(document.querySelectorAll('svg'), (svg) => {
      const rects = Array.from(svg.querySelectorAll('path[aria-roledescription="rect mark"]'), (r) => ({
        box: r.getBoundingClientRect(),
        fill: r.getAttribute('fill') ?? '',
      }));
      // a cell label's fill beneath it: the last (topmost) rect mark that contains its centre
      const labels = Array.from(svg.querySelectorAll('g.mark-text.role-mark text'))
        .filter((t) => !t.closest('.role-legend') && !t.closest('.role-axis') && !t.closest('.role-title'))
        .map((t) => {
          const b = t.getBoundingClientRect();
          const [x, y] = [b.x + b.width / 2, b.y + b.height / 2];
          const under = rects.filter(
            (r) => x >= r.box.left && x <= r.box.right && y >= r.box.top && y <= r.box.bottom,
          );
          return {
            text: t.textContent ?? '',
            fill: t.getAttribute('fill') ?? '',
            under: under.at(-1)?.fill ?? null,
          };
        });
      return {
        title: texts(svg, '.role-title-text text').join(' '),
        legendTitles: texts(svg, '.role-legend-title text'),
        legendLabels: texts(svg, '.role-legend-label text'),
        pointTooltips: texts(svg, 'path[aria-roledescription="point"] > title'),
        cellTooltips: texts(svg, 'path[aria-roledescription="rect mark"] > title'),
        labels,
      };
    });
  });
}

describe('report.html in headless Chromium', () => {
  let browser: Browser | undefined;
  let page: Page;
  const dir = join(root, 'report');
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (SKIP) return;
    if (!HAVE) throw new Error(`CI is set and chromium is missing at ${CHROMIUM} (.ci/run installs it)`);
    mkdirSync(dir, { recursive: true });
    for (const r of RECORDS) appendRun(join(dir, 'runs.jsonl'), r);
    await writeReport(dir, RECORDS, {
      settings: { n: 24, d: 5 },
      engine: 'onnx cpu (test records)',
      wallSeconds: 1,
      command: 'narrownet run synthetic (synthetic records)',
      complete: true,
      totalRuns: RECORDS.length,
      constantLoss: 20,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // playwright starts it with a fresh temporary --user-data-dir
      args: CHROMIUM_ARGS,
    });
    page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(pathToFileURL(join(dir, 'report.html')).href);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  const t = SKIP ? it.skip : it;
  if (SKIP)
    it.skip(`skipped: no chromium at ${CHROMIUM} (apt-get install chromium; required when CI is set)`);

  t(
    'loss curves have a legend naming every line (regime, ε, step sizes) and a tooltip on every point',
    async () => {
      const figs = await figures(page);
      const m4 = figs.find((f) => f.title.includes('best run, m = 4'))!;
      expect(m4, figs.map((f) => f.title).join(' | ')).toBeDefined();
      expect(m4.legendTitles).toEqual(['cell: regime, ε, lr1 / lr2 (dashed: regular init)']);
      // the cells of m = 4 with a best run (the regular ε = 0.1 cell diverged everywhere: no curve)
      expect(m4.legendLabels).toEqual([
        'Alg. 2, ε = 0.1, lr 0.01 / 0.1',
        'Alg. 2, ε = 1000, lr 0.01 / 0.1',
        'regular init, ε = 1000, lr 0.01 / 0.1',
      ]);
      expect(m4.pointTooltips).toHaveLength(3 * 5);
      const m6 = figs.find((f) => f.title.includes('best run, m = 6'))!;
      expect(m4.pointTooltips).toContain('Alg. 2, ε = 0.1, lr 0.01 / 0.1; step: 0; ½Σ(y − f)²: 15');
      // the last point of the blown-up cell, at full precision
      expect(m6.pointTooltips).toContain(
        'Alg. 2, ε = 0.1, lr 0.01 / 0.1 (not covered); step: 200; ½Σ(y − f)²: 120000000000',
      );
      expect(m6.legendLabels).toContain('Alg. 2, ε = 0.1, lr 0.01 / 0.1 (not covered)');
      expect(pageErrors).toEqual([]);
    },
  );

  t('heat-map cells are labelled, legible on their fill, grey where not covered', async () => {
    const figs = await figures(page);
    const heat = (prefix: string) => figs.find((f) => f.title.startsWith(prefix))!;
    const a = heat('(a)');
    const b = heat('(b)');
    const c = heat('(c)');
    const d = heat('(d)');
    for (const f of [a, b, c, d]) {
      expect(f.labels).toHaveLength(4);
      expect(f.cellTooltips.length).toBeGreaterThanOrEqual(4);
      for (const l of f.labels) {
        expect(l.under, `${f.title}: no cell under "${l.text}"`).not.toBeNull();
        // WCAG AA for normal text
        expect(
          wcagContrast(l.fill, l.under!),
          `${f.title}: "${l.text}" ${l.fill} on ${l.under}`,
        ).toBeGreaterThanOrEqual(4.5);
      }
    }
    expect(a.labels.map((l) => l.text).sort()).toEqual(['0.20', '1.0e-7', '13', 'no descent'].sort());
    expect(c.labels.map((l) => l.text)).toContain('no descent');
    for (const f of [b, d]) expect(f.labels.filter((l) => l.text === 'diverged')).toHaveLength(1);
    for (const f of [a, b, c, d])
      for (const l of f.labels)
        if (l.text === 'diverged' || l.text === 'no descent')
          expect(rgbOf(l.under!)).toEqual(rgbOf('#d4d4d4'));
    // the tooltip says why a cell is not covered
    expect(b.cellTooltips).toContain(
      'width m: 4; hidden-weight constraint ε: 0.1; ½Σ(y − f)²: diverged; best lr1, lr2: —; runs (diverged): 2 (2); evidence: not covered: every run diverged (2 of 2)',
    );
    expect(c.cellTooltips).toContain(
      'width m: 4; hidden-weight constraint ε: 0.1; λ_min(J): 0.00014; best lr1, lr2: 0.01, 0.1; runs (diverged): 2 (1); evidence: covered',
    );
  });

  t(
    'λ_min: log colour scale over the covered cells only (the blown-up 2e9 does not stretch it)',
    async () => {
      const figs = await figures(page);
      const c = figs.find((f) => f.title.startsWith('(c)'))!;
      const legend = c.legendLabels.map(Number);
      expect(legend.every((v) => Number.isFinite(v))).toBe(true);
      // covered λ_min span 1.4e-4 .. 0.6
      expect(Math.max(...legend)).toBeLessThanOrEqual(0.6);
      expect(Math.min(...legend)).toBeGreaterThanOrEqual(1.4e-4);
      // the fill of λ = 0.07 sits where a log scale puts it (a linear one would put it at 0.12)
      const t07 = Math.log(0.07 / 1.4e-4) / Math.log(0.6 / 1.4e-4);
      const want = rgbOf((vega.scheme('inferno') as (t: number) => string)(t07));
      const cell = c.labels.find((l) => l.text === '0.070')!;
      expect(cell, c.labels.map((l) => l.text).join(', ')).toBeDefined();
      for (const [i, v] of rgbOf(cell.under!).entries())
        expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(2);
    },
  );

  t('report.html links runs.jsonl and cells.csv, and both resolve', async () => {
    const links = await page.$$eval('a[href]', (as) =>
      as.map((a) => ({ text: a.textContent ?? '', href: (a as unknown as { href: string }).href })),
    );
    const runs = links.find((l) => l.text === 'runs.jsonl')!;
    const csv = links.find((l) => l.text === 'cells.csv')!;
    expect(runs && csv, JSON.stringify(links)).toBeTruthy();
    const runsText = readFileSync(fileURLToPath(runs.href), 'utf8');
    expect(
      runsText
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as RunRecord).id),
    ).toEqual(RECORDS.map((r) => r.id));
    const rows = readFileSync(fileURLToPath(csv.href), 'utf8').trim().split('\n');
    expect(rows[0]!.split(',').slice(0, 5)).toEqual([
      'regime',
      'width',
      'radius',
      'covered',
      'not_covered_reason',
    ]);
    expect(rows).toHaveLength(1 + 8);
    const blown = rows.find((r) => r.startsWith('zhang2021,6,0.1,'))!;
    expect(blown).toContain(',no,best final loss 1.20e+11 is not below the initial loss 15.0,');
    // λ_min of a cell that is not covered is left out of the CSV too (column lambda_min)
    const lamCol = rows[0]!.split(',').indexOf('lambda_min');
    expect(blown.split(',')[lamCol]).toBe('');
    const covered = rows.find((r) => r.startsWith('zhang2021,6,1000,'))!;
    expect(Number(covered.split(',')[lamCol])).toBe(0.07);
    expect(existsSync(join(ARTIFACTS, 'report.png'))).toBe(true);
  });
});
