import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { R_IMAGENET_CLASSES, rImageNetLabel } from './rimagenet.js';
import { type Dataset, checkDataset, oneHot } from './types.js';

/**
 * Resizing and cropping of {@link decodeImage}: the torchvision evaluation transform
 * `Resize(resize)` (shorter side to `resize`, the longer one ⌊resize·long/short⌋, bilinear with
 * antialiasing) then `CenterCrop(size)`.
 */
export interface ImageCropOptions {
  /** Side of the square crop. Default 224 (Zhang et al.'s R-ImageNet resolution). */
  readonly size?: number;
  /** Shorter side after resizing, before the crop (≥ size). Default round(size · 256/224): 256 for 224. */
  readonly resize?: number;
}

/** Options of {@link listImageFolder} and {@link loadImageFolder}. */
export interface ImageFolderOptions extends ImageCropOptions {
  /** Folder holding one sub-folder per class (e.g. `<imagenet>/train`). */
  readonly dir: string;
  /**
   * The classes in label order: entry i is the sub-folder (or the list of sub-folders, merged)
   * whose images get label i. Default: every sub-folder of `dir`, sorted (torchvision's
   * ImageFolder order).
   */
  readonly classes?: readonly (string | readonly string[])[];
  /** Class names (length = number of classes). Default: the folder names, joined by '+'. */
  readonly classNames?: readonly string[];
  /**
   * At most this many images per class: the first ones in file-name order, taken in turn from
   * the class's folders when it merges several. Default: all.
   */
  readonly limitPerClass?: number;
  /** Name of the set. Default: the folder's path. */
  readonly name?: string;
  /**
   * Images per pixel shard of the {@link ImageSet}. Default: as many as fit in 2 GiB (Node's
   * typed arrays hold at most 4 GiB).
   */
  readonly shardImages?: number;
}

/** The files of an image folder with their labels: see {@link listImageFolder}. */
export interface ImageFolderListing {
  readonly files: readonly string[];
  /** Label per file (index into `classes`). */
  readonly labels: Int32Array;
  readonly classes: readonly string[];
}

/**
 * A set of decoded images held compactly: 8-bit RGB, `size`×`size`, HWC per image, 3 bytes per
 * pixel (a 224×224 image is 147 KiB; as float32 it would be 588 KiB). {@link imageSetRows} turns
 * the rows a step needs into a float32 {@link Dataset}; `imageCrops` / `imageCropSource` crop and
 * standardise them per batch. The pixels are held in shards: Node's typed arrays hold at most
 * 4 GiB each, and R-ImageNet's training split at 256×256 is ≈ 46 GiB.
 */
export interface ImageSet {
  readonly name: string;
  /** Number of images. */
  readonly n: number;
  /** Side of every image. */
  readonly size: number;
  /**
   * The pixels [n, size, size, 3] row-major (HWC per image), values 0…255, cut into shards of
   * `shardImages` images each (the last one may hold fewer); image i is {@link imagePixels}(set, i).
   */
  readonly shards: readonly Uint8Array[];
  /** Images per shard (every shard but the last holds exactly this many). */
  readonly shardImages: number;
  /** Label per image. */
  readonly labels: Int32Array;
  /** Class names; the number of classes is `classes.length`. */
  readonly classes: readonly string[];
  /** Source file per image. */
  readonly files: readonly string[];
}

const IMAGE_FILE = /\.jpe?g$/i;

function positiveInt(value: unknown, field: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new RangeError(`${where}: ${field} must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

function cropSizes(options: ImageCropOptions, where: string): { size: number; resize: number } {
  const size = positiveInt(options.size ?? 224, 'size', where);
  const resize = positiveInt(options.resize ?? Math.round((size * 256) / 224), 'resize', where);
  if (resize < size) throw new RangeError(`${where}: resize (${resize}) must be at least size (${size})`);
  return { size, resize };
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop offsets). Internal (not in the index). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function subfolders(dir: string, where: string): string[] {
  if (!isDir(dir)) throw new Error(`${where}: folder ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * PIL's CMYK → RGB (`Image.convert('RGB')`, which torchvision's loaders use):
 * channel = 255 − K − C·(255 − K)/255 with PIL's integer rounding.
 */
function cmykToRgb(cmyk: Buffer, pixels: number): Buffer {
  const out = Buffer.alloc(pixels * 3);
  const mulDiv255 = (a: number, b: number) => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - cmyk[4 * i + 3]!;
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.max(0, nk - mulDiv255(cmyk[4 * i + c]!, nk));
  }
  return out;
}

