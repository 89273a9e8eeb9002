import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initParams } from '@narrownet/init';
import { createRng } from '@narrownet/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSongClaims, meanCi, spearman } from '../src/experiments/song-ratio/report.js';
import { PAPER_OMEGA2S, SONG_SCALES, heInit } from '../src/experiments/song-ratio/settings.js';
import { type SongRecord, omegasOf, studentSpec } from '../src/experiments/song-ratio/train.js';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-song-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('narrownet run song-ratio --scale smoke (end to end)', () => {
  const dir = join(root, 'smoke');
  const c = io();
  let code = -1;
  beforeAll(async () => {
    code = await main(['run', 'song-ratio', '--scale', 'smoke', '--out', dir], c);
  }, 300_000);

  it('trains every (ω₂, seed) student at He’s ω₁ω₂ on the teacher’s labels', () => {
    expect(code, c.err()).toBe(0);
    const s = SONG_SCALES.smoke;
    const rs = records<SongRecord>(dir);
    expect(s.diagnosticSeeds).toBe(s.seeds);
    expect(rs.map((r) => r.id).sort()).toEqual(
      s.omega2s.flatMap((w) => Array.from({ length: s.seeds }, (_, i) => `w2=${w}/s${i}`)).sort(),
    );
    const he = 2 / Math.sqrt(784 * s.width);
    for (const r of rs) {
      expect(r.omega1 * r.omega2).toBeCloseTo(he, 14);
      expect(r.ratio).toBeCloseTo(r.omega2 / r.omega1, 12);
      expect(r.teacher!.trainError).toBe(0);
      expect(['budget', 'diverged']).toContain(r.status);
      if (r.status === 'budget') {
        expect(r.trainError).toBeGreaterThanOrEqual(0);
        expect(r.testError).toBeLessThanOrEqual(100);
        expect(r.curve.length).toBe(s.epochs + 1);
      } else {
        expect(r.trainError).toBeNull();
        expect(r.testError).toBeNull();
      }
      expect(r.lazy!.steps).toBe(s.lazySteps);
      expect(r.quantities!.muPhi).toBeGreaterThan(0); // quantitySamples ≤ width: μ_Φ applies
      expect(r.quantities!.betaPhi).toBeGreaterThan(0);
    }
  });

  it('writes Fig. 1 with He marked, the lazy-training figure and the verdicts', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(existsSync(join(dir, 'fig1-error-vs-omega2.svg'))).toBe(true);
    expect(readFileSync(join(dir, 'fig1-error-vs-omega2.svg'), 'utf8')).toContain('He: ω₂');
    expect(existsSync(join(dir, 'lazy-vs-omega2.svg'))).toBe(true);
    expect(html).toContain("He's initialization");
    expect(html).toContain(`2/√(784·${SONG_SCALES.smoke.width})`);
    expect(html).toMatch(/<b>(reproduced|partly|not reproduced|not covered)<\/b>/);
    expect(c.err()).toMatch(/Test error falls as ω₂\/ω₁ grows/);
  });
});

describe('song-ratio: the init, the teacher, bad settings', () => {
  it('draws W with std ω₁ and V with std ω₂ (He product at width 1000 is the paper’s 0.002259)', () => {
    expect(heInit(784, 1000).product).toBeCloseTo(0.002259, 6);
    const s = { ...SONG_SCALES.default, width: 400 };
    for (const w2 of [0.002, 0.05]) {
      const o = omegasOf(s, w2);
      const p = initParams(studentSpec(s), o.init, createRng(1));
      const std = (a: Float32Array) => Math.sqrt(a.reduce((t, x) => t + x * x, 0) / a.length);
      expect(std(p.W1!.data) / o.omega1).toBeCloseTo(1, 1);
      expect(std(p.W2!.data) / w2).toBeCloseTo(1, 1);
      expect(o.omega1 * w2).toBeCloseTo(2 / Math.sqrt(784 * 400), 14);
    }
    expect(PAPER_OMEGA2S[0]).toBe(0.002);
    expect(PAPER_OMEGA2S.at(-1)).toBe(0.1);
    expect(PAPER_OMEGA2S.length).toBe(10);
  });

  it('a teacher short of zero training error fails every run loudly, and no student uses its labels', async () => {
    const c = io();
    const dir = join(root, 'teacher');
    const code = await main(
      [
        'run',
        'song-ratio',
        '--scale',
        'smoke',
        '--teacher-epochs',
        '1',
        '--teacher-lr',
        '1e-9',
        '--retries',
        '0',
        '--out',
        dir,
      ],
      c,
    );
    expect(code).toBe(0);
    const rs = records<SongRecord>(dir);
    expect(rs.length).toBe(SONG_SCALES.smoke.omega2s.length * SONG_SCALES.smoke.seeds);
    for (const r of rs) {
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/teacher did not reach zero training error within teacherEpochs = 1/);
      expect(r.trainError).toBeNull();
    }
    expect(c.err()).toMatch(/TEACHER FAILED/);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('The teacher failed');
  }, 120_000);

  it('exits 2 naming the flag for ω₂ ≤ 0 and other bad values, writing nothing', async () => {
    for (const [flag, value] of [
      ['--omega2s', '0.01,0'],
      ['--omega2s', '-0.1'],
      ['--seeds', '0'],
      ['--lr', '0'],
      ['--batch-size', '100000'],
      ['--n', '9000'],
    ] as const) {
      const c = io();
      const out = join(root, `bad-${flag.slice(2)}-${value}`);
      expect(await main(['run', 'song-ratio', '--scale', 'smoke', flag, value, '--out', out], c)).toBe(2);
      expect(c.err()).toContain(flag);
      expect(existsSync(join(out, 'runs.jsonl'))).toBe(false);
    }
  });
});

