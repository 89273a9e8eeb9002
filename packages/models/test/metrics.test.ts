import { describe, expect, it } from 'vitest';
import { classificationMetrics, labelsFromTargets } from '../src/index.js';

/** Brute force: accuracy by explicit comparison of sorted scores. */
function bruteAccuracy(pred: number[], labels: number[], k: number): number {
  let c = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = pred.slice(i * k, i * k + k);
    const order = row.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    if (order[0]![1] === labels[i]) c++;
  }
  return c / labels.length;
}

describe('classificationMetrics', () => {
  it('matches a brute-force count on random scores, with consistent per-class and confusion counts', () => {
    let s = 7;
    const rnd = (): number => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    const n = 200;
    const k = 4;
    const pred = Array.from({ length: n * k }, () => rnd() - 0.5);
    const labels = Array.from({ length: n }, () => Math.floor(rnd() * k));
    const m = classificationMetrics(pred, labels, k);
    expect(m.accuracy).toBe(bruteAccuracy(pred, labels, k));
    expect(m.perClassTotal.reduce((a, b) => a + b, 0)).toBe(n);
    expect(m.perClassCorrect.reduce((a, b) => a + b, 0)).toBe(m.correct);
    for (let t = 0; t < k; t++) {
      expect(m.confusion[t * k + t]).toBe(m.perClassCorrect[t]);
      let row = 0;
      for (let p = 0; p < k; p++) row += m.confusion[t * k + p]!;
      expect(row).toBe(m.perClassTotal[t]);
    }
  });

  it('breaks ties to the lowest class and never credits a non-finite score', () => {
    const m = classificationMetrics([1, 1, 0, Number.NaN, 5, 0, Number.NaN, Number.NaN, 0], [0, 1, 0], 3);
    // row 0 tie → class 0 (right); row 1 NaN skipped, 5 wins → class 1 (right); row 2 no finite score → wrong.
    expect(m.correct).toBe(2);
    expect(m.perClassCorrect[0]).toBe(1);
    expect(m.perClassTotal[0]).toBe(2);
  });

  it('scores a scalar output by its sign', () => {
    const m = classificationMetrics([0.3, -0.1, 0, Number.POSITIVE_INFINITY], [1, 0, 1, 1], 1);
    expect(m.correct).toBe(2);
    expect(m.confusion.length).toBe(4);
  });

  it('names the bad argument', () => {
    expect(() => classificationMetrics([1, 2, 3], [0], 2)).toThrow(/k = 2.*3 predictions/);
    expect(() => classificationMetrics([1, 2], [0, 1], 2)).toThrow(/2 labels/);
    expect(() => classificationMetrics([1, 2], [2], 2)).toThrow(/labels\[0\] = 2/);
  });

  it('reads labels from one-hot targets', () => {
    expect(Array.from(labelsFromTargets([0, 1, 0, 1, 0, 0, 0, 0, 1], 3))).toEqual([1, 0, 2]);
  });
});
