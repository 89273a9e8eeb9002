import { createRng } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { type ImageSet, imageCropSource, imageCrops, imagePixelStats, imagePixels } from '../src/index.js';

/** An 8-bit set of `n` random S×S images (pixels in 0..`top`), in shards of 2 images. */
function randomSet(n: number, S: number, seed = 1, top = 255): ImageSet {
  const rng = createRng(seed);
  const stride = S * S * 3;
  const shards: Uint8Array[] = [];
  for (let i = 0; i < n; i += 2) {
    const a = new Uint8Array(Math.min(2, n - i) * stride);
    for (let j = 0; j < a.length; j++) a[j] = rng.int(top + 1);
    shards.push(a);
  }
  return {
    name: 'rand',
    n,
    size: S,
    shards,
    shardImages: 2,
    labels: Int32Array.from({ length: n }, (_, i) => i % 2),
    classes: ['a', 'b'],
    files: Array.from({ length: n }, (_, i) => `f${i}`),
  };
}

/** Pixel (y, x, c) of image i, read by brute force from the shard arithmetic. */
function pixel(set: ImageSet, i: number, y: number, x: number, c: number): number {
  const shard = set.shards[Math.floor(i / set.shardImages)]!;
  return shard[(i % set.shardImages) * set.size * set.size * 3 + (y * set.size + x) * 3 + c]!;
}

/** The float64 crop (top, left, flip) of image i, standardised, NCHW. */
function cropF64(
  set: ImageSet,
  i: number,
  size: number,
  top: number,
  left: number,
  flip: boolean,
  m: number,
  s: number,
) {
  const out = new Float64Array(3 * size * size);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        out[(c * size + y) * size + x] =
          (pixel(set, i, top + y, left + (flip ? size - 1 - x : x), c) / 255 - m) / s;
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!));
  return a.length === b.length ? e : Number.POSITIVE_INFINITY;
};

describe('imagePixelStats', () => {
  it('equals the float64 brute-force mean and population std of every byte / 255 (subset with a repeat)', () => {
    const set = randomSet(5, 7, 3, 200);
    for (const indices of [undefined, [4, 1, 1]]) {
      const idx = indices ?? [0, 1, 2, 3, 4];
      const vals: number[] = [];
      for (const i of idx) for (const p of imagePixels(set, i)) vals.push(p / 255);
      const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
      const std = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / vals.length);
      const got = imagePixelStats(set, indices);
      expect(Math.abs(got.mean - mean)).toBeLessThan(1e-14);
      expect(Math.abs(got.std - std)).toBeLessThan(1e-14);
    }
    const flat = { ...randomSet(2, 3), shards: [new Uint8Array(54).fill(9)] };
    expect(() => imagePixelStats(flat)).toThrow(/imagePixelStats\(rand\): the pixels are constant/);
  });
});

describe('imageCrops', () => {
  const set = randomSet(5, 9);
  const { mean, std } = imagePixelStats(set);

  it('centre crop: NCHW rows equal the float64 standardised centre window (torchvision offsets)', () => {
    const got = imageCrops(set, [3, 0, 3], { size: 6, mean, std });
    expect(got).toHaveLength(3 * 108);
    // (9 − 6)/2 = 1.5 rounds half to even: 2 (torchvision's CenterCrop)
    for (const [r, i] of [3, 0, 3].entries())
      expect(
        maxDiff(got.subarray(r * 108, (r + 1) * 108), cropF64(set, i, 6, 2, 2, false, mean, std)),
      ).toBeLessThan(1e-6);
    // the full side is the whole image
    expect(
      maxDiff(imageCrops(set, [1], { size: 9, mean, std }), cropF64(set, 1, 9, 0, 0, false, mean, std)),
    ).toBeLessThan(1e-6);
  });

  it('random crop: each row is the window and flip of the documented draws; positions and flips cover their range', () => {
    const rng = createRng(11);
    const idx = Array.from({ length: 400 }, (_, r) => r % 5);
    const got = imageCrops(set, idx, { size: 6, mean, std, rng });
    const again = createRng(11);
    const tops = new Set<number>();
    const lefts = new Set<number>();
    let flips = 0;
    for (let r = 0; r < idx.length; r++) {
      const top = again.int(4);
      const left = again.int(4);
      const flip = again.uniform() < 0.5;
      tops.add(top);
      lefts.add(left);
      flips += flip ? 1 : 0;
      expect(
        maxDiff(got.subarray(r * 108, (r + 1) * 108), cropF64(set, idx[r]!, 6, top, left, flip, mean, std)),
      ).toBeLessThan(1e-6);
    }
    expect([...tops].sort()).toEqual([0, 1, 2, 3]);
    expect([...lefts].sort()).toEqual([0, 1, 2, 3]);
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
  });

  it('errors name the field', () => {
    expect(() => imageCrops(set, [0], { size: 10, mean, std })).toThrow(
      /imageCrops\(rand\): size must be an integer in \[1, 9\]/,
    );
    expect(() => imageCrops(set, [0], { size: 4, mean, std: 0 })).toThrow(/std must be finite and > 0/);
    expect(() => imageCrops(set, [5], { size: 4, mean, std })).toThrow(
      /imagePixels\(rand\): index 5 is outside 0\.\.4/,
    );
  });
});

describe('imageCropSource', () => {
  const set = randomSet(6, 9);
  const { mean, std } = imagePixelStats(set);
  const images = [5, 2, 0, 4];
  const src = imageCropSource(set, { size: 6, mean, std, augment: true, images });

  it('training rows are a pure function of (indices, seed, epoch, step); evaluation rows are centre crops', () => {
    expect(src.n).toBe(4);
    expect(src.d).toBe(108);
    const idx = Int32Array.from([3, 0, 1]);
    const b = { seed: 4, epoch: 1, step: 7 };
    const rows = src.rows(idx, b);
    expect(src.rows(idx, { ...b })).toEqual(rows);
    // the documented stream: createRng(seed).fork('crop/epoch<e>/step<t>'), rows mapped through images
    const want = imageCrops(set, [4, 5, 2], {
      size: 6,
      mean,
      std,
      rng: createRng(4).fork('crop/epoch1/step7'),
    });
    expect(rows).toEqual(want);
    for (const other of [
      { ...b, seed: 5 },
      { ...b, epoch: 2 },
      { ...b, step: 8 },
    ])
      expect(src.rows(idx, other)).not.toEqual(rows);
    const centre = imageCrops(set, [4, 5, 2], { size: 6, mean, std });
    expect(src.rows(idx)).toEqual(centre);
    // without augment a training batch is the centre crop too
    expect(imageCropSource(set, { size: 6, mean, std, augment: false, images }).rows(idx, b)).toEqual(centre);
  });

  it('errors name the field and the index', () => {
    expect(() => src.rows([4])).toThrow(/imageCropSource\(rand\).rows: index 4 is outside 0\.\.3/);
    expect(() => imageCropSource(set, { size: 6, mean, std, augment: true, images: [6] })).toThrow(
      /images holds 6, outside 0\.\.5/,
    );
    expect(() => imageCropSource(set, { size: 6, mean, std, augment: 1 as unknown as boolean })).toThrow(
      /augment must be true or false/,
    );
  });
});
