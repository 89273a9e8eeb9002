import type { MlpSpec } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  type Dataset,
  kawaguchiTeacher,
  randomLabels,
  relabelByTeacher,
  whiteNoise,
  zhangSynthetic,
} from '../src/index.js';

describe('zhangSynthetic', () => {
  const ds = zhangSynthetic({ n: 50, d: 20, seed: 3 });

  it('has unit-norm rows and y = (1ᵀx)² recomputed in float64', () => {
    expect([ds.n, ds.d, ds.k, ds.X.length, ds.Y.length]).toEqual([50, 20, 1, 1000, 50]);
    for (let i = 0; i < ds.n; i++) {
      let s = 0;
      let q = 0;
      for (let j = 0; j < ds.d; j++) {
        const x = ds.X[i * ds.d + j]!;
        s += x;
        q += x * x;
      }
      expect(Math.abs(Math.sqrt(q) - 1)).toBeLessThan(1e-6);
      expect(Math.abs(ds.Y[i]! - s * s)).toBeLessThanOrEqual(1e-6 * Math.max(1, s * s));
    }
  });

  it('defaults to the paper sizes n = 1000, d = 200 and is reproducible by seed', () => {
    const a = zhangSynthetic();
    expect([a.n, a.d, a.X.length]).toEqual([1000, 200, 200000]);
    expect(zhangSynthetic({ n: 50, d: 20, seed: 3 }).X).toEqual(ds.X);
    expect(zhangSynthetic({ n: 50, d: 20, seed: 4 }).X).not.toEqual(ds.X);
  });

  it('has the moments of a uniform point on the sphere: E x_j ≈ 0, E x_j² = 1/d', () => {
    const { X, n, d } = zhangSynthetic({ n: 2000, d: 10, seed: 1 });
    for (let j = 0; j < d; j++) {
      let m = 0;
      let q = 0;
      for (let i = 0; i < n; i++) {
        m += X[i * d + j]!;
        q += X[i * d + j]! ** 2;
      }
      // std of the mean ≈ sqrt(1/d / n) ≈ 0.007; tolerance 5 sd
      expect(Math.abs(m / n)).toBeLessThan(0.035);
      expect(Math.abs(q / n - 1 / d)).toBeLessThan(0.02);
    }
  });

  it('rejects bad sizes naming the parameter', () => {
    expect(() => zhangSynthetic({ n: 0 })).toThrow(/zhangSynthetic: n/);
    expect(() => zhangSynthetic({ d: 2.5 })).toThrow(/zhangSynthetic: d/);
  });
});

/** Independent float64 forward of an unbiased tanh MLP with W_l stored [out, in]. */
function teacherForward(ds: ReturnType<typeof kawaguchiTeacher>, i: number): number[] {
  const { spec, params } = ds.teacher;
  let h = Array.from(ds.X.subarray(i * ds.d, (i + 1) * ds.d), Number);
  const L = spec.layers.length - 1;
  for (let l = 1; l <= L; l++) {
    const W = params[`W${l}`]!;
    const [o, inn] = W.shape as [number, number];
    const z: number[] = [];
    for (let r = 0; r < o; r++) {
      let s = 0;
      for (let c = 0; c < inn; c++) s += W.data[r * inn + c]! * h[c]!;
      z.push(l === L ? s : Math.tanh(s));
    }
    h = z;
  }
  return h;
}

describe('kawaguchiTeacher', () => {
  const ds = kawaguchiTeacher({ n: 40, seed: 7 });

  it('is the paper network: H = 7, width 50, x ∈ R^10, y ∈ R, tanh, no biases', () => {
    expect(ds.teacher.spec.layers).toEqual([10, 50, 50, 50, 50, 50, 50, 50, 1]);
    expect(ds.teacher.spec.activation).toBe('tanh');
    expect(Object.keys(ds.teacher.params).sort()).toEqual(['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7', 'W8']);
    expect([ds.n, ds.d, ds.k]).toEqual([40, 10, 1]);
    expect(kawaguchiTeacher().n).toBe(5000);
  });

  it('targets equal an independent float64 forward pass', () => {
    for (let i = 0; i < ds.n; i++) {
      const y = teacherForward(ds, i)[0]!;
      expect(Math.abs(ds.Y[i]! - y)).toBeLessThan(1e-6 * Math.max(1, Math.abs(y)));
    }
    // the targets are not degenerate
    const ys = Array.from(ds.Y);
    expect(Math.max(...ys) - Math.min(...ys)).toBeGreaterThan(0.1);
  });

  it('is reproducible by seed and different across seeds', () => {
    const again = kawaguchiTeacher({ n: 40, seed: 7 });
    expect(again.X).toEqual(ds.X);
    expect(again.Y).toEqual(ds.Y);
    expect(again.teacher.params.W3!.data).toEqual(ds.teacher.params.W3!.data);
    const other = kawaguchiTeacher({ n: 40, seed: 8 });
    expect(other.Y).not.toEqual(ds.Y);
    expect(other.teacher.params.W1!.data).not.toEqual(ds.teacher.params.W1!.data);
  });

  it('draws weights with std 2/√d_l (paper) or 2/√d_{l-1} (fan-in) and x ~ N(0, 1)', () => {
    const big = kawaguchiTeacher({ n: 500, seed: 1, width: 200 });
    const sd = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    // W2 is 200×200 = 40000 draws: relative sd error ≈ 0.35 %
    expect(sd(big.teacher.params.W2!.data) / (2 / Math.sqrt(200))).toBeCloseTo(1, 1);
    expect(sd(big.teacher.params.W1!.data) / (2 / Math.sqrt(200))).toBeCloseTo(1, 1);
    const fan = kawaguchiTeacher({ n: 1, seed: 1, width: 200, stdRule: 'fan-in' });
    expect(sd(fan.teacher.params.W1!.data) / (2 / Math.sqrt(10))).toBeCloseTo(1, 1);
    expect(sd(big.X)).toBeCloseTo(1, 1);
  });
});

