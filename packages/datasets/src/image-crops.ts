import { type Rng, createRng } from '@narrownet/models';
import { type ImageSet, imagePixels, roundHalfEven } from './imagefolder.js';

/** Global statistics of the pixels of an {@link ImageSet}, in [0, 1] units (pixel / 255). */
export interface PixelStats {
  /** Mean of every byte / 255 over the images (all pixels, all channels). */
  readonly mean: number;
  /** Population standard deviation (divisor N) of every byte / 255. */
  readonly std: number;
}

/**
 * The global mean and std of the training pixels (Zhang et al. App. H.2: "global mean and
 * standard deviation computed on all the training pixels"), over every byte of the images
 * `indices` (default all; repeats count twice) as stored — for a set decoded at 256×256 that is
 * the whole 256×256 image, not a crop. One pass over the 8-bit pixels into a 256-bin histogram,
 * no float copy; mean and variance from the histogram in float64, exact up to the final rounding.
 * The same values as `fitStandardize` of the rows /255. Throws when the pixels are constant.
 */
export function imagePixelStats(set: ImageSet, indices?: ArrayLike<number>): PixelStats {
  const where = `imagePixelStats(${set.name})`;
  const count = indices ? indices.length : set.n;
  if (count === 0) throw new RangeError(`${where}: no images`);
  const hist = new Float64Array(256);
  const local = new Uint32Array(256);
  for (let r = 0; r < count; r++) {
    const px = imagePixels(set, indices ? indices[r]! : r);
    local.fill(0);
    for (let j = 0; j < px.length; j++) local[px[j]!]!++;
    for (let v = 0; v < 256; v++) hist[v]! += local[v]!;
  }
  let N = 0;
  let sum = 0;
  for (let v = 0; v < 256; v++) {
    N += hist[v]!;
    sum += v * hist[v]!;
  }
  const mean = sum / N / 255;
  let q = 0;
  for (let v = 0; v < 256; v++) q += hist[v]! * (v / 255 - mean) ** 2;
  const std = Math.sqrt(q / N);
  if (!(std > 0)) throw new RangeError(`${where}: the pixels are constant (std 0)`);
  return { mean, std };
}

/** Crop and standardisation of {@link imageCrops}. */
export interface ImageCropRowsOptions {
  /** Side of the square crop (≤ the set's `size`; 224 for R-ImageNet). */
  readonly size: number;
  /** Mean and std (pixel / 255 units, e.g. {@link imagePixelStats}): a row entry is (p/255 − mean)/std. */
  readonly mean: number;
  readonly std: number;
  /**
   * Random crops: per image, in order, `rng.int(S − size + 1)` (top), `rng.int(S − size + 1)`
   * (left) and `rng.uniform() < 0.5` (mirror left–right). Absent: the centre crop.
   */
  readonly rng?: Rng;
}

function checkCrop(set: ImageSet, o: ImageCropRowsOptions, where: string): void {
  if (!Number.isInteger(o.size) || o.size < 1 || o.size > set.size)
    throw new RangeError(
      `${where}: size must be an integer in [1, ${set.size}] (the images' side), got ${o.size}`,
    );
  if (!Number.isFinite(o.mean)) throw new RangeError(`${where}: mean must be finite, got ${o.mean}`);
  if (!(o.std > 0 && Number.isFinite(o.std)))
    throw new RangeError(`${where}: std must be finite and > 0, got ${o.std}`);
}

/**
 * Standardised float32 NCHW rows [indices.length, 3·size·size] of images `indices` of an 8-bit
 * {@link ImageSet} of side S ≥ size, cropped to `size`×`size`: with `rng` a window at a uniform
 * position and a horizontal flip with p = 0.5 (torchvision's `RandomCrop(size)` +
 * `RandomHorizontalFlip()`), without it the centre window (torchvision's `CenterCrop(size)`
 * offsets). Each entry is (p/255 − mean)/std rounded once to float32. Only the rows asked for are
 * made: a batch of 256 crops of 224×224 is 147 MiB of float32 whatever the set's size.
 */
export function imageCrops(
  set: ImageSet,
  indices: ArrayLike<number>,
  options: ImageCropRowsOptions,
): Float32Array {
  const where = `imageCrops(${set.name})`;
  checkCrop(set, options, where);
  const { size, rng } = options;
  const S = set.size;
  const plane = size * size;
  const d = 3 * plane;
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = (v / 255 - options.mean) / options.std;
  const out = new Float32Array(indices.length * d);
  const centre = roundHalfEven((S - size) / 2);
  for (let r = 0; r < indices.length; r++) {
    const px = imagePixels(set, indices[r]!);
    const top = rng ? rng.int(S - size + 1) : centre;
    const left = rng ? rng.int(S - size + 1) : centre;
    const flip = rng ? rng.uniform() < 0.5 : false;
    const step = flip ? -3 : 3;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++) {
        let src = ((top + y) * S + left + (flip ? size - 1 : 0)) * 3 + c;
        let o = r * d + c * plane + y * size;
        const end = o + size;
        for (; o < end; o++, src += step) out[o] = lut[px[src]!]!;
      }
  }
  return out;
}

