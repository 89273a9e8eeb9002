import type { Rng } from '@narrownet/models';
import { permutation } from './synthetic.js';
import { type Dataset, checkDataset, checkFinite, intParam } from './types.js';

function image(ds: Dataset, where: string): readonly [number, number, number] {
  checkDataset(ds, where);
  if (!ds.imageShape)
    throw new TypeError(`${where}: dataset '${ds.name}' has no imageShape (not an image set)`);
  return ds.imageShape;
}

function withImages(ds: Dataset, X: Float32Array, shape: readonly [number, number, number]): Dataset {
  return { ...ds, X, d: shape[0] * shape[1] * shape[2], imageShape: shape };
}

/** Scales every row of X to unit Euclidean norm (computed in float64); a zero row throws. */
export function unitNormRows(ds: Dataset): Dataset {
  checkDataset(ds, 'unitNormRows');
  const { n, d } = ds;
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let j = 0; j < d; j++) q += ds.X[i * d + j]! ** 2;
    if (q === 0) throw new RangeError(`unitNormRows: row ${i} of '${ds.name}' is zero and has no direction`);
    const inv = 1 / Math.sqrt(q);
    for (let j = 0; j < d; j++) X[i * d + j] = ds.X[i * d + j]! * inv;
  }
  return { ...ds, X };
}

/** Global input statistics fitted on a training set; `apply` maps x ↦ (x − mean) / std. */
export interface Standardizer {
  /** Mean of every entry of the training X. */
  readonly mean: number;
  /** Population standard deviation (divisor N) of every entry of the training X. */
  readonly std: number;
  /** Standardises any split with the training statistics (a new Dataset; the input is untouched). */
  apply(ds: Dataset): Dataset;
}

/**
 * Fits global standardisation on the TRAINING split only (Zhang et al. App. H.2: "global mean and
 * standard deviation computed on all the training pixels"): one scalar mean and one scalar std
 * over every entry of X, accumulated in float64. Apply the result to train and test alike.
 */
export function fitStandardize(train: Dataset): Standardizer {
  checkDataset(train, 'fitStandardize');
  const N = train.X.length;
  if (N === 0) throw new RangeError(`fitStandardize: dataset '${train.name}' is empty`);
  checkFinite(train.X, `fitStandardize: X of '${train.name}'`);
  let s = 0;
  for (let i = 0; i < N; i++) s += train.X[i]!;
  const mean = s / N;
  let v = 0;
  for (let i = 0; i < N; i++) v += (train.X[i]! - mean) ** 2;
  const std = Math.sqrt(v / N);
  if (!(std > 0)) throw new RangeError(`fitStandardize: X of '${train.name}' is constant (std 0)`);
  return {
    mean,
    std,
    apply(ds: Dataset): Dataset {
      checkDataset(ds, 'Standardizer.apply');
      if (ds.d !== train.d) {
        throw new RangeError(`Standardizer.apply: '${ds.name}' has d = ${ds.d}, fitted on d = ${train.d}`);
      }
      return { ...ds, X: ds.X.map((x) => (x - mean) / std) };
    },
  };
}

/**
 * Central h×w crop of every image. The top-left corner is (⌊(H − h)/2⌋, ⌊(W − w)/2⌋), which equals
 * torchvision's CenterCrop whenever H − h and W − w are even (e.g. 28→24, 32→28).
 */
export function centerCrop(ds: Dataset, h: number, w: number): Dataset {
  const [H, W, C] = image(ds, 'centerCrop');
  intParam(h, 'centerCrop: h', 1);
  intParam(w, 'centerCrop: w', 1);
  if (h > H || w > W) throw new RangeError(`centerCrop: crop ${h}×${w} is larger than the ${H}×${W} images`);
  const top = Math.floor((H - h) / 2);
  const left = Math.floor((W - w) / 2);
  const X = new Float32Array(ds.n * h * w * C);
  for (let i = 0; i < ds.n; i++) {
    for (let y = 0; y < h; y++) {
      const src = ((i * H + y + top) * W + left) * C;
      X.set(ds.X.subarray(src, src + w * C), (i * h + y) * w * C);
    }
  }
  return withImages(ds, X, [h, w, C]);
}

/** Interpolation of {@link resize}. */
export type ResizeMethod = 'area' | 'bilinear';

/** Per output index, the (source index, weight) pairs of a 1-D resampling from `src` to `dst`. */
function weights1d(src: number, dst: number, method: ResizeMethod): Array<Array<[number, number]>> {
  const scale = src / dst;
  const out: Array<Array<[number, number]>> = [];
  for (let o = 0; o < dst; o++) {
    const taps: Array<[number, number]> = [];
    if (method === 'area') {
      const a = o * scale;
      const b = (o + 1) * scale;
      for (let r = Math.floor(a); r < Math.min(src, Math.ceil(b)); r++) {
        const overlap = Math.min(b, r + 1) - Math.max(a, r);
        if (overlap > 1e-12) taps.push([r, overlap / scale]);
      }
    } else {
      const s = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
      const i0 = Math.floor(s);
      const i1 = Math.min(i0 + 1, src - 1);
      const f = s - i0;
      taps.push([i0, 1 - f]);
      if (f > 0) taps.push([i1, f]);
    }
    out.push(taps);
  }
  return out;
}