describe('statistics and verdicts of song-ratio', () => {
  it('meanCi is the Student-t 95% interval; spearman is the rank correlation', () => {
    const r = meanCi([1, 2, 3, 4, 5]);
    expect(r.mean).toBe(3);
    // sd = √2.5, t(0.975, 4) = 2.776
    expect(r.hi - r.mean).toBeCloseTo((2.776 * Math.sqrt(2.5)) / Math.sqrt(5), 10);
    expect(meanCi([7])).toEqual({ mean: 7, lo: 7, hi: 7, sd: 0 });
    expect(spearman([1, 2, 3, 4], [10, 9, 3, 1])).toBeCloseTo(-1, 12);
    // ties: ranks of b are [0, 1.5, 1.5, 3]; Pearson of the ranks by hand = 0.9486832980505138
    expect(spearman([1, 2, 3, 4], [1, 5, 5, 9])).toBeCloseTo(0.9486832980505138, 12);
  });

  const rec = (omega2: number, seed: number, trainError: number, testError: number): SongRecord => ({
    id: `w2=${omega2}/s${seed}`,
    omega2,
    seed,
    omega1: 1,
    ratio: 1,
    product: 1,
    trainError,
    testError,
    finalLoss: 0,
    curve: [],
    relMoveW: 0,
    relMoveV: 0,
    lazy: null,
    quantities: null,
    teacher: null,
    n: 1,
    testN: 1,
    epochs: 1,
    data: '',
    status: 'budget',
    wallMs: 0,
    engine: { engine: 'x', backend: 'x', device: 'x' },
    finishedAt: '',
  });
  const grid = PAPER_OMEGA2S;
  // test error falls until grid index 6, then a plateau at 2%
  const shape = [20, 15, 11, 8, 6, 4, 2, 2.1, 2, 2.2];
  const recs = grid.flatMap((w, i) => [rec(w, 0, 0, shape[i]!), rec(w, 1, 0.5, shape[i]! + 0.2)]);
  const verdicts = (rs: SongRecord[], he: number) =>
    Object.fromEntries(checkSongClaims(rs, he).map((c) => [c.id, c.verdict]));

  it("the paper's picture: reproduced with He at the edge of the plateau", () => {
    // good: ≤ 2.1·1.1 + 1 = 3.31 → indices 6…9; edge = grid[6]
    expect(verdicts(recs, grid[6]!)).toEqual({
      'zero-train-error': 'reproduced',
      'test-error-falls': 'reproduced',
      'he-at-boundary': 'reproduced',
    });
    expect(verdicts(recs, Math.sqrt(grid[4]! * grid[5]!))['he-at-boundary']).toBe('partly');
    expect(verdicts(recs, grid[1]!)['he-at-boundary']).toBe('not reproduced');
  });

  it('no boundary inside the grid, rising test error, training error left: not reproduced', () => {
    const flat = grid.flatMap((w) => [rec(w, 0, 5, 2), rec(w, 1, 5, 2)]);
    const v = verdicts(flat, grid[5]!);
    expect(v['zero-train-error']).toBe('not reproduced');
    expect(v['he-at-boundary']).toBe('not reproduced');
    const rising = grid.flatMap((w, i) => [rec(w, 0, 0, i), rec(w, 1, 0, i)]);
    expect(verdicts(rising, grid[5]!)['test-error-falls']).toBe('not reproduced');
    expect(verdicts([], 0.05)['test-error-falls']).toBe('not covered');
  });
});
