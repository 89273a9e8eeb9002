import { createRng } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  type Dataset,
  DATASET_NAMES,
  R_IMAGENET_CLASSES,
  batches,
  centerCrop,
  fitStandardize,
  getDataset,
  grayscale,
  horizontalFlip,
  kawaguchiGray12x12,
  kawaguchiMnist8x8,
  mnistSample,
  oneHot,
  rImageNetLabel,
  randomCropPad4,
  randomSubset,
  resize,
  shuffle,
  subset,
  trainTestSplit,
  unitNormRows,
  zhangSynthetic,
} from '../src/index.js';

function images(h: number, w: number, c: number, values: number[]): Dataset {
  const d = h * w * c;
  const n = values.length / d;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  return {
    name: 'img',
    X: Float32Array.from(values),
    Y: oneHot(labels, 2),
    n,
    d,
    k: 2,
    labels,
    imageShape: [h, w, c],
  };
}

const range = (n: number, f = (i: number) => i) => Array.from({ length: n }, (_, i) => f(i));

describe('image transforms on hand-computed images', () => {
  it('centerCrop takes the central window (floor offsets)', () => {
    const a = centerCrop(images(4, 4, 1, range(16)), 2, 2);
    expect(Array.from(a.X)).toEqual([5, 6, 9, 10]);
    expect([a.d, a.imageShape]).toEqual([4, [2, 2, 1]]);
    // 5×3 with 2 channels (value = 10·pixel + channel), crop 2×1: top 1, left 1
    const b = centerCrop(
      images(
        5,
        3,
        2,
        range(30, (i) => 10 * Math.floor(i / 2) + (i % 2)),
      ),
      2,
      1,
    );
    expect(Array.from(b.X)).toEqual([40, 41, 70, 71]);
    expect(() => centerCrop(images(2, 2, 1, range(4)), 3, 1)).toThrow(/larger than the 2×2/);
  });

  it('area resize: 4×4→2×2 block means, 3→2 fractional overlaps, and mass is conserved', () => {
    const a = resize(images(4, 4, 1, range(16)), 2, 2);
    expect(Array.from(a.X)).toEqual([2.5, 4.5, 10.5, 12.5]);
    // column 3×1 → 2×1: out0 = (v0 + v1/2)/1.5, out1 = (v1/2 + v2)/1.5 with v = [0, 3, 6]
    const b = resize(images(3, 1, 1, [0, 3, 6]), 2, 1);
    expect(b.X[0]).toBeCloseTo(1, 6);
    expect(b.X[1]).toBeCloseTo(5, 6);
    // mean of a random 28×28×2 image is unchanged by an area resize to 12×12
    const rng = createRng(1);
    const img = images(
      28,
      28,
      2,
      range(28 * 28 * 2, () => rng.uniform()),
    );
    const r = resize(img, 12, 12);
    for (let c = 0; c < 2; c++) {
      let s0 = 0;
      let s1 = 0;
      for (let p = 0; p < 784; p++) s0 += img.X[2 * p + c]!;
      for (let p = 0; p < 144; p++) s1 += r.X[2 * p + c]!;
      expect(s1 / 144).toBeCloseTo(s0 / 784, 5);
    }
  });

  it('bilinear resize uses half-pixel centres with edge clamping', () => {
    const a = resize(images(1, 2, 1, [0, 4]), 1, 4, 'bilinear');
    expect(Array.from(a.X)).toEqual([0, 1, 3, 4]);
    const same = resize(images(2, 3, 1, range(6)), 2, 3, 'bilinear');
    expect(Array.from(same.X)).toEqual(range(6));
    expect(() => resize(images(1, 2, 1, [0, 4]), 1, 1, 'cubic' as 'area')).toThrow(/method/);
  });

  it('grayscale uses the BT.601 weights 0.299, 0.587, 0.114', () => {
    const g = grayscale(images(1, 2, 3, [1, 0, 0, 0.2, 0.4, 0.6]));
    expect(g.imageShape).toEqual([1, 2, 1]);
    expect(g.X[0]).toBeCloseTo(0.299, 6);
    expect(g.X[1]).toBeCloseTo(0.0598 + 0.2348 + 0.0684, 6);
    const gray = images(1, 1, 1, [0.5]);
    expect(grayscale(gray)).toBe(gray);
  });

  it('horizontalFlip mirrors rows (channels kept together) with probability p', () => {
    const ds = images(2, 3, 1, [1, 2, 3, 4, 5, 6]);
    expect(Array.from(horizontalFlip(ds, createRng(0), 1).X)).toEqual([3, 2, 1, 6, 5, 4]);
    expect(Array.from(horizontalFlip(ds, createRng(0), 0).X)).toEqual([1, 2, 3, 4, 5, 6]);
    const rgb = images(1, 2, 2, [1, 2, 3, 4]);
    expect(Array.from(horizontalFlip(rgb, createRng(0), 1).X)).toEqual([3, 4, 1, 2]);
    // about half of 400 images flipped at p = 0.5, reproducibly by seed
    const many = images(
      1,
      2,
      1,
      range(800, (i) => i % 2),
    );
    const f = horizontalFlip(many, createRng(3));
    let flipped = 0;
    for (let i = 0; i < 400; i++) if (f.X[2 * i] === 1) flipped++;
    expect(flipped).toBeGreaterThan(150);
    expect(flipped).toBeLessThan(250);
    expect(horizontalFlip(many, createRng(3)).X).toEqual(f.X);
  });

  it('randomCropPad4 is a zero-padded shift by (dy, dx) ∈ [−pad, pad]², every shift reachable', () => {
    const n = 300;
    const ds = images(
      3,
      3,
      1,
      range(9 * n, (i) => 1 + (i % 9)),
    );
    const out = randomCropPad4(ds, createRng(5), 1);
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const img = Array.from(out.X.subarray(9 * i, 9 * i + 9));
      let match = '';
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          // pad with zeros, then read (y + dy, x + dx)
          const want = range(9, (p) => {
            const y = Math.floor(p / 3) + dy;
            const x = (p % 3) + dx;
            return y < 0 || y > 2 || x < 0 || x > 2 ? 0 : 1 + y * 3 + x;
          });
          if (want.every((v, t) => v === img[t])) match = `${dy},${dx}`;
        }
      }
      expect(match).not.toBe('');
      seen.add(match);
    }
    expect(seen.size).toBe(9);
    // CIFAR default pad 4 on 32×32: shapes kept
    const c = randomCropPad4(
      images(
        32,
        32,
        3,
        range(3072, () => 1),
      ),
      createRng(1),
    );
    expect([c.d, c.imageShape]).toEqual([3072, [32, 32, 3]]);
  });

  it('image transforms refuse non-image sets', () => {
    expect(() => centerCrop(zhangSynthetic({ n: 2, d: 4 }), 1, 1)).toThrow(/has no imageShape/);
  });
});

