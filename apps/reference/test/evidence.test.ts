import { describe, expect, it } from 'vitest';
import { checkClaims } from '../src/claims.js';
import { initialLoss, judgeCell } from '../src/evidence.js';
import { bestPerCell } from '../src/report.js';
import type { RunRecord } from '../src/runs.js';
import { syntheticRecord } from './records.js';

/** A record of the lr = 10 sweep (300 steps, one evaluation at the end). */
function rec(
  regime: RunRecord['regime'],
  width: number,
  radius: number,
  o: { status: RunRecord['status']; loss0: number; finalLoss: number | null; lambdaMin?: number | null },
): RunRecord {
  return syntheticRecord({ regime, width, radius, lr1: 10, lr2: 10 }, { ...o, steps: 300, points: 1 });
}

// ½Σ(y − ȳ)² of the synthetic set with n = 1000, seed 0 (low cost = ≤ 9.84)
const CONSTANT_LOSS = 984;
const verdicts = (records: RunRecord[]) => checkClaims(bestPerCell(records), { constantLoss: CONSTANT_LOSS });

/**
 * The `--widths 20,40 --radii 1,1000 --lrs1 10 --lrs2 10 --steps 300` sweep (runs.jsonl of main at
 * 0dde137): Alg. 2's runs blow up to 1e11..1e20 and are recorded as `budget` with λ_min 2e9; the
 * regular runs are `diverged`.
 */
const LR10_TODAY: RunRecord[] = [
  rec('zhang2021', 20, 1, { status: 'budget', loss0: 1491.5, finalLoss: 1.175e11, lambdaMin: 2.049e9 }),
  rec('zhang2021', 20, 1000, { status: 'budget', loss0: 1491.5, finalLoss: 2.5e18, lambdaMin: 2.5e13 }),
  rec('constrainedRegular', 20, 1, { status: 'diverged', loss0: 1494.7, finalLoss: null }),
  rec('constrainedRegular', 20, 1000, { status: 'diverged', loss0: 1494.7, finalLoss: null }),
  rec('zhang2021', 40, 1, { status: 'budget', loss0: 1491.5, finalLoss: 1.08e11, lambdaMin: 6.4e9 }),
  rec('zhang2021', 40, 1000, { status: 'budget', loss0: 1491.5, finalLoss: 1.02e20, lambdaMin: 2.8e14 }),
  rec('constrainedRegular', 40, 1, { status: 'diverged', loss0: 1486.8, finalLoss: null }),
  rec('constrainedRegular', 40, 1000, { status: 'diverged', loss0: 1486.8, finalLoss: null }),
];

/** The same sweep once every blown-up run is recorded as `diverged` (the engines' fix). */
const LR10_FIXED: RunRecord[] = LR10_TODAY.map((r) =>
  rec(r.regime, r.width, r.radius, { status: 'diverged', loss0: r.curve![0]![1], finalLoss: null }),
);

describe('a failed cell is not evidence (judgeCell)', () => {
  it('every run diverged → not covered, "diverged"', () => {
    const c = judgeCell([
      rec('zhang2021', 20, 1, { status: 'diverged', loss0: 10, finalLoss: null }),
      rec('zhang2021', 20, 1, { status: 'diverged', loss0: 10, finalLoss: null }),
    ]);
    expect(c.best).toBeNull();
    expect(c.notCovered).toEqual({ label: 'diverged', reason: 'every run diverged (2 of 2)' });
  });

  it('a cell whose runs failed (training threw) is not covered as "failed", not as "diverged"', () => {
    const failed = {
      ...rec('zhang2021', 20, 1, { status: 'budget', loss0: 10, finalLoss: null }),
      status: 'failed' as const,
    };
    const c = judgeCell([
      failed,
      rec('zhang2021', 20, 1, { status: 'diverged', loss0: 10, finalLoss: null }),
    ]);
    expect(c.best).toBeNull();
    expect(c.notCovered).toEqual({
      label: 'failed',
      reason: 'no run finished: 1 of 2 failed (training threw), 1 diverged',
    });
    expect(c.diverged).toBe(1);
  });

  it('best loss not below the initial loss → not covered, "no descent"; one descending run makes it usable', () => {
    const up = rec('zhang2021', 20, 1, { status: 'budget', loss0: 1491.5, finalLoss: 1.175e11 });
    const flat = rec('zhang2021', 20, 1, { status: 'budget', loss0: 1491.5, finalLoss: 1491.5 });
    const down = rec('zhang2021', 20, 1, { status: 'budget', loss0: 1491.5, finalLoss: 1491 });
    const gone = rec('zhang2021', 20, 1, { status: 'diverged', loss0: 1491.5, finalLoss: null });
    expect(initialLoss(up)).toBe(1491.5);
    const c = judgeCell([up, gone]);
    expect(c.best).toBe(up);
    expect(c.notCovered?.label).toBe('no descent');
    expect(c.notCovered?.reason).toBe(
      'best final loss 1.18e+11 is not below the initial loss 1.49e+3 (1 of 2 runs diverged)',
    );
    // a run that sits exactly at its initial loss made no progress either
    expect(judgeCell([flat]).notCovered?.label).toBe('no descent');
    const ok = judgeCell([up, gone, down]);
    expect(ok.best).toBe(down);
    expect(ok.notCovered).toBeNull();
    expect(ok.diverged).toBe(1);
    // a record without a curve (older runs.jsonl): only the divergence part of the rule applies
    const { curve: _, ...noCurve } = up;
    expect(judgeCell([noCurve]).notCovered).toBeNull();
  });
});

