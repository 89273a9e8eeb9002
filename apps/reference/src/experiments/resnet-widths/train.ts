import { existsSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import {
  DATASET_SOURCES,
  type Dataset,
  FASHION_MNIST_DEBIAN_DIR,
  fetchDataset,
  fitStandardize,
  imageCropSource,
  imagePixelStats,
  listRImageNet,
  loadCifar10,
  loadCifar100,
  loadFashionMnist,
  loadImageFiles,
  oneHot,
  subset,
} from '@narrownet/datasets';
import { type ResNetSpec, resnet18 } from '@narrownet/models';
import { stepsPerEpoch } from '@narrownet/optim';
import { type RegimeSpec, type RowSource, createOnnxResNetTrainer, resnetOptimizer } from '@narrownet/regime';
import {
  CLASSIFICATION_LOSS,
  type ClassificationFields,
  scheduleOf,
  trainClassificationRun,
} from '../../classification.js';
import { UsageError } from '../../options.js';
import type { RunPlan, SweepRecord, UnitContext } from '../../sweep/experiment.js';
import type { ResNetArm, ResNetWidthsSettings } from './settings.js';

/** One run: an arm, a final-stage width, a radius ε (Alg. 2 only) and a seed. */
export interface ResNetKey {
  arm: ResNetArm;
  width: number;
  /** ε of Alg. 2's ball on the final block; null for regular training. */
  radius: number | null;
  seed: number;
}

/** `regular/w64/s0`, `alg2/w64/eps0.1/s0`. */
export function resnetRunId(k: ResNetKey): string {
  return `${k.arm}/w${k.width}${k.radius === null ? '' : `/eps${k.radius}`}/s${k.seed}`;
}

/** The stored record of one run (accuracies and losses: softmax cross-entropy at the final epoch). */
export interface ResNetRecord
  extends SweepRecord,
    ResNetKey,
    Omit<ClassificationFields, 'status' | 'engine' | 'wallMs' | 'finishedAt'> {
  n: number;
  nTest: number;
  epochs: number;
}

/** Every run: widths ascending, then regular training, then Alg. 2 per radius, each seed. */
export function resnetRuns(s: ResNetWidthsSettings): RunPlan<ResNetKey>[] {
  const out: RunPlan<ResNetKey>[] = [];
  for (const width of s.widths)
    for (const arm of s.arms)
      for (const radius of arm === 'alg2' ? s.radii : [null])
        for (const seed of s.seeds) {
          const key: ResNetKey = { arm, width, radius, seed };
          // ∝ the epochs' samples times the net's size (the trunk dominates at narrow final widths)
          const size = s.trunkWidths.reduce((a, w) => a + w * w, 0) + width * width;
          // the ImageNet stem divides the side by 4 before the stages; the CIFAR one works at 32×32
          const area = s.data === 'rimagenet' ? (s.imageSize / 4) ** 2 / 1024 : 1;
          out.push({ id: resnetRunId(key), key, cost: s.epochs * s.trainN * size * area * 1e-9 });
        }
  return out;
}

/** The CIFAR set of the settings as `fetchDataset` names it, or undefined for Fashion-MNIST. */
function cifarSource(s: ResNetWidthsSettings): 'cifar10' | 'cifar100' | undefined {
  return s.data === 'cifar10' || s.data === 'cifar100' ? s.data : undefined;
}

/** Where the files of the settings' set are: `<dataDir>/<fetchDataset's folder>` or `dataDir` itself. */
function dataFolder(s: ResNetWidthsSettings): string | undefined {
  const source = cifarSource(s);
  if (!source) return s.dataDir || FASHION_MNIST_DEBIAN_DIR;
  if (!s.dataDir) return undefined;
  const marker = source === 'cifar10' ? 'data_batch_1.bin' : 'train.bin';
  for (const dir of [join(s.dataDir, DATASET_SOURCES[source].dir), s.dataDir])
    if (existsSync(join(dir, marker)) || existsSync(join(dir, `${marker}.gz`))) return dir;
  return undefined;
}

/**
 * The experiment's `prepare`: the image files are there before any run starts (Fashion-MNIST under
 * Debian's folder or `--data-dir`; CIFAR under `--data-dir`, downloaded into it with `--fetch`), or
 * a UsageError naming the flag and both ways to get them. Writes nothing else.
 */
export async function prepareResNetData(s: ResNetWidthsSettings, log: (line: string) => void): Promise<void> {
  if (s.data === 'rimagenet') return checkImageNetFolder(s);
  const source = cifarSource(s);
  if (!source) {
    const dir = dataFolder(s)!;
    if (
      !existsSync(join(dir, 'train-images-idx3-ubyte.gz')) &&
      !existsSync(join(dir, 'train-images-idx3-ubyte'))
    )
      throw new UsageError(
        `--data fashion-mnist: ${dir} does not hold Fashion-MNIST (no train-images-idx3-ubyte[.gz]); install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data-dir`,
      );
    return;
  }
  if (dataFolder(s)) return;
  if (!s.dataDir)
    throw new UsageError(
      `--data ${source}: needs --data-dir (a folder holding the binary batches, or one to download them into with --fetch)`,
    );
  if (!s.fetch)
    throw new UsageError(
      `--data ${source}: the binary batches are not under --data-dir ${s.dataDir}; add --fetch to download them there (MD5-checked), or download ${source} with datasets' fetchDataset yourself`,
    );
  log(`downloading ${source} into ${s.dataDir} …`);
  await fetchDataset(source, { root: s.dataDir });
}

/**
 * Side at which the R-ImageNet training images are decoded and held: with `augment`, the
 * torchvision `Resize` side round(imageSize · 256/224) (256 for 224), random `imageSize` crops of it
 * per batch; without, `imageSize` (the centre crop, as the test images).
 */
export function rImageNetTrainSide(s: ResNetWidthsSettings): number {
  return s.augment ? Math.round((s.imageSize * 256) / 224) : s.imageSize;
}

/**
 * Bytes the R-ImageNet splits of the settings take in memory: 8-bit RGB, `trainN` training images
 * at {@link rImageNetTrainSide} and `testN` test images at `imageSize` (paper: 247k × 256²·3 ≈
 * 45 GiB + 5,000 × 224²·3 ≈ 0.7 GiB). Floats exist only per batch (256 × 3·224² float32 = 147 MiB).
 */
export function rImageNetBytes(s: ResNetWidthsSettings): number {
  const side = rImageNetTrainSide(s);
  return 3 * (s.trainN * side * side + s.testN * s.imageSize * s.imageSize);
}

/**
 * `--data rimagenet`'s check before any run: `--imagenet-dir` names a folder with `train/` and
 * `val/`, and the 8-bit splits ({@link rImageNetBytes}) fit in 80 % of this machine's memory — or a
 * UsageError naming the flag and the folder or the sizes.
 */
function checkImageNetFolder(s: ResNetWidthsSettings): void {
  const root = s.imagenetDir;
  if (!root)
    throw new UsageError(
      '--data rimagenet: needs --imagenet-dir (the ImageNet folder holding train/<wnid>/*.JPEG and val/<wnid>/*.JPEG)',
    );
  for (const dir of [root, join(root, 'train'), join(root, 'val')])
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new UsageError(
        `--imagenet-dir: ${dir} is not a folder (the ImageNet folder must hold train/<wnid>/*.JPEG and val/<wnid>/*.JPEG)`,
      );
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  if (rImageNetBytes(s) > 0.8 * totalmem()) {
    const side = rImageNetTrainSide(s);
    throw new UsageError(
      `--train-n/--test-n/--image-size: ${s.trainN} training images of 3×${side}×${side} and ${s.testN} test images of 3×${s.imageSize}×${s.imageSize} are ${gib(rImageNetBytes(s))} GiB as 8-bit pixels, more than 80 % of this machine's ${gib(totalmem())} GiB; lower them (decoding per batch from the files is not implemented)`,
    );
  }
}

/** NCHW rows of a HWC image set, each image zero-padded (in raw pixels) to `size`×`size`. */
function toNchw(ds: Dataset, size: number, padValue: number): Float32Array {
  const [H, W, C] = ds.imageShape!;
  const top = Math.floor((size - H) / 2);
  const left = Math.floor((size - W) / 2);
  const d = C * size * size;
  const out = new Float32Array(ds.n * d).fill(padValue);
  for (let i = 0; i < ds.n; i++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < C; c++)
          out[i * d + (c * size + y + top) * size + x + left] = ds.X[((i * H + y) * W + x) * C + c]!;
  return out;
}

/**
 * One split as the trainer reads it: float rows X [n, C·H·W] (NCHW), or — R-ImageNet — X empty and
 * the rows cropped and standardised per batch from 8-bit images by `rows`.
 */
export interface ResNetSplit {
  X: Float32Array;
  Y: Float32Array;
  n: number;
  k: number;
  labels?: Int32Array;
  rows?: RowSource;
}

/** The two splits as the net reads them, with the training pixels' statistics that standardised them. */
export interface ResNetSplits {
  train: ResNetSplit;
  test: ResNetSplit;
  mean: number;
  std: number;
}

let cache: { key: string; splits: ResNetSplits; input: [number, number, number] } | undefined;

const cacheKey = (s: ResNetWidthsSettings) =>
  JSON.stringify([
    s.data,
    s.trainN,
    s.testN,
    s.dataDir ?? '',
    s.imagenetDir ?? '',
    s.imageSize,
    s.limitPerClass,
  ]);

/**
 * The two raw splits as the net reads them: standardised with the training pixels' global mean and
 * std (App. H.2), NCHW, each image zero-padded (in raw pixels: padding and a raw 0 agree) to
 * `size`×`size`.
 */
function netSplits(rawTrain: Dataset, rawTest: Dataset, size: number) {
  const st = fitStandardize(rawTrain);
  const [, , C] = rawTrain.imageShape!;
  const asNet = (ds: Dataset): Dataset => {
    const z = st.apply(ds);
    return { ...z, X: toNchw(z, size, -st.mean / st.std), d: C * size * size, imageShape: [size, size, C] };
  };
  return {
    splits: { train: asNet(rawTrain), test: asNet(rawTest), mean: st.mean, std: st.std },
    input: [C, size, size] as [number, number, number],
  };
}

/** The first `count` rows of a set (all of it when it has no more). */
const prefix = (ds: Dataset, count: number) =>
  count >= ds.n
    ? ds
    : subset(
        ds,
        Int32Array.from({ length: count }, (_, i) => i),
      );

/**
 * The first `trainN` / `testN` images of each split as 32×32 NCHW rows, standardised with the
 * training pixels' global mean and std (App. H.2). Fashion-MNIST's 28×28 images are padded with
 * the value a raw 0 (the background) standardises to, so padding and background agree; one input
 * channel. Memoized. Not R-ImageNet (decoding JPEGs is asynchronous: {@link loadResNetSplits}).
 */
export function resnetSplits(s: ResNetWidthsSettings): {
  splits: ResNetSplits;
  input: [number, number, number];
} {
  const key = cacheKey(s);
  if (cache?.key === key) return cache;
  if (s.data === 'rimagenet') throw new Error('resnetSplits: R-ImageNet loads with loadResNetSplits');
  const dir = dataFolder(s);
  if (!dir) throw new UsageError(`--data ${s.data}: no files under --data-dir (run with --fetch)`);
  const load = (split: 'train' | 'test') =>
    s.data === 'fashion-mnist'
      ? loadFashionMnist({ dir, split })
      : s.data === 'cifar10'
        ? loadCifar10({ dir, split })
        : loadCifar100({ dir, split });
  const rawTrain = prefix(load('train'), s.trainN);
  const rawTest = prefix(load('test'), s.testN);
  if (rawTrain.n < s.trainN || rawTest.n < s.testN)
    throw new UsageError(`--train-n/--test-n: ${s.data} has ${rawTrain.n} / ${rawTest.n} samples`);
  cache = { key, ...netSplits(rawTrain, rawTest, 32) };
  return cache;
}

/**
 * The indices of a labelled set with the classes taken in turn (the first image of every class,
 * then the second, …), so that any prefix is as class-balanced as the set allows.
 */
export function classInterleaved(labels: ArrayLike<number>, k: number): Int32Array {
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const out: number[] = [];
  for (let r = 0; out.length < labels.length; r++)
    for (const rows of byClass) if (r < rows.length) out.push(rows[r]!);
  return Int32Array.from(out);
}

/**
 * {@link resnetSplits}, and for R-ImageNet: `train/` (training) and `val/` (test) of
 * `--imagenet-dir` (`listRImageNet`, at most `limitPerClass` per class), of which only the first
 * `trainN` / `testN` in class-interleaved order are decoded (`loadImageFiles`) and held as 8-bit
 * pixels: training images at {@link rImageNetTrainSide} (256 for 224), test images resized and
 * centre-cropped to `imageSize`. The rows are made per batch by `imageCropSource`: a seeded
 * fixed-scale random `imageSize` crop + horizontal flip for training batches (with `augment`;
 * App. H.2 "randomly cropped during training"), the centre crop for evaluation and testing
 * ("center-cropped during testing"), standardised with the global mean and std of the held
 * training pixels (`imagePixelStats`, App. H.2). Memoized.
 */
export async function loadResNetSplits(
  s: ResNetWidthsSettings,
): Promise<{ splits: ResNetSplits; input: [number, number, number] }> {
  if (s.data !== 'rimagenet') return resnetSplits(s);
  const key = cacheKey(s);
  if (cache?.key === key) return cache;
  const load = async (split: 'train' | 'val', count: number, side: number) => {
    const listing = listRImageNet({
      root: s.imagenetDir!,
      split,
      ...(s.limitPerClass !== undefined ? { limitPerClass: s.limitPerClass } : {}),
    });
    if (listing.files.length < count)
      throw new UsageError(
        `--${split === 'train' ? 'train-n' : 'test-n'}: the R-ImageNet ${split} split of ${s.imagenetDir} has ${listing.files.length} images${s.limitPerClass ? ` (at most ${s.limitPerClass} per class)` : ''}, fewer than ${count}`,
      );
    const pick = classInterleaved(listing.labels, listing.classes.length).subarray(0, count);
    return loadImageFiles(
      {
        files: Array.from(pick, (i) => listing.files[i]!),
        labels: Int32Array.from(pick, (i) => listing.labels[i]!),
        classes: listing.classes,
      },
      {
        name: `r-imagenet-${split}`,
        size: side,
        // at imageSize: decodeImage's default resize, round(size·256/224) (torchvision's Resize(256) for 224)
        ...(side === s.imageSize ? {} : { resize: side }),
      },
    );
  };
  const trainSet = await load('train', s.trainN, rImageNetTrainSide(s));
  const testSet = await load('val', s.testN, s.imageSize);
  const { mean, std } = imagePixelStats(trainSet);
  const crops = { size: s.imageSize, mean, std };
  const k = trainSet.classes.length;
  const split = (set: typeof trainSet, augment: boolean): ResNetSplit => ({
    X: new Float32Array(0),
    Y: oneHot(set.labels, k),
    n: set.n,
    k,
    labels: set.labels,
    rows: imageCropSource(set, { ...crops, augment }),
  });
  cache = {
    key,
    splits: { train: split(trainSet, s.augment), test: split(testSet, false), mean, std },
    input: [3, s.imageSize, s.imageSize],
  };
  return cache;
}

/** The ResNet-18 of a run: trunk widths, final width, the paired head for Alg. 2. */
export function resnetSpecOf(
  s: ResNetWidthsSettings,
  k: ResNetKey,
  input: [number, number, number],
  classes: number,
): ResNetSpec {
  const [w1, w2, w3] = s.trunkWidths as [number, number, number];
  const layout = s.data === 'rimagenet' ? 'imagenet' : 'cifar';
  const net = resnet18({ classes, input, layout, widths: [w1, w2, w3, k.width] });
  return k.arm === 'alg2' ? { ...net, head: 'paired' } : net;
}

/**
 * The regime of a run. Both arms: ResNet-18 (CIFAR layout), softmax cross-entropy, SGD (lr,
 * momentum, weight decay of the settings) with cosine annealing over the epochs (T_max = epochs,
 * stepped per epoch) or ×0.1 at the milestone epochs (`schedule`); the ImageNet layout of
 * ResNet-18 (7×7/2 stem + 3×3/2 max-pool) on R-ImageNet, the CIFAR one otherwise. `regular`: LeCun init, linear head, no projection. `alg2`: the paired head,
 * mirrored LeCun on the final stage (output exactly 0 at init), ‖W₄ − W₄⁰‖_F ≤ ε jointly over the
 * final stage, the head per class row as `vConstraint` says (`resnetOptimizer`).
 */
export function resnetRegime(
  s: ResNetWidthsSettings,
  k: ResNetKey,
  input: [number, number, number],
  classes: number,
): RegimeSpec {
  const spec = resnetSpecOf(s, k, input, classes);
  const perEpoch = stepsPerEpoch(s.trainN, s.batchSize);
  const schedule =
    s.schedule === 'cosine'
      ? ({ kind: 'cosine' } as const)
      : ({ kind: 'multistep', milestones: s.milestones, gamma: 0.1 } as const);
  const optimizer = resnetOptimizer(spec, {
    lr: s.lr,
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    schedule: scheduleOf(schedule, s.epochs, perEpoch),
    ...(k.arm === 'alg2'
      ? { radius: k.radius!, vConstraint: s.vConstraint, zeta: s.zeta, kappa: s.kappa }
      : {}),
  });
  const alg2 = k.arm === 'alg2';
  return {
    name: alg2 ? 'zhang2021-resnet' : 'regular-resnet',
    description: alg2
      ? `Zhang et al. 2021 Alg. 2 on the final block of ResNet-18: mirrored init, ‖W₄ − W₄⁰‖_F ≤ ${k.radius}, paired head`
      : `Regular training of ResNet-18: LeCun init, SGD with momentum and weight decay, ${s.schedule === 'cosine' ? 'cosine' : `×0.1 at epochs ${s.milestones.join(', ')}`}`,
    model: spec,
    init: alg2 ? { kind: 'mirroredLecun', absOuter: s.vConstraint !== 'none' } : { kind: 'lecun' },
    loss: CLASSIFICATION_LOSS,
    optimizer,
    stopping: { maxSteps: s.epochs * perEpoch },
  };
}

/** The fields of a record that depend only on the run and the settings. */
export function baseResNetRecord(s: ResNetWidthsSettings, k: ResNetKey) {
  return { id: resnetRunId(k), ...k, n: s.trainN, nTest: s.testN, epochs: s.epochs };
}

/** Trains one run on onnxruntime (`createOnnxResNetTrainer`) and makes its record; undefined when aborted. */
export async function trainResNetRun(
  plan: RunPlan<ResNetKey>,
  ctx: UnitContext<ResNetWidthsSettings, ResNetRecord>,
): Promise<ResNetRecord[] | undefined> {
  const s = ctx.settings;
  const engine = ctx.engine.runtime;
  if (engine?.kind !== 'onnx')
    throw new UsageError(
      `--engine: resnet-widths trains on onnxruntime (createOnnxResNetTrainer), got ${engine?.kind ?? 'none'}`,
    );
  const { splits, input } = await loadResNetSplits(s);
  const regime = resnetRegime(s, plan.key, input, splits.train.k);
  const fields = await trainClassificationRun(plan, ctx, {
    regime,
    splits,
    epochs: s.epochs,
    batchSize: s.batchSize,
    evalEveryEpochs: s.evalEveryEpochs,
    seed: plan.key.seed,
    // streamed R-ImageNet rows are made a batch at a time (4096 crops of 224² would be 2.3 GiB)
    ...(s.data === 'rimagenet' ? { evalChunkRows: s.batchSize } : {}),
    // R-ImageNet's rows are cropped (and flipped) by their row source; the pad-4 crop is CIFAR's
    createTrainer: (c) =>
      createOnnxResNetTrainer(engine, c, { augment: s.augment && s.data !== 'rimagenet' }),
  });
  return fields && [{ ...baseResNetRecord(s, plan.key), ...fields }];
}
