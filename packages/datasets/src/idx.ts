import { type Dataset, checkDataset, oneHot } from './types.js';
import { fetchHint, findFile, readMaybeGzip } from './files.js';

/** Images read from an IDX file. */
export interface IdxImages {
  /** Pixels scaled to [0, 1] (byte / 255), [count, rows·cols] row-major. */
  data: Float32Array;
  /** Number of images. */
  count: number;
  /** Image height. */
  rows: number;
  /** Image width. */
  cols: number;
}

function parseIdx(file: string, where: string, dims: number): { shape: number[]; body: Buffer } {
  const buf = readMaybeGzip(file, where);
  if (buf.length < 4)
    throw new Error(`${where}: ${file} is truncated: ${buf.length} bytes, no IDX magic number`);
  if (buf[0] !== 0 || buf[1] !== 0 || buf[3] !== dims) {
    const magic = buf.readUInt32BE(0).toString(16).padStart(8, '0');
    throw new Error(
      `${where}: ${file} has magic number 0x${magic}, expected 0x0000080${dims} (IDX, ${dims}-D)`,
    );
  }
  if (buf[2] !== 0x08) {
    throw new Error(
      `${where}: ${file} has IDX data type 0x${buf[2]!.toString(16)}, only unsigned byte (0x08) is supported`,
    );
  }
  if (buf.length < 4 + 4 * dims) {
    throw new Error(`${where}: ${file} is truncated: ${buf.length} bytes, shorter than the IDX header`);
  }
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const size = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(4 + 4 * dims);
  if (body.length < size) {
    throw new Error(
      `${where}: ${file} is truncated: header [${shape.join(', ')}] needs ${size} bytes, found ${body.length}`,
    );
  }
  if (body.length > size) {
    throw new Error(
      `${where}: ${file} has ${body.length - size} bytes beyond the [${shape.join(', ')}] its header declares`,
    );
  }
  return { shape, body };
}

/**
 * Reads an IDX3 image file (MNIST / Fashion-MNIST format, raw or gzipped — detected from the
 * content, not the name). Only unsigned-byte data (magic 0x00000803). Pixels are scaled to [0, 1].
 */
export function loadIdxImages(file: string): IdxImages {
  const { shape, body } = parseIdx(file, 'loadIdxImages', 3);
  const [count, rows, cols] = shape as [number, number, number];
  const data = new Float32Array(body.length);
  for (let i = 0; i < body.length; i++) data[i] = body[i]! / 255;
  return { data, count, rows, cols };
}

/** Reads an IDX1 label file (magic 0x00000801, unsigned bytes, raw or gzipped) as class indices. */
export function loadIdxLabels(file: string): Int32Array {
  return Int32Array.from(parseIdx(file, 'loadIdxLabels', 1).body);
}

/** Options of {@link loadMnist} and {@link loadFashionMnist}. */
export interface IdxSetOptions {
  /** Directory holding the four IDX files (raw or .gz). */
  dir: string;
  /** Which split. Default 'train'. */
  split?: 'train' | 'test';
}

function loadIdxSet(
  name: string,
  classes: readonly string[],
  options: IdxSetOptions,
  where: string,
): Dataset {
  if (!options || typeof options.dir !== 'string')
    throw new TypeError(`${where}: options.dir must be a directory path`);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') {
    throw new RangeError(`${where}: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  const variants = (kind: string, idx: string) => [
    `${prefix}-${kind}-${idx}-ubyte`,
    `${prefix}-${kind}-${idx}-ubyte.gz`,
    `${prefix}-${kind}.${idx}-ubyte`,
    `${prefix}-${kind}.${idx}-ubyte.gz`,
  ];
  const hint = fetchHint(
    name,
    name === 'fashion-mnist'
      ? ` (or install Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist, read from ${FASHION_MNIST_DEBIAN_DIR})`
      : '',
  );
  const imgFile = findFile(options.dir, variants('images', 'idx3'), where, hint);
  const lblFile = findFile(options.dir, variants('labels', 'idx1'), where, hint);
  const img = loadIdxImages(imgFile);
  const labels = loadIdxLabels(lblFile);
  if (labels.length !== img.count) {
    throw new Error(
      `${where}: ${imgFile} holds ${img.count} images but ${lblFile} holds ${labels.length} labels`,
    );
  }
  const k = classes.length;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= k)
      throw new RangeError(`${where}: ${lblFile}: label ${labels[i]} at index ${i} is not in [0, ${k})`);
  }
  return checkDataset(
    {
      name: `${name}-${split}`,
      X: img.data,
      Y: oneHot(labels, k, where),
      n: img.count,
      d: img.rows * img.cols,
      k,
      labels,
      imageShape: [img.rows, img.cols, 1],
      classes,
    },
    where,
  );
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Fashion-MNIST class names, in label order. */
const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Where Debian's package `dataset-fashion-mnist` installs the Fashion-MNIST IDX files. */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * MNIST from its four IDX files in `dir` (`train-images-idx3-ubyte[.gz]`,
 * `train-labels-idx1-ubyte[.gz]`, `t10k-…`; the dotted names `train-images.idx3-ubyte` also work).
 * X is [n, 784] in [0, 1] (imageShape [28, 28, 1]), Y one-hot [n, 10]; 60,000 train / 10,000 test.
 */
export function loadMnist(options: IdxSetOptions): Dataset {
  return loadIdxSet('mnist', DIGITS, options, 'loadMnist');
}

/**
 * Fashion-MNIST from its IDX files (same names and layout as MNIST). `dir` defaults to
 * {@link FASHION_MNIST_DEBIAN_DIR} (`apt install dataset-fashion-mnist`).
 */
export function loadFashionMnist(options: Partial<IdxSetOptions> = {}): Dataset {
  const dir = options.dir ?? FASHION_MNIST_DEBIAN_DIR;
  return loadIdxSet('fashion-mnist', FASHION_CLASSES, { ...options, dir }, 'loadFashionMnist');
}