describe('vector transforms', () => {
  it('unitNormRows scales rows to norm 1', () => {
    const ds: Dataset = {
      name: 'v',
      X: Float32Array.from([3, 4, 0, -2]),
      Y: new Float32Array(2),
      n: 2,
      d: 2,
      k: 1,
    };
    expect(Array.from(unitNormRows(ds).X)).toEqual([0.6000000238418579, 0.800000011920929, 0, -1]);
    const zero = { ...ds, X: Float32Array.from([1, 0, 0, 0]) };
    expect(() => unitNormRows(zero)).toThrow(/row 1 .* is zero/);
  });

  it('fitStandardize uses global training statistics only', () => {
    const train: Dataset = {
      name: 't',
      X: Float32Array.from([1, 2, 3, 4]),
      Y: new Float32Array(2),
      n: 2,
      d: 2,
      k: 1,
    };
    const test: Dataset = { ...train, name: 'test', X: Float32Array.from([2.5, 5, 0, 0]) };
    const st = fitStandardize(train);
    expect(st.mean).toBe(2.5);
    expect(st.std).toBeCloseTo(Math.sqrt(1.25), 12);
    const z = st.apply(test);
    expect(z.X[0]).toBe(0);
    expect(z.X[1]).toBeCloseTo(2.5 / Math.sqrt(1.25), 6);
    expect(Array.from(test.X)).toEqual([2.5, 5, 0, 0]);
    const zt = st.apply(train);
    expect(zt.X.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 6);
    expect(zt.X.reduce((s, v) => s + v * v, 0) / 4).toBeCloseTo(1, 6);
    expect(() => fitStandardize({ ...train, X: new Float32Array(4) })).toThrow(/constant/);
    expect(() => fitStandardize({ ...train, X: Float32Array.from([1, Number.NaN, 0, 0]) })).toThrow(
      /X of 't': non-finite value NaN at flat index 1/,
    );
  });

  it('subset, shuffle, randomSubset and trainTestSplit keep rows, targets and labels together', () => {
    const ds = images(1, 1, 1, range(10));
    const s = subset(ds, [3, 3, 0]);
    expect([...s.X, ...s.labels!, s.n]).toEqual([3, 3, 0, 1, 1, 0, 3]);
    expect(Array.from(s.Y)).toEqual([0, 1, 0, 1, 1, 0]);
    expect(() => subset(ds, [10])).toThrow(/index 10/);
    const sh = shuffle(ds, createRng(2));
    expect(Array.from(sh.X).sort((a, b) => a - b)).toEqual(range(10));
    for (let i = 0; i < 10; i++) expect(sh.labels![i]).toBe(sh.X[i]! % 2);
    expect(shuffle(ds, createRng(2)).X).toEqual(sh.X);
    const rs = randomSubset(ds, 4, createRng(1));
    expect(new Set(rs.X).size).toBe(4);
    const { train, test } = trainTestSplit(ds, { testFraction: 0.3, rng: createRng(4) });
    expect([train.n, test.n]).toEqual([7, 3]);
    expect([...train.X, ...test.X].sort((a, b) => a - b)).toEqual(range(10));
    const plain = trainTestSplit(ds, { testFraction: 0.2 });
    expect(Array.from(plain.test.X)).toEqual([8, 9]);
  });

  it('batches cover every sample once per epoch, seeded, with dropLast', () => {
    const ds = images(1, 1, 1, range(10));
    const all = [...batches(ds, 4, createRng(9))];
    expect(all.map((b) => b.n)).toEqual([4, 4, 2]);
    const idx = all.flatMap((b) => Array.from(b.indices));
    expect([...idx].sort((a, b) => a - b)).toEqual(range(10));
    for (const b of all) for (let t = 0; t < b.n; t++) expect(b.X[t]).toBe(b.indices[t]);
    expect([...batches(ds, 4, createRng(9))].flatMap((b) => Array.from(b.indices))).toEqual(idx);
    expect([...batches(ds, 4, createRng(9), { dropLast: true })].map((b) => b.n)).toEqual([4, 4]);
    expect([...batches(ds, 3, null)][3]!.indices).toEqual(Int32Array.from([9]));
    expect(() => batches(ds, 0, null).next()).toThrow(/batchSize/);
  });
});