describe('claims on the lr = 10 sweep: failures are never evidence', () => {
  for (const [name, records] of [
    ["today's statuses (blown-up runs recorded as budget)", LR10_TODAY],
    ['fixed statuses (every blown-up run diverged)', LR10_FIXED],
  ] as const) {
    it(`every claim is "not covered" and says why — ${name}`, () => {
      const claims = verdicts(records);
      expect(Object.fromEntries(claims.map((c) => [c.id, c.verdict]))).toEqual({
        'regular-fails-narrow': 'not covered',
        'ours-beats-regular-narrow': 'not covered',
        'ball-ablation-fails': 'not covered',
        'ours-every-eps': 'not covered',
        'lambda-away': 'not covered',
      });
      const text = claims.map((c) => c.measured).join('\n');
      expect(text).toContain('every run diverged (1 of 1)');
      if (records === LR10_TODAY) expect(text).toContain('is not below the initial loss 1.49e+3');
      // the λ_min of a blown-up end point is not used
      expect(text).not.toMatch(/2\.05e\+9|e\+13|e\+14/);
    });
  }

  it('a covered cell still counts: regular training that fits while Alg. 2 blows up', () => {
    const claims = verdicts([
      ...LR10_TODAY.filter((r) => r.width === 20 && r.regime === 'zhang2021'),
      rec('constrainedRegular', 20, 1000, {
        status: 'budget',
        loss0: 1494.7,
        finalLoss: 0.5,
        lambdaMin: 0.3,
      }),
      rec('constrainedRegular', 20, 1, { status: 'budget', loss0: 1494.7, finalLoss: 800, lambdaMin: 0.2 }),
    ]);
    const v = Object.fromEntries(claims.map((c) => [c.id, c]));
    expect(v['regular-fails-narrow']!.verdict).toBe('not reproduced');
    expect(v['ours-beats-regular-narrow']!.verdict).toBe('not covered');
    // the ablation fails (800 is not low cost); Alg. 2 in the same ball is not covered: partly
    expect(v['ball-ablation-fails']!.verdict).toBe('partly');
    expect(v['ball-ablation-fails']!.measured).toContain('Alg. 2 in the same ball not covered');
    expect(v['lambda-away']!.verdict).toBe('not covered');
  });

  it('a partly covered Alg. 2 sweep is at most "partly" for "every ε"', () => {
    const claims = verdicts([
      rec('zhang2021', 20, 1, { status: 'budget', loss0: 1491.5, finalLoss: 1e-8, lambdaMin: 0.5 }),
      rec('zhang2021', 20, 1000, { status: 'diverged', loss0: 1491.5, finalLoss: null }),
      rec('constrainedRegular', 20, 1000, {
        status: 'budget',
        loss0: 1494.7,
        finalLoss: 300,
        lambdaMin: 1e-3,
      }),
    ]);
    const v = Object.fromEntries(claims.map((c) => [c.id, c]));
    expect(v['ours-every-eps']!.verdict).toBe('partly');
    expect(v['ours-every-eps']!.measured).toContain('1 of 1 covered cells low cost');
    expect(v['ours-every-eps']!.measured).toContain('1 not covered');
    expect(v['regular-fails-narrow']!.verdict).toBe('reproduced');
    expect(v['ours-beats-regular-narrow']!.verdict).toBe('reproduced');
    expect(v['lambda-away']!.verdict).toBe('reproduced');
  });
});
