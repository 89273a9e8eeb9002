import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError, flagOf, parseOptions } from '../src/options.js';
import { ProgressBar, formatDuration } from '../src/progress.js';
import { zhangSynthetic } from '@narrownet/datasets';
import { initParams } from '@narrownet/init';
import { createRng, lossAndGrad64 } from '@narrownet/models';
import { checkClaims } from '../src/claims.js';
import { bestPerCell } from '../src/report.js';
import { type RunRecord, appendRun, readRuns, runId } from '../src/runs.js';
import { SCALES, sweepRuns } from '../src/experiments/synthetic/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'narrownet-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rec(
  regime: RunRecord['regime'],
  width: number,
  radius: number,
  lr1: number,
  finalLoss: number | null,
  lambdaMin: number | null = null,
): RunRecord {
  const k = { regime, width, radius, lr1, lr2: 0.1 };
  return {
    id: runId(k),
    ...k,
    config: {
      momentum: 0.9,
      vConstraint: 'none',
      stepBudget: 1,
      lossTolerance: 0,
      n: 1,
      d: 1,
      seed: 0,
      loss: 'halfSse',
    },
    status: finalLoss === null ? 'diverged' : 'budget',
    steps: 1,
    finalLoss,
    distanceW: null,
    kktResidual: null,
    lambdaMin,
    wallMs: 1,
    engine: { engine: 'onnx', backend: 'cpu', device: 'cpu' },
    finishedAt: '',
  };
}

describe('runs.jsonl', () => {
  it('appends lines, drops a torn last line (and cuts it off the file), rejects a corrupt middle line', () => {
    const p = join(dir, 'runs.jsonl');
    appendRun(p, rec('zhang2021', 4, 1, 0.1, 2));
    appendRun(p, rec('zhang2021', 4, 1, 0.2, 3));
    writeFileSync(p, `${readFileSync(p, 'utf8')}{"id":"half`);
    const rs = readRuns(p);
    expect(rs.map((r) => r.lr1)).toEqual([0.1, 0.2]);
    expect(readFileSync(p, 'utf8').endsWith('}\n')).toBe(true);
    appendRun(p, rec('zhang2021', 4, 1, 0.3, 1));
    expect(readRuns(p)).toHaveLength(3);
    writeFileSync(p, `not json\n${readFileSync(p, 'utf8')}`);
    expect(() => readRuns(p)).toThrow(/runs.jsonl:1/);
    expect(readRuns(join(dir, 'none.jsonl'))).toEqual([]);
  });

  it('best per cell ignores diverged runs', () => {
    const cells = bestPerCell([
      rec('zhang2021', 4, 1, 0.1, 5),
      rec('zhang2021', 4, 1, 0.2, 2),
      rec('zhang2021', 4, 1, 0.3, null),
      rec('constrainedRegular', 4, 1, 0.1, null),
    ]);
    const z = cells.find((c) => c.regime === 'zhang2021')!;
    expect(z.best!.lr1).toBe(0.2);
    expect(z.runs).toBe(3);
    expect(z.diverged).toBe(1);
    expect(cells.find((c) => c.regime === 'constrainedRegular')!.best).toBeNull();
  });
});

describe('claims of Zhang et al. Sec. 5.1', () => {
  // constant-predictor loss 1000: low cost = loss ≤ 10
  const verdicts = (records: RunRecord[]) =>
    Object.fromEntries(
      checkClaims(bestPerCell(records), { constantLoss: 1000 }).map((c) => [c.id, c.verdict]),
    );

  it("the paper's picture: regular fails narrow, the ablation fails at small ε, Alg. 2 fits everywhere", () => {
    const v = verdicts([
      rec('zhang2021', 20, 0.1, 0.1, 2, 0.05),
      rec('zhang2021', 20, 1000, 0.1, 1e-8, 0.6),
      rec('zhang2021', 40, 0.1, 0.1, 0.5, 0.1),
      rec('constrainedRegular', 20, 0.1, 0.1, 900, 0.004),
      rec('constrainedRegular', 20, 1000, 0.1, 300, 0.001),
      rec('constrainedRegular', 20, 1000, 0.2, null),
    ]);
    expect(v).toEqual({
      'regular-fails-narrow': 'reproduced',
      'ours-beats-regular-narrow': 'reproduced',
      'ball-ablation-fails': 'reproduced',
      'ours-every-eps': 'reproduced',
      'lambda-away': 'reproduced',
    });
  });

  it('what session 1 measured: regular fits at m = 20, Alg. 2 plateaus at ε ≤ 1', () => {
    const v = verdicts([
      rec('zhang2021', 20, 0.1, 0.1, 1180, 0.055),
      rec('zhang2021', 20, 1000, 0.1, 2.9e-10, 0.72),
      rec('constrainedRegular', 20, 0.1, 0.1, 1440, 0.007),
      rec('constrainedRegular', 20, 1000, 0.1, 2.3e-10, 0.61),
    ]);
    expect(v).toEqual({
      'regular-fails-narrow': 'not reproduced',
      // both ≤ 1e-6: exact fits, no winner
      'ours-beats-regular-narrow': 'not reproduced',
      'ball-ablation-fails': 'reproduced',
      'ours-every-eps': 'partly',
      'lambda-away': 'partly',
    });
  });

  it("the ablation row shows the end points' stationarity when the records have it", () => {
    const withStat = (r: RunRecord, s: number) => ({ ...r, stationarity: s });
    const claims = checkClaims(
      bestPerCell([
        withStat(rec('zhang2021', 20, 0.1, 0.1, 1180), 1),
        withStat(rec('constrainedRegular', 20, 0.1, 0.1, 1440), 1.5e-6),
      ]),
      { constantLoss: 1000 },
    );
    expect(claims.find((c) => c.id === 'ball-ablation-fails')!.measured).toBe(
      'm = 20, ε = 0.1: regular init + ball 1.44e+3 (stationarity 1.50e-6), Alg. 2 in the same ball 1.18e+3 (stationarity 1.00)',
    );
  });

  it('uses the smallest width both regimes ran, and says what is not covered', () => {
    const v = verdicts([rec('zhang2021', 8, 1, 0.1, 5), rec('zhang2021', 20, 1, 0.1, 50)]);
    expect(v['regular-fails-narrow']).toBe('not covered');
    expect(v['ball-ablation-fails']).toBe('not covered');
    expect(v['lambda-away']).toBe('not covered');
    expect(v['ours-every-eps']).toBe('partly');
    const w = checkClaims(
      bestPerCell([
        rec('zhang2021', 8, 1000, 0.1, 1e-3),
        rec('zhang2021', 20, 1000, 0.1, 20),
        rec('constrainedRegular', 20, 1000, 0.1, 30),
      ]),
      { constantLoss: 1000 },
    );
    const beats = w.find((c) => c.id === 'ours-beats-regular-narrow')!;
    expect(beats.measured).toContain('m = 20');
    expect(beats.verdict).toBe('reproduced');
    expect(w.find((c) => c.id === 'regular-fails-narrow')!.verdict).toBe('reproduced');
  });
});

