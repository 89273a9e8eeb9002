import { loadCifar10, loadCifar100 } from './cifar.js';
import { loadFashionMnist, loadMnist } from './idx.js';
import { mnistSample } from './mnist-sample.js';
import { loadNpyDataset } from './npy.js';
import { kawaguchiTeacher, whiteNoise, zhangSynthetic } from './synthetic.js';
import type { Dataset } from './types.js';

type Opts = Record<string, unknown>;

const LOADERS: Record<string, (o: Opts) => Dataset> = {
  'zhang-synthetic': (o) => zhangSynthetic(o),
  'kawaguchi-teacher': (o) => kawaguchiTeacher(o),
  'white-noise': (o) => whiteNoise(o as never),
  'mnist-sample': (o) => mnistSample(o),
  mnist: (o) => loadMnist(o as never),
  'fashion-mnist': (o) => loadFashionMnist(o),
  cifar10: (o) => loadCifar10(o as never),
  cifar100: (o) => loadCifar100(o as never),
  npy: (o) => {
    if (typeof o.x !== 'string' || typeof o.y !== 'string') {
      throw new TypeError("getDataset('npy'): options.x and options.y must be .npy file paths");
    }
    return loadNpyDataset(o.x, o.y, o);
  },
};

/** The names {@link getDataset} accepts. */
export const DATASET_NAMES: readonly string[] = Object.freeze(Object.keys(LOADERS));

/**
 * Any dataset by name, with the options of its own function: 'zhang-synthetic' (zhangSynthetic),
 * 'kawaguchi-teacher' (kawaguchiTeacher), 'white-noise' (whiteNoise), 'mnist-sample'
 * (mnistSample), 'mnist' (loadMnist), 'fashion-mnist' (loadFashionMnist), 'cifar10' (loadCifar10),
 * 'cifar100' (loadCifar100), 'npy' (loadNpyDataset with options `x` and `y` as the two paths).
 * An unknown name throws listing the valid ones.
 */
export function getDataset(name: string, options: Record<string, unknown> = {}): Dataset {
  const load = Object.hasOwn(LOADERS, name) ? LOADERS[name] : undefined;
  if (!load) {
    throw new RangeError(
      `getDataset: unknown dataset ${JSON.stringify(name)}; valid names: ${DATASET_NAMES.join(', ')}`,
    );
  }
  return load(options);
}