/**
 * Decodes one image file (JPEG, or anything else libvips reads) to 8-bit RGB, resizes its
 * shorter side to `resize` (bilinear, antialiased: libvips' linear kernel, without JPEG
 * shrink-on-load) and crops the centre `size`×`size` with torchvision's offsets. Grayscale images
 * are replicated to RGB and CMYK ones converted as PIL does (ImageNet has both); an embedded ICC
 * profile is ignored, as PIL (and so torchvision's loaders) ignore it. Decoding is
 * sharp's (libvips, prebuilt for each platform as npm packages). Returns [size, size, 3] HWC.
 * Throws naming the file when it cannot be decoded or has an unsupported colour space.
 */
export async function decodeImage(file: string, options: ImageCropOptions = {}): Promise<Uint8Array> {
  const where = 'decodeImage';
  const { size, resize } = cropSizes(options, where);
  let meta: Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    throw new Error(`${where}: cannot decode ${file}: ${(e as Error).message}`);
  }
  const { width, height, space, channels } = meta;
  if (!width || !height) throw new Error(`${where}: cannot decode ${file}: no image size in its header`);
  const ok =
    (space === 'srgb' && channels === 3) ||
    (space === 'b-w' && channels === 1) ||
    (space === 'cmyk' && channels === 4);
  if (!ok)
    throw new Error(
      `${where}: ${file} has colour space ${space} with ${channels} channels; expected 8-bit RGB, grayscale or CMYK`,
    );
  const [w, h] =
    width <= height
      ? [resize, Math.floor((resize * height) / width)]
      : [Math.floor((resize * width) / height), resize];
  try {
    let img: Sharp;
    if (space === 'cmyk') {
      const raw = await sharp(file, { failOn: 'error', ignoreIcc: true })
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw()
        .toBuffer();
      img = sharp(cmykToRgb(raw, width * height), { raw: { width, height, channels: 3 } });
    } else img = sharp(file, { failOn: 'error', ignoreIcc: true }).toColourspace('srgb');
    const { data, info } = await img
      .resize({ width: w, height: h, fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false })
      .extract({
        left: roundHalfEven((w - size) / 2),
        top: roundHalfEven((h - size) / 2),
        width: size,
        height: size,
      })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== size * size * 3)
      throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (e) {
    throw new Error(`${where}: cannot decode ${file}: ${(e as Error).message}`);
  }
}

/**
 * Lists the images (`*.jpeg` / `*.jpg`, any case) of a folder with one sub-folder per class,
 * with their labels, without decoding them: stream them through {@link decodeImage} when the
 * whole set does not fit in memory. Throws naming the folder when `dir` or a class folder is
 * missing or a class has no image.
 */
export function listImageFolder(options: ImageFolderOptions): ImageFolderListing {
  const where = 'listImageFolder';
  const { dir } = options;
  if (typeof dir !== 'string' || dir.length === 0)
    throw new RangeError(`${where}: dir must be a folder path`);
  if (!isDir(dir)) throw new Error(`${where}: folder ${dir} does not exist`);
  const groups = (options.classes ?? subfolders(dir, where)).map((c) =>
    typeof c === 'string' ? [c] : [...c],
  );
  if (groups.length === 0) throw new Error(`${where}: ${dir} has no class folders`);
  const classes = options.classNames ? [...options.classNames] : groups.map((g) => g.join('+'));
  if (classes.length !== groups.length)
    throw new RangeError(`${where}: classNames has ${classes.length} names for ${groups.length} classes`);
  const limit =
    options.limitPerClass === undefined
      ? Number.POSITIVE_INFINITY
      : positiveInt(options.limitPerClass, 'limitPerClass', where);
  const files: string[] = [];
  const labels: number[] = [];
  groups.forEach((folders, label) => {
    const lists = folders.map((f) => {
      const path = join(dir, f);
      if (!isDir(path)) throw new Error(`${where}: class folder ${path} does not exist`);
      const names = readdirSync(path)
        .filter((x) => IMAGE_FILE.test(x))
        .sort();
      if (names.length === 0) throw new Error(`${where}: class folder ${path} has no .jpeg/.jpg images`);
      return names.map((x) => join(path, x));
    });
    // In turn from each folder, so that a limit keeps the merged classes balanced.
    const longest = Math.max(...lists.map((l) => l.length));
    let taken = 0;
    for (let i = 0; i < longest && taken < limit; i++)
      for (const list of lists) {
        if (i >= list.length || taken >= limit) continue;
        files.push(list[i]!);
        labels.push(label);
        taken++;
      }
  });
  return { files, labels: Int32Array.from(labels), classes };
}