/**
 * Resizes every image to h×w. `'area'` (default): each output pixel is the exact area-weighted
 * average of the source pixels its footprint covers (box filter with fractional overlaps, like
 * OpenCV INTER_AREA / PIL BOX when shrinking; 24→8 averages 3×3 blocks). `'bilinear'`: half-pixel
 * centres (align_corners = False), edge-clamped, no antialiasing.
 */
export function resize(ds: Dataset, h: number, w: number, method: ResizeMethod = 'area'): Dataset {
  const [H, W, C] = image(ds, 'resize');
  intParam(h, 'resize: h', 1);
  intParam(w, 'resize: w', 1);
  if (method !== 'area' && method !== 'bilinear') {
    throw new RangeError(`resize: method must be 'area' or 'bilinear', got ${JSON.stringify(method)}`);
  }
  const ry = weights1d(H, h, method);
  const rx = weights1d(W, w, method);
  const X = new Float32Array(ds.n * h * w * C);
  const tmp = new Float64Array(h * W * C);
  for (let i = 0; i < ds.n; i++) {
    const base = i * H * W * C;
    tmp.fill(0);
    for (let y = 0; y < h; y++) {
      for (const [r, wy] of ry[y]!) {
        for (let t = 0; t < W * C; t++) tmp[y * W * C + t]! += wy * ds.X[base + r * W * C + t]!;
      }
    }
    const ob = i * h * w * C;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (const [col, wx] of rx[x]!) s += wx * tmp[(y * W + col) * C + c]!;
          X[ob + (y * w + x) * C + c] = s;
        }
      }
    }
  }
  return withImages(ds, X, [h, w, C]);
}

/**
 * RGB → gray with the ITU-R BT.601 luma weights Y' = 0.299 R + 0.587 G + 0.114 B (PIL's
 * convert('L') without its rounding to bytes). One-channel sets are returned unchanged.
 */
export function grayscale(ds: Dataset): Dataset {
  const [H, W, C] = image(ds, 'grayscale');
  if (C === 1) return ds;
  if (C !== 3) throw new RangeError(`grayscale: expected 1 or 3 channels, '${ds.name}' has ${C}`);
  const P = ds.n * H * W;
  const X = new Float32Array(P);
  for (let p = 0; p < P; p++)
    X[p] = 0.299 * ds.X[3 * p]! + 0.587 * ds.X[3 * p + 1]! + 0.114 * ds.X[3 * p + 2]!;
  return withImages(ds, X, [H, W, 1]);
}

/**
 * Random-crop augmentation of Zhang et al. App. H.2 (CIFAR): each image is zero-padded by `pad`
 * pixels (default 4) on every side and an H×W window is cut at a uniformly random offset
 * (dy, dx) ∈ {0, …, 2·pad}², drawn from `rng` per image (dy first).
 */
export function randomCropPad4(ds: Dataset, rng: Rng, pad = 4): Dataset {
  const [H, W, C] = image(ds, 'randomCropPad4');
  intParam(pad, 'randomCropPad4: pad', 0);
  const X = new Float32Array(ds.X.length);
  for (let i = 0; i < ds.n; i++) {
    const dy = rng.int(2 * pad + 1) - pad;
    const dx = rng.int(2 * pad + 1) - pad;
    // output (y, x) reads source (y + dy, x + dx); outside the image it is the zero padding
    for (let y = 0; y < H; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= H) continue;
      const x0 = Math.max(0, -dx);
      const x1 = Math.min(W, W - dx);
      if (x1 <= x0) continue;
      const src = ((i * H + sy) * W + x0 + dx) * C;
      X.set(ds.X.subarray(src, src + (x1 - x0) * C), ((i * H + y) * W + x0) * C);
    }
  }
  return { ...ds, X };
}

/** Mirrors each image left–right with probability p (default 0.5), one `rng.uniform()` per image. */
export function horizontalFlip(ds: Dataset, rng: Rng, p = 0.5): Dataset {
  const [H, W, C] = image(ds, 'horizontalFlip');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`horizontalFlip: p must be in [0, 1], got ${p}`);
  const X = ds.X.slice();
  for (let i = 0; i < ds.n; i++) {
    if (!(rng.uniform() < p)) continue;
    for (let y = 0; y < H; y++) {
      const row = (i * H + y) * W;
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < C; c++) X[(row + x) * C + c] = ds.X[(row + W - 1 - x) * C + c]!;
      }
    }
  }
  return { ...ds, X };
}

