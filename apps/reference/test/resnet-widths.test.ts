import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESNET_FIGURE, checkResNetClaims, resnetCells } from '../src/experiments/resnet-widths/report.js';
import { RESNET_WIDTHS_SCALES } from '../src/experiments/resnet-widths/settings.js';
import { type ResNetRecord, resnetRuns, resnetSplits } from '../src/experiments/resnet-widths/train.js';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-resnet-widths-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const smoke = RESNET_WIDTHS_SCALES.smoke;

describe('narrownet run resnet-widths --scale smoke (end to end)', () => {
  const dir = join(root, 'rw');
  const c = io();
  let code = -1;
  beforeAll(async () => {
    code = await main(['run', 'resnet-widths', '--scale', 'smoke', '--out', dir], c);
  }, 300_000);

  it('exits 0 and stores every arm × width × ε × seed run with accuracies', () => {
    expect(code, c.err()).toBe(0);
    const rs = records<ResNetRecord>(dir);
    expect(rs.map((r) => r.id).sort()).toEqual(
      resnetRuns(smoke)
        .map((p) => p.id)
        .sort(),
    );
    for (const r of rs) {
      expect(['budget', 'diverged']).toContain(r.status);
      if (r.status !== 'budget') continue;
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.testAccuracy).toBeLessThanOrEqual(1);
      expect(r.testPerClassTotal!.reduce((a, b) => a + b, 0)).toBe(smoke.testN);
      expect(r.curve.at(-1)!.epoch).toBe(smoke.epochs);
    }
    // the seeds are different runs
    const s0 = rs.find((r) => r.id === 'regular/w4/s0')!;
    const s1 = rs.find((r) => r.id === 'regular/w4/s1')!;
    expect(s0.curve).not.toEqual(s1.curve);
  });

  it('writes the figure and report.html with the claims, not covered on Fashion-MNIST', () => {
    expect(existsSync(join(dir, RESNET_FIGURE))).toBe(true);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('shows the machinery, not the paper');
    expect(html).toMatch(/<b>not covered<\/b>/);
    expect(c.out() + c.err()).toMatch(/not covered +on R-ImageNet/);
  });
});

describe('resnet-widths data and verdicts', () => {
  it('pads Fashion-MNIST to 32×32 NCHW (one channel) with the standardised background value', () => {
    const { splits, input } = resnetSplits(smoke);
    expect(input).toEqual([1, 32, 32]);
    expect(splits.train.X.length).toBe(smoke.trainN * 1024);
    // the corner pixel is padding: the value a raw 0 standardises to
    expect(splits.train.X[0]).toBeCloseTo(-splits.mean / splits.std, 6);
  });

  const rec = (arm: 'regular' | 'alg2', width: number, radius: number | null, seed: number, acc: number) =>
    ({
      id: `${arm}/${width}/${radius}/${seed}`,
      arm,
      width,
      radius,
      seed,
      status: 'budget',
      testAccuracy: acc,
    }) as ResNetRecord;
  const cifar = { ...RESNET_WIDTHS_SCALES.paper, seeds: [0, 1] };

  it('cells: mean and standard error over seeds', () => {
    const [cell] = resnetCells([rec('regular', 64, null, 0, 0.9), rec('regular', 64, null, 1, 0.8)]);
    expect(cell!.mean).toBeCloseTo(0.85, 12);
    expect(cell!.se).toBeCloseTo(Math.sqrt(0.005) / Math.SQRT2, 12);
  });

  it('on CIFAR the verdicts follow the numbers: Alg. 2 far below regular is not reproduced', () => {
    const below = [
      ...[0, 1].map((s) => rec('regular', 64, null, s, 0.9 + 0.001 * s)),
      ...[0, 1].map((s) => rec('regular', 512, null, s, 0.9 + 0.001 * s)),
      ...[0, 1].map((s) => rec('alg2', 64, 1, s, 0.5 + 0.001 * s)),
      ...[0, 1].map((s) => rec('alg2', 512, 1, s, 0.5 + 0.001 * s)),
    ];
    const [onPar, narrow] = checkResNetClaims(below, cifar);
    expect(onPar!.verdict).toBe('not reproduced');
    expect(narrow!.verdict).toBe('reproduced');
    const above = below.map((r) => (r.arm === 'alg2' ? { ...r, testAccuracy: 0.95 } : r));
    expect(checkResNetClaims(above, cifar)[0]!.verdict).toBe('reproduced');
    // regular training collapsing at the narrow width is not the paper's "does not fail"
    const collapsed = below.map((r) =>
      r.arm === 'regular' && r.width === 64 ? { ...r, testAccuracy: 0.3 } : r,
    );
    expect(checkResNetClaims(collapsed, cifar)[1]!.verdict).toBe('not reproduced');
    // the same numbers on Fashion-MNIST are not evidence for a CIFAR claim
    expect(checkResNetClaims(above, smoke)[0]!.verdict).toBe('not covered');
  });

  it('bad settings are rejected naming the flag, and nothing is written', async () => {
    for (const [flags, named] of [
      [['--widths', '3'], '--widths'],
      [['--trunk-widths', '4,4'], '--trunk-widths'],
      [['--data', 'cifar10', '--data-dir', join(root, 'none')], '--data'],
    ] as const) {
      const c = io();
      const out = join(root, `bad-${flags.join('-').replace(/[^a-z0-9-]/gi, '')}`);
      expect(await main(['run', 'resnet-widths', '--scale', 'smoke', ...flags, '--out', out], c)).toBe(2);
      expect(c.err()).toContain(named);
      expect(existsSync(join(out, 'runs.jsonl'))).toBe(false);
    }
  });
});