/**
 * Loads a folder with one sub-folder per class (the ImageNet `train/<wnid>/*.JPEG` layout) into
 * an {@link ImageSet}: every image decoded by {@link decodeImage} (resize + centre crop to
 * `size`), stored as 8-bit RGB. Errors name the folder or file.
 */
export async function loadImageFolder(options: ImageFolderOptions): Promise<ImageSet> {
  return loadImageFiles(listImageFolder(options), { ...options, name: options.name ?? options.dir });
}

/** Options of {@link loadImageFiles}. */
export interface ImageFilesOptions extends ImageCropOptions {
  /** Name of the set. */
  readonly name: string;
  /** Images per pixel shard (see {@link ImageFolderOptions.shardImages}). */
  readonly shardImages?: number;
}

/**
 * Decodes the files of a listing (e.g. a subset of {@link listImageFolder}'s or
 * {@link listRImageNet}'s, in any order) into an {@link ImageSet}, each by {@link decodeImage},
 * 4 in flight; image i is `listing.files[i]` with label `listing.labels[i]`.
 */
export async function loadImageFiles(
  listing: ImageFolderListing,
  options: ImageFilesOptions,
): Promise<ImageSet> {
  const where = 'loadImageFiles';
  const { size, resize } = cropSizes(options, where);
  const { files, labels, classes } = listing;
  if (labels.length !== files.length)
    throw new RangeError(`${where}: listing has ${files.length} files and ${labels.length} labels`);
  const stride = size * size * 3;
  const shardImages =
    options.shardImages === undefined
      ? Math.max(1, Math.floor(2 ** 31 / stride))
      : positiveInt(options.shardImages, 'shardImages', where);
  const shards: Uint8Array[] = [];
  try {
    for (let i = 0; i < files.length; i += shardImages)
      shards.push(new Uint8Array(Math.min(shardImages, files.length - i) * stride));
  } catch {
    throw new RangeError(
      `${where}: ${files.length} images of ${size}×${size}×3 bytes (${((files.length * stride) / 2 ** 30).toFixed(1)} GiB) do not fit in memory; pass limitPerClass or a smaller size, or stream listImageFolder + decodeImage`,
    );
  }
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const pixels = await decodeImage(files[i]!, { size, resize });
      shards[Math.floor(i / shardImages)]!.set(pixels, (i % shardImages) * stride);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, files.length) }, worker));
  return {
    name: options.name,
    n: files.length,
    size,
    shards,
    shardImages,
    labels,
    classes,
    files,
  };
}

/** The pixels of image `i` of a set: a [size, size, 3] HWC view into its shard (not a copy). */
export function imagePixels(set: ImageSet, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= set.n)
    throw new RangeError(`imagePixels(${set.name}): index ${i} is outside 0..${set.n - 1}`);
  const stride = set.size * set.size * 3;
  const at = (i % set.shardImages) * stride;
  return set.shards[Math.floor(i / set.shardImages)]!.subarray(at, at + stride);
}

/**
 * Rows of an {@link ImageSet} as a float32 {@link Dataset} (values in [0, 1], HWC rows with
 * `imageShape` [size, size, 3], one-hot Y): build one per mini-batch so that only the batch is
 * held as floats. `indices` default: every image.
 */