/** The samples at `indices` (in that order; repeats allowed), as a new Dataset. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  checkDataset(ds, 'subset');
  const { d, k } = ds;
  const m = indices.length;
  const X = new Float32Array(m * d);
  const Y = new Float32Array(m * k);
  const labels = ds.labels ? new Int32Array(m) : undefined;
  for (let t = 0; t < m; t++) {
    const i = indices[t]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) {
      throw new RangeError(`subset: index ${i} at position ${t} is outside [0, ${ds.n}) of '${ds.name}'`);
    }
    X.set(ds.X.subarray(i * d, i * d + d), t * d);
    Y.set(ds.Y.subarray(i * k, i * k + k), t * k);
    if (labels) labels[t] = ds.labels![i]!;
  }
  return { ...ds, X, Y, n: m, ...(labels ? { labels } : {}) };
}

/** The samples in a uniformly random order drawn from `rng`. */
export function shuffle(ds: Dataset, rng: Rng): Dataset {
  return subset(ds, permutation(ds.n, rng));
}

/** `count` distinct samples chosen uniformly at random (e.g. Kawaguchi et al.'s m = 10,000 subsets). */
export function randomSubset(ds: Dataset, count: number, rng: Rng): Dataset {
  intParam(count, 'randomSubset: count', 0);
  if (count > ds.n) throw new RangeError(`randomSubset: count ${count} exceeds n = ${ds.n} of '${ds.name}'`);
  return subset(ds, permutation(ds.n, rng).subarray(0, count));
}

/** Options of {@link trainTestSplit}. */
export interface SplitOptions {
  /** Fraction of samples in the test part (rounded to the nearest count). Default 0.2. */
  testFraction?: number;
  /** Shuffles before splitting when given; otherwise the last samples form the test part. */
  rng?: Rng;
}

/** Splits into disjoint train and test parts that together hold every sample once. */
export function trainTestSplit(ds: Dataset, options: SplitOptions = {}): { train: Dataset; test: Dataset } {
  checkDataset(ds, 'trainTestSplit');
  const f = options.testFraction ?? 0.2;
  if (!(f >= 0 && f <= 1)) throw new RangeError(`trainTestSplit: testFraction must be in [0, 1], got ${f}`);
  const order = options.rng ? permutation(ds.n, options.rng) : Int32Array.from({ length: ds.n }, (_, i) => i);
  const nTest = Math.round(f * ds.n);
  const nTrain = ds.n - nTest;
  return { train: subset(ds, order.subarray(0, nTrain)), test: subset(ds, order.subarray(nTrain)) };
}

/** One mini-batch of {@link batches}. */
export interface Batch {
  /** Inputs [n, d]. */
  X: Float32Array;
  /** Targets [n, k]. */
  Y: Float32Array;
  /** Number of samples in this batch. */
  n: number;
  /** Indices of the samples in the source dataset. */
  indices: Int32Array;
  /** Class indices, when the dataset has them. */
  labels?: Int32Array;
}

/** Options of {@link batches}. */
export interface BatchOptions {
  /** Drop a final batch smaller than batchSize. Default false. */
  dropLast?: boolean;
}

/**
 * One epoch of mini-batches: the samples in a random order drawn from `rng` (or in order when
 * `rng` is null), cut into consecutive batches of `batchSize`. Every sample appears exactly once,
 * except the dropped remainder when `dropLast`.
 */
export function* batches(
  ds: Dataset,
  batchSize: number,
  rng: Rng | null,
  options: BatchOptions = {},
): Generator<Batch, void, undefined> {
  checkDataset(ds, 'batches');
  intParam(batchSize, 'batches: batchSize', 1);
  const order = rng ? permutation(ds.n, rng) : Int32Array.from({ length: ds.n }, (_, i) => i);
  for (let s = 0; s < ds.n; s += batchSize) {
    const e = Math.min(ds.n, s + batchSize);
    if (options.dropLast && e - s < batchSize) return;
    const indices = order.slice(s, e);
    const b = subset(ds, indices);
    yield { X: b.X, Y: b.Y, n: b.n, indices, ...(b.labels ? { labels: b.labels } : {}) };
  }
}

/**
 * Kawaguchi, Huang & Kaelbling (2019) Sec. 4.3 MNIST preprocessing: 24×24 centre crop, then
 * area-resize to 8×8 (exact 3×3 block means), d = 64.
 */
export function kawaguchiMnist8x8(ds: Dataset): Dataset {
  return resize(centerCrop(grayscale(ds), 24, 24), 8, 8, 'area');
}

/**
 * Kawaguchi, Huang & Kaelbling (2019) Sec. 4.3 CIFAR-10 / SVHN preprocessing: 28×28 centre crop,
 * BT.601 grayscale, area-resize to 12×12, d = 144.
 */
export function kawaguchiGray12x12(ds: Dataset): Dataset {
  return resize(grayscale(centerCrop(ds, 28, 28)), 12, 12, 'area');
}