describe('options', () => {
  const defs = [
    { key: 'widths', kind: 'intList', min: 2, help: '' },
    { key: 'lossTolerance', kind: 'number', min: 0, help: '' },
    { key: 'engine', kind: 'string', values: ['onnx', 'tfjs'], help: '' },
    { key: 'sequential', kind: 'bool', help: '' },
  ] as const;
  it('parses flags (with = or a separate value), bools and lists; names bad flags', () => {
    const r = parseOptions(
      ['--widths=4,6', '--loss-tolerance', '1e-3', '--sequential', '--engine', 'tfjs'],
      [...defs],
      'x',
    );
    expect(r.values).toEqual({ widths: [4, 6], lossTolerance: 1e-3, sequential: true, engine: 'tfjs' });
    expect(flagOf('lossTolerance')).toBe('--loss-tolerance');
    expect(() => parseOptions(['--widths', '1'], [...defs], 'x')).toThrow(/--widths: must be ≥ 2/);
    expect(() => parseOptions(['--loss-tolerance', '-1'], [...defs], 'x')).toThrow(UsageError);
    expect(() => parseOptions(['--widths', '4.5'], [...defs], 'x')).toThrow(/integer/);
  });
});

describe('progress bar and sweep', () => {
  it('prints plain lines off a TTY, with percent and ETA', () => {
    const lines: string[] = [];
    const bar = new ProgressBar({ write: (s: string) => lines.push(s), isTTY: false }, 100, 20, 'p', 0);
    bar.tick(30);
    bar.tick(50);
    expect(lines.at(-1)).toMatch(/^p \[#{24}\] 100\.0%/);
    expect(lines[0]).toMatch(/50\.0%.*ETA/);
    expect(lines.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(formatDuration(83)).toBe('1m23s');
    expect(formatDuration(3725)).toBe('1h02m');
  });

  it('redraws one line in place on a TTY, cut to the terminal width', () => {
    const out: string[] = [];
    const bar = new ProgressBar({ write: (s: string) => out.push(s), isTTY: true, columns: 40 }, 10, 0, 'p');
    bar.tick(10, 'a very long note that would wrap the terminal line');
    bar.finish();
    expect(out[0]!.startsWith('\r\x1b[2K')).toBe(true);
    expect(out[0]!.length - '\r\x1b[2K'.length).toBeLessThanOrEqual(39);
    expect(out.at(-1)).toBe('\n');
  });

  it('the paper scale is App. H.2: 9 widths × 10 radii × 2 regimes × 7 × 7 step sizes', () => {
    expect(sweepRuns(SCALES.paper)).toHaveLength(9 * 10 * 2 * 49);
    // App. H.2's grid is on MSELoss: a step lr·∇MSE must equal the paper scale's step on ½Σ
    const data = zhangSynthetic({ n: SCALES.paper.n, d: 7, seed: 1 });
    const spec = { kind: 'shallow', inputDim: 7, width: 4, activation: 'tanh' } as const;
    const p = initParams(spec, { kind: 'lecun' }, createRng(3));
    const flat = { W: p.W!.data, v: p.v!.data };
    const gMean = lossAndGrad64(spec, flat, data.X, data.Y, data.n, 'mse').grads.W!;
    const gHalf = lossAndGrad64(spec, flat, data.X, data.Y, data.n, 'halfSse').grads.W!;
    const appH2 = [1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1, 5e-1];
    expect(SCALES.paper.lrs1).toEqual(SCALES.paper.lrs2);
    for (const [i, lr] of appH2.entries())
      for (let j = 0; j < gMean.length; j++)
        expect(SCALES.paper.lrs1[i]! * gHalf[j]!).toBeCloseTo(lr * gMean[j]!, 12);
    expect(SCALES.paper.widths).toContain(1000);
    expect(SCALES.paper.steps).toBe(200_000);
    expect(new Set(sweepRuns(SCALES.default).map(runId)).size).toBe(96);
  });
});