/** Which optimizer step a batch is for (structurally @narrownet/regime's `BatchContext`). */
export interface ImageBatchContext {
  readonly seed: number;
  readonly epoch: number;
  readonly step: number;
}

/** Rows of an image set for a trainer (structurally @narrownet/regime's `RowSource`). */
export interface ImageRowSource {
  /** Number of rows. */
  readonly n: number;
  /** Entries per row: 3·size·size. */
  readonly d: number;
  /** Rows `indices` (of 0..n−1): training crops of `batch`, or centre crops without it. */
  rows(indices: ArrayLike<number>, batch?: ImageBatchContext): Float32Array;
}

/** Options of {@link imageCropSource}. */
export interface ImageCropSourceOptions {
  /** Side of the crop (224 for R-ImageNet). */
  readonly size: number;
  /** Standardisation (e.g. {@link imagePixelStats} of the training images). */
  readonly mean: number;
  readonly std: number;
  /** Random crop + flip for training batches (true), or centre crops for them too (false). */
  readonly augment: boolean;
  /** Row j of the source is image `images[j]` of the set. Default: every image, in order. */
  readonly images?: ArrayLike<number>;
}

/**
 * A row source over an 8-bit {@link ImageSet} (pass it as `data.rows` of @narrownet/regime's
 * trainers): the set stays 8-bit, and each call crops and standardises only the rows asked for
 * ({@link imageCrops}).
 *
 * - Training batch (`rows(indices, { seed, epoch, step })`, with `augment`): Zhang et al.'s
 *   R-ImageNet images are "randomly cropped during training" (App. H.2) with no more said. This is
 *   a FIXED-SCALE random crop: a `size`×`size` window at a uniform position of the stored S×S
 *   image (for R-ImageNet S = 256: the image resized to shorter side 256 and centre-cropped to
 *   256×256 when loaded, so `RandomCrop(224)` of `Resize(256)` + `CenterCrop(256)`), mirrored
 *   left–right with p = 0.5 — the classic ResNet/AlexNet ImageNet augmentation. torchvision's
 *   `RandomResizedCrop(224)` (a random 8–100 % area and 3/4–4/3 aspect ratio of the original
 *   image, resized to 224; PyTorch's ImageNet example) is the common alternative; it needs the
 *   original image each batch (a decode per batch), which this in-memory source does not do. The
 *   draws come from `createRng(seed).fork('crop/epoch<e>/step<t>')`: a function of (seed, epoch,
 *   step) and the indices only, so a resumed run sees the same crops.
 * - Evaluation rows (`rows(indices)`, or a training batch without `augment`): the centre crop
 *   (for R-ImageNet `Resize(256)` + `CenterCrop(224)`, "center-cropped during testing").
 */
export function imageCropSource(set: ImageSet, options: ImageCropSourceOptions): ImageRowSource {
  const where = `imageCropSource(${set.name})`;
  checkCrop(set, options, where);
  if (typeof options.augment !== 'boolean')
    throw new RangeError(`${where}: augment must be true or false, got ${JSON.stringify(options.augment)}`);
  const images = options.images ? Int32Array.from(options.images) : undefined;
  if (images)
    for (const i of images)
      if (!(i >= 0 && i < set.n))
        throw new RangeError(`${where}: images holds ${i}, outside 0..${set.n - 1}`);
  const n = images ? images.length : set.n;
  const { size, mean, std, augment } = options;
  return {
    n,
    d: 3 * size * size,
    rows(indices, batch) {
      const at = new Int32Array(indices.length);
      for (let r = 0; r < indices.length; r++) {
        const j = indices[r]!;
        if (!Number.isInteger(j) || j < 0 || j >= n)
          throw new RangeError(`${where}.rows: index ${j} is outside 0..${n - 1}`);
        at[r] = images ? images[j]! : j;
      }
      const rng =
        batch && augment
          ? createRng(batch.seed).fork(`crop/epoch${batch.epoch}/step${batch.step}`)
          : undefined;
      return imageCrops(set, at, { size, mean, std, ...(rng ? { rng } : {}) });
    },
  };
}