describe('whiteNoise', () => {
  it('draws [X Y] with i.i.d. N(0, 1) entries', () => {
    const ds = whiteNoise({ n: 3000, dx: 4, dy: 2, seed: 5 });
    expect([ds.n, ds.d, ds.k, ds.X.length, ds.Y.length]).toEqual([3000, 4, 2, 12000, 6000]);
    for (const a of [ds.X, ds.Y]) {
      const m = a.reduce((s, v) => s + v, 0) / a.length;
      const v = a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length;
      expect(Math.abs(m)).toBeLessThan(0.05);
      expect(Math.abs(v - 1)).toBeLessThan(0.08);
    }
    expect(whiteNoise({ n: 3000, dx: 4, dy: 2, seed: 5 }).Y).toEqual(ds.Y);
    expect(() => whiteNoise({ n: 3, dx: 0 })).toThrow(/whiteNoise: dx/);
  });
});

function classSet(labels: number[], k: number): Dataset {
  const n = labels.length;
  const Y = new Float32Array(n * k);
  labels.forEach((c, i) => {
    Y[i * k + c] = 1;
  });
  return { name: 'toy', X: new Float32Array(n), Y, n, d: 1, k, labels: Int32Array.from(labels) };
}

describe('randomLabels', () => {
  it('redraws classification labels uniformly and rebuilds one-hot Y', () => {
    const ds = classSet(
      Array.from({ length: 5000 }, () => 0),
      5,
    );
    const r = randomLabels(ds, 1);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < r.n; i++) {
      counts[r.labels![i]!]!++;
      expect(r.Y[i * 5 + r.labels![i]!]).toBe(1);
      expect(r.Y.subarray(i * 5, i * 5 + 5).reduce((s, v) => s + v, 0)).toBe(1);
    }
    // each count ≈ 1000 ± 28 (sd); allow 5 sd
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(145);
    expect(r.X).toBe(ds.X);
    expect(ds.labels!.every((c) => c === 0)).toBe(true); // input untouched
  });

  it('shuffle mode permutes labels (same multiset) and regression rows', () => {
    const ds = classSet([0, 0, 1, 1, 1, 2, 2, 2, 2, 2], 3);
    const r = randomLabels(ds, 2, 'shuffle');
    expect(Array.from(r.labels!).sort()).toEqual(Array.from(ds.labels!).sort());
    const reg: Dataset = {
      name: 'r',
      X: new Float32Array(6),
      Y: Float32Array.from([1, 2, 3, 4, 5, 6]),
      n: 6,
      d: 1,
      k: 1,
    };
    const rr = randomLabels(reg, 3);
    expect(Array.from(rr.Y).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => randomLabels(reg, 3, 'uniform')).toThrow(/classification/);
    expect(() => randomLabels(ds, 3, 'gaussian')).toThrow(/regression/);
  });

  it('gaussian mode keeps column mean and std of regression targets', () => {
    const n = 4000;
    const Y = new Float32Array(n).map((_, i) => 3 + (i % 2 === 0 ? 2 : -2)); // mean 3, sd 2
    const r = randomLabels({ name: 'r', X: new Float32Array(n), Y, n, d: 1, k: 1 }, 4, 'gaussian');
    const m = r.Y.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(r.Y.reduce((s, v) => s + (v - m) ** 2, 0) / n);
    expect(Math.abs(m - 3)).toBeLessThan(0.15);
    expect(Math.abs(sd - 2)).toBeLessThan(0.15);
  });
});

describe('relabelByTeacher', () => {
  // hand-computable linear-ish teacher: relu-free MLP with identity-like weights
  const spec: MlpSpec = { kind: 'mlp', layers: [2, 3], activation: 'tanh' };
  const params = { W1: { shape: [3, 2], data: Float32Array.from([1, 0, 0, 1, -1, -1]) } };
  const X = Float32Array.from([2, 1, 0, 3, -1, -1]);

  it('argmax mode relabels to the teacher class and one-hot Y', () => {
    const ds: Dataset = { ...classSet([0, 0, 0], 3), X, d: 2 };
    const r = relabelByTeacher(ds, spec, params);
    // outputs: [2,1,-3], [0,3,-3], [-1,-1,2]
    expect(Array.from(r.labels!)).toEqual([0, 1, 2]);
    expect(Array.from(r.Y)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('values mode (default for regression) copies the outputs', () => {
    const ds: Dataset = { name: 'r', X, Y: new Float32Array(3), n: 3, d: 2, k: 1 };
    const r = relabelByTeacher(ds, spec, params);
    expect(r.k).toBe(3);
    expect(Array.from(r.Y)).toEqual([2, 1, -3, 0, 3, -3, -1, -1, 2]);
    expect(r.labels).toBeUndefined();
  });

  it('rejects a teacher of the wrong input dimension', () => {
    const ds: Dataset = { name: 'r', X: new Float32Array(9), Y: new Float32Array(3), n: 3, d: 3, k: 1 };
    expect(() => relabelByTeacher(ds, spec, params)).toThrow(/input dimension 2 ≠ dataset d = 3/);
  });
});
