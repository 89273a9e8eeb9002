import { findFile } from './files.js';
import { loadMatFile } from './mat.js';
import { type Dataset, checkDataset, oneHot } from './types.js';

/** Options of {@link loadSvhn}. */
export interface SvhnOptions {
  /** Directory holding `train_32x32.mat` / `test_32x32.mat` / `extra_32x32.mat`. */
  dir: string;
  /** Which file. Default 'train'. */
  split?: 'train' | 'test' | 'extra';
}

/**
 * SVHN cropped digits (Netzer et al. 2011, "format 2") from the MATLAB files `train_32x32.mat`,
 * `test_32x32.mat` or `extra_32x32.mat`: variable X is uint8 [32, 32, 3, N] (row, column, channel,
 * sample) and y is [N, 1] with labels 1…10, 10 standing for the digit 0. Returns X [N, 3072] HWC in
 * [0, 1] (imageShape [32, 32, 3]), Y one-hot [N, 10] with class c = digit c. Any other layout throws
 * an error naming the file.
 */
export function loadSvhn(options: SvhnOptions): Dataset {
  const where = 'loadSvhn';
  if (typeof options?.dir !== 'string') throw new TypeError(`${where}: options.dir must be a directory path`);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test' && split !== 'extra') {
    throw new RangeError(`${where}: split must be 'train', 'test' or 'extra', got ${JSON.stringify(split)}`);
  }
  const file = findFile(options.dir, [`${split}_32x32.mat`], where);
  const vars = loadMatFile(file);
  const Xv = vars.get('X');
  const yv = vars.get('y');
  if (!Xv || !yv)
    throw new Error(`${where}: ${file} must hold variables X and y, has ${[...vars.keys()].join(', ')}`);
  const d = Xv.dims;
  if (Xv.class !== 'uint8' || d.length !== 4 || d[0] !== 32 || d[1] !== 32 || d[2] !== 3) {
    throw new Error(`${where}: ${file}: X must be uint8 [32, 32, 3, N], got ${Xv.class} [${d.join(', ')}]`);
  }
  const n = d[3]!;
  if (yv.data.length !== n || yv.dims.filter((s) => s !== 1).length > 1) {
    throw new Error(`${where}: ${file}: y must be a vector of ${n} labels, got [${yv.dims.join(', ')}]`);
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = yv.data[i]!;
    if (!Number.isInteger(v) || v < 1 || v > 10) {
      throw new RangeError(`${where}: ${file}: y[${i}] = ${v}, not a label in 1…10`);
    }
    labels[i] = v % 10;
  }
  const src = Xv.data;
  const X = new Float32Array(n * 3072);
  // MATLAB column-major: element (r, c, ch, i) at r + 32c + 1024ch + 3072i.
  for (let i = 0; i < n; i++) {
    const o = i * 3072;
    for (let ch = 0; ch < 3; ch++)
      for (let c = 0; c < 32; c++)
        for (let r = 0; r < 32; r++) X[o + (r * 32 + c) * 3 + ch] = src[r + 32 * c + 1024 * ch + o]! / 255;
  }
  return checkDataset(
    {
      name: `svhn-${split}`,
      X,
      Y: oneHot(labels, 10),
      n,
      d: 3072,
      k: 10,
      labels,
      imageShape: [32, 32, 3],
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    },
    where,
  );
}