describe('Kawaguchi et al. recipes', () => {
  it('MNIST: 24×24 centre crop → 8×8 block means', () => {
    const ds = mnistSample({ count: 3 });
    const r = kawaguchiMnist8x8(ds);
    expect([r.n, r.d, r.imageShape]).toEqual([3, 64, [8, 8, 1]]);
    for (let i = 0; i < 3; i++) {
      for (const [by, bx] of [
        [0, 0],
        [3, 4],
        [7, 7],
      ] as const) {
        let s = 0;
        for (let y = 0; y < 3; y++)
          for (let x = 0; x < 3; x++) s += ds.X[i * 784 + (2 + 3 * by + y) * 28 + 2 + 3 * bx + x]!;
        expect(r.X[i * 64 + by * 8 + bx]).toBeCloseTo(s / 9, 6);
      }
    }
  });

  it('CIFAR/SVHN: 32×32×3 → 28×28 crop → gray → 12×12', () => {
    const rng = createRng(3);
    const ds = images(
      32,
      32,
      3,
      range(2 * 3072, () => rng.uniform()),
    );
    const r = kawaguchiGray12x12(ds);
    expect([r.n, r.d, r.imageShape]).toEqual([2, 144, [12, 12, 1]]);
    // area resize preserves the mean: mean(out) = mean of the gray 28×28 centre
    for (let i = 0; i < 2; i++) {
      let s = 0;
      for (let y = 2; y < 30; y++) {
        for (let x = 2; x < 30; x++) {
          const p = i * 3072 + (y * 32 + x) * 3;
          s += 0.299 * ds.X[p]! + 0.587 * ds.X[p + 1]! + 0.114 * ds.X[p + 2]!;
        }
      }
      expect(r.X.subarray(i * 144, i * 144 + 144).reduce((a, v) => a + v, 0) / 144).toBeCloseTo(s / 784, 5);
    }
  });
});

describe('registry and class maps', () => {
  it('getDataset dispatches by name and lists valid names on error', () => {
    expect(getDataset('zhang-synthetic', { n: 5, d: 3, seed: 2 }).X).toEqual(
      zhangSynthetic({ n: 5, d: 3, seed: 2 }).X,
    );
    expect(getDataset('mnist-sample', { count: 10 }).n).toBe(10);
    expect(() => getDataset('imagenet')).toThrow(
      /unknown dataset "imagenet"; valid names: zhang-synthetic, .*cifar100/,
    );
    expect(() => getDataset('npy', {})).toThrow(/options\.x and options\.y/);
    expect(DATASET_NAMES).toContain('fashion-mnist');
  });

  it('R_IMAGENET_CLASSES is Table 2 of Zhang et al.: 20 classes × 5 distinct ImageNet indices', () => {
    expect(R_IMAGENET_CLASSES).toHaveLength(20);
    const all = R_IMAGENET_CLASSES.flatMap((c) => c.imagenetIndices);
    expect(all).toHaveLength(100);
    expect(new Set(all).size).toBe(100);
    for (const i of all) expect(i >= 0 && i < 1000).toBe(true);
    expect(R_IMAGENET_CLASSES[0]).toEqual({ name: 'bird', imagenetIndices: [10, 11, 12, 13, 14] });
    expect(R_IMAGENET_CLASSES[19]).toEqual({ name: 'boat', imagenetIndices: [403, 510, 554, 625, 628] });
    expect([rImageNetLabel(12), rImageNetLabel(890), rImageNetLabel(0)]).toEqual([0, 15, -1]);
  });
});
