import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistSample } from '@narrownet/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageSplits } from '../src/image-data.js';
import { MNIST_FIGURE, checkMnistClaims } from '../src/experiments/mnist-widths/report.js';
import { MNIST_WIDTHS_SCALES } from '../src/experiments/mnist-widths/settings.js';
import { type MnistRecord, mnistRuns } from '../src/experiments/mnist-widths/train.js';
import { checkRandomLabelClaims } from '../src/experiments/random-labels/report.js';
import { RANDOM_LABELS_SCALES } from '../src/experiments/random-labels/settings.js';
import { type RandomLabelsRecord, randomLabelsRuns } from '../src/experiments/random-labels/train.js';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-classification-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const VERDICT = /<b>(reproduced|partly|not reproduced|not covered)<\/b>/;

describe('narrownet run mnist-widths --scale smoke (end to end)', () => {
  const dir = join(root, 'mw');
  const c = io();
  let code = -1;
  beforeAll(async () => {
    code = await main(['run', 'mnist-widths', '--scale', 'smoke', '--out', dir], c);
  }, 300_000);

  it('exits 0 and stores every arm × width × ε × optimizer run with accuracies and a curve', () => {
    expect(code, c.err()).toBe(0);
    const rs = records<MnistRecord>(dir);
    expect(rs.map((r) => r.id).sort()).toEqual(
      mnistRuns(MNIST_WIDTHS_SCALES.smoke)
        .map((p) => p.id)
        .sort(),
    );
    expect(new Set(rs.map((r) => r.arm))).toEqual(new Set(['regular', 'alg2']));
    for (const r of rs) {
      expect(['budget', 'diverged']).toContain(r.status);
      if (r.status !== 'budget') continue;
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.testAccuracy).toBeLessThanOrEqual(1);
      expect(r.testPerClassTotal!.reduce((a, b) => a + b, 0)).toBe(r.nTest);
      expect(r.testPerClassCorrect!.reduce((a, b) => a + b, 0)).toBe(Math.round(r.testAccuracy! * r.nTest));
      expect(r.curve.at(-1)!.epoch).toBe(MNIST_WIDTHS_SCALES.smoke.epochs);
    }
  });

  it('writes the Fig. 7 figure and report.html with the claim and its verdict', () => {
    expect(existsSync(join(dir, MNIST_FIGURE))).toBe(true);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('test accuracy vs width');
    expect(html).toContain("The paper's claims, checked");
    expect(html).toMatch(/Alg\. 2 reaches a higher test accuracy than regular training/);
    expect(html).toMatch(VERDICT);
    expect(c.out() + c.err()).toMatch(/(reproduced|partly|not reproduced|not covered) +with a proper ε/);
  });
});

describe('narrownet run random-labels --scale smoke (end to end)', () => {
  const dir = join(root, 'rl');
  const c = io();
  let code = -1;
  beforeAll(async () => {
    code = await main(['run', 'random-labels', '--scale', 'smoke', '--out', dir], c);
  }, 300_000);

  it('exits 0 and stores every arm × activation × width run', () => {
    expect(code, c.err()).toBe(0);
    const rs = records<RandomLabelsRecord>(dir);
    expect(rs.map((r) => r.id).sort()).toEqual(
      randomLabelsRuns(RANDOM_LABELS_SCALES.smoke)
        .map((p) => p.id)
        .sort(),
    );
    for (const r of rs) if (r.status === 'budget') expect(r.trainAccuracy).not.toBeNull();
  });

  it('writes report.html with Table 3 as measured and the three claims with verdicts', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('Table 3, as measured');
    expect(html).toMatch(/train accuracy on random labels/);
    expect(html).toMatch(/ReLU works a bit better than Tanh/);
    expect(html).toMatch(/test accuracy stays at chance/);
    expect(html).toMatch(VERDICT);
  });
});