export function imageSetRows(set: ImageSet, indices?: ArrayLike<number>): Dataset {
  const where = `imageSetRows(${set.name})`;
  const rows = indices ?? Array.from({ length: set.n }, (_, i) => i);
  const d = set.size * set.size * 3;
  const X = new Float32Array(rows.length * d);
  const labels = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    if (!Number.isInteger(i) || i < 0 || i >= set.n)
      throw new RangeError(`${where}: index ${i} is outside 0..${set.n - 1}`);
    const pixels = imagePixels(set, i);
    for (let j = 0; j < d; j++) X[r * d + j] = pixels[j]! / 255;
    labels[r] = set.labels[i]!;
  }
  const k = set.classes.length;
  return checkDataset(
    {
      name: set.name,
      X,
      Y: oneHot(labels, k, where),
      n: rows.length,
      d,
      k,
      labels,
      imageShape: [set.size, set.size, 3],
      classes: set.classes,
    },
    where,
  );
}

/** Options of {@link loadRImageNet}. */
export interface RImageNetOptions extends ImageCropOptions {
  /** The ImageNet folder holding `train/<wnid>/*.JPEG` and `val/<wnid>/*.JPEG`. */
  readonly root: string;
  readonly split: 'train' | 'val';
  /** At most this many images per R-ImageNet class (taken in turn from its 5 ImageNet classes). */
  readonly limitPerClass?: number;
  /** Images per pixel shard (see {@link ImageFolderOptions.shardImages}). */
  readonly shardImages?: number;
  /**
   * The 1000 ImageNet-1k wnids in class-index order. Default: the sorted sub-folders of
   * `<root>/train`, which must then be all 1000 (the indices of Zhang et al.'s Table 2 are
   * positions in that sorted list, as in torchvision's ImageFolder).
   */
  readonly wnids?: readonly string[];
}

/**
 * Zhang et al.'s R(estricted)-ImageNet (App. H.2, Table 2) from an ImageNet folder: the 100
 * ImageNet-1k classes of {@link R_IMAGENET_CLASSES}, read from `<root>/<split>/<wnid>/`, labelled
 * with their superclass ({@link rImageNetLabel}: 20 classes), resized and centre-cropped to
 * `size` (224 in the paper: "randomly cropped during training and center-cropped during testing";
 * for random crops load a larger `size`, e.g. `{ size: 256, resize: 256 }`, and crop per batch
 * with `imageCrops` / `imageCropSource`). Other class folders are not read.
 */
export async function loadRImageNet(options: RImageNetOptions): Promise<ImageSet> {
  return loadImageFolder(rImageNetFolder(options, 'loadRImageNet'));
}

/**
 * The files and R-ImageNet labels {@link loadRImageNet} would decode, without decoding them (pick
 * a subset and decode it with {@link loadImageFiles}). Same checks and errors.
 */
export function listRImageNet(options: RImageNetOptions): ImageFolderListing {
  return listImageFolder(rImageNetFolder(options, 'listRImageNet'));
}

/** The image-folder options of an R-ImageNet split (folders grouped into the 20 classes). */
function rImageNetFolder(options: RImageNetOptions, where: string): ImageFolderOptions {
  const { root, split } = options;
  if (split !== 'train' && split !== 'val')
    throw new RangeError(`${where}: split must be 'train' or 'val', got ${JSON.stringify(split)}`);
  if (typeof root !== 'string' || !isDir(root))
    throw new Error(`${where}: ImageNet folder ${root} does not exist`);
  const wnids = options.wnids ? [...options.wnids] : subfolders(join(root, 'train'), where);
  if (wnids.length !== 1000)
    throw new RangeError(
      options.wnids
        ? `${where}: wnids must list the 1000 ImageNet-1k classes, got ${wnids.length}`
        : `${where}: ${join(root, 'train')} has ${wnids.length} class folders, not ImageNet-1k's 1000; the class indices of Zhang et al.'s Table 2 are positions among the 1000 sorted wnids: pass options.wnids`,
    );
  const groups: string[][] = R_IMAGENET_CLASSES.map(() => []);
  wnids.forEach((wnid, index) => {
    const label = rImageNetLabel(index);
    if (label >= 0) groups[label]!.push(wnid);
  });
  return {
    dir: join(root, split),
    classes: groups,
    classNames: R_IMAGENET_CLASSES.map((c) => c.name),
    name: `r-imagenet-${split}`,
    ...(options.size !== undefined ? { size: options.size } : {}),
    ...(options.resize !== undefined ? { resize: options.resize } : {}),
    ...(options.limitPerClass !== undefined ? { limitPerClass: options.limitPerClass } : {}),
    ...(options.shardImages !== undefined ? { shardImages: options.shardImages } : {}),
  };
}