describe('bad settings are rejected naming the flag, and nothing is written', () => {
  const cases: [string, string[], string][] = [
    ['random-labels', ['--widths', '64,8'], '--widths'],
    ['random-labels', ['--widths', '9'], '--widths'],
    ['random-labels', ['--milestones', '9'], '--milestones'],
    ['random-labels', ['--activations', 'gelu'], '--activations'],
    ['random-labels', ['--data', 'mnist'], '--data'],
    ['mnist-widths', ['--data', 'cifar10', '--data-dir', '/nonexistent'], '--data'],
    ['mnist-widths', ['--train-n', '9000'], '--train-n'],
    ['mnist-widths', ['--batch-size', '500'], '--batch-size'],
    ['mnist-widths', ['--optimizers', 'lbfgs'], '--optimizers'],
    ['mnist-widths', ['--v-constraint', 'box'], '--v-constraint'],
    ['mnist-widths', ['--radii', '0,1'], '--radii'],
  ];
  for (const [exp, flags, named] of cases)
    it(`${exp} ${flags.join(' ')}`, async () => {
      const c = io();
      const out = join(root, `bad-${exp}-${flags.join('-').replace(/[^a-z0-9-]/gi, '')}`);
      expect(await main(['run', exp, '--scale', 'smoke', ...flags, '--out', out], c)).toBe(2);
      expect(c.err()).toContain(named);
      expect(existsSync(join(out, 'runs.jsonl'))).toBe(false);
    });
  it('the full MNIST without --data-dir says how to get it', async () => {
    const c = io();
    expect(await main(['run', 'mnist-widths', '--data', 'mnist', '--out', join(root, 'no-mnist')], c)).toBe(
      2,
    );
    expect(c.err()).toMatch(/--data: the full mnist needs --data-dir.*fetchDataset\('mnist'/);
  });
});

describe('image splits', () => {
  it('standardise both splits with the global mean and std of the training pixels only (App. H.2)', () => {
    const s = imageSplits('mnist-sample', { trainN: 300, testN: 100 });
    const raw = mnistSample({ split: 'train' }).X.subarray(0, 300 * 784);
    let mean = 0;
    for (const x of raw) mean += x / raw.length;
    let v = 0;
    for (const x of raw) v += (x - mean) ** 2 / raw.length;
    expect(s.mean).toBeCloseTo(mean, 10);
    expect(s.std).toBeCloseTo(Math.sqrt(v), 10);
    const rawTest = mnistSample({ split: 'test' }).X;
    for (const i of [0, 500, 78_399]) expect(s.test.X[i]).toBeCloseTo((rawTest[i]! - mean) / Math.sqrt(v), 5);
    expect(s.train.n).toBe(300);
    expect(s.test.n).toBe(100);
  });
});

describe('claim verdicts are computed from the numbers', () => {
  const rec = (arm: 'regular' | 'alg2', width: number, radius: number | null, acc: number): MnistRecord => ({
    id: `${arm}/${width}/${radius}`,
    arm,
    width,
    radius,
    optimizer: 'adam',
    n: 100,
    nTest: 1000,
    epochs: 1,
    steps: 1,
    status: 'budget',
    trainAccuracy: acc,
    testAccuracy: acc,
    trainLoss: 1,
    testLoss: 1,
    curve: [],
    wallMs: 1,
    engine: { engine: 'onnx', backend: 'cpu', device: 'cpu' },
    finishedAt: '',
  });
  it('Fig. 7: the fraction of widths where the best ε beats regular training decides', () => {
    const rs = [
      rec('regular', 64, null, 0.9),
      rec('alg2', 64, 1, 0.85),
      rec('alg2', 64, 10, 0.91),
      rec('regular', 128, null, 0.92),
      rec('alg2', 128, 1, 0.93),
      rec('regular', 256, null, 0.95),
      rec('alg2', 256, 1, 0.94),
    ];
    expect(checkMnistClaims(rs)[0]!.verdict).toBe('partly');
    expect(checkMnistClaims(rs.slice(0, 5))[0]!.verdict).toBe('reproduced');
    expect(checkMnistClaims(rs.filter((r) => r.arm === 'regular'))[0]!.verdict).toBe('not covered');
    // a diverged best is not evidence: the other optimizer of the cell counts
    const div = { ...rec('alg2', 256, 1, 0.99), optimizer: 'sgd' as const, status: 'diverged' as const };
    expect(checkMnistClaims([...rs, div])[0]!.verdict).toBe('partly');
  });
  it('Table 3: memorisation above 99%, ReLU ≥ tanh, test accuracy at chance', () => {
    const r = (
      activation: 'relu' | 'tanh',
      width: number,
      train: number,
      test: number,
    ): RandomLabelsRecord => ({
      id: `alg2/${activation}/m${width}`,
      arm: 'alg2',
      activation,
      width,
      n: 1000,
      nTest: 1000,
      epochs: 10,
      steps: 10,
      status: 'budget',
      trainAccuracy: train,
      testAccuracy: test,
      trainLoss: 0.1,
      testLoss: 3,
      curve: [],
      wallMs: 1,
      engine: { engine: 'onnx', backend: 'cpu', device: 'cpu' },
      finishedAt: '',
    });
    const rs = [
      r('relu', 64, 0.995, 0.1),
      r('tanh', 64, 0.98, 0.104),
      r('relu', 128, 0.999, 0.2),
      r('tanh', 128, 0.9991, 0.09),
    ];
    // 3 of 4 above 99% (0.75: partly); ReLU ≥ tanh at 1 of 2 widths (0.5: partly); 3 of 4 within
    // 3 standard errors (±2.85 points on 1000 samples) of 10% (partly)
    expect(checkRandomLabelClaims(rs).map((c) => c.verdict)).toEqual(['partly', 'partly', 'partly']);
    const better = [
      rs[0]!,
      r('tanh', 64, 0.992, 0.104),
      r('relu', 128, 0.9995, 0.1),
      r('tanh', 128, 0.9991, 0.09),
    ];
    expect(checkRandomLabelClaims(better).map((c) => c.verdict)).toEqual([
      'reproduced',
      'reproduced',
      'reproduced',
    ]);
    // only the Alg. 2 arm is Table 3's regime: a regular run is no evidence either way
    const regular = { ...r('relu', 256, 0.2, 0.5), arm: 'regular' as const, id: 'regular/relu/m256' };
    expect(checkRandomLabelClaims([...better, regular]).map((c) => c.verdict)).toEqual([
      'reproduced',
      'reproduced',
      'reproduced',
    ]);
    expect(checkRandomLabelClaims([regular]).map((c) => c.verdict)).toEqual([
      'not covered',
      'not covered',
      'not covered',
    ]);
    const low = [r('relu', 64, 0.5, 0.1), r('tanh', 64, 0.6, 0.1)];
    expect(checkRandomLabelClaims(low).map((c) => c.verdict)).toEqual([
      'not reproduced',
      'not reproduced',
      'reproduced',
    ]);
  });
});
