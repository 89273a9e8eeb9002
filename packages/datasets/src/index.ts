/**
 * @narrownet/datasets — the synthetic sets of the narrow-network papers, real-data loaders and
 * small composable transforms. Every dataset is a plain {@link Dataset}: row-major Float32Array
 * X [n, d] and Y [n, k].
 * @packageDocumentation
 */
export { type Dataset, oneHot } from './types.js';
export {
  type ZhangSyntheticOptions,
  type KawaguchiTeacherOptions,
  type TeacherDataset,
  type WhiteNoiseOptions,
  type RandomLabelMode,
  type RelabelOptions,
  zhangSynthetic,
  kawaguchiTeacher,
  whiteNoise,
  randomLabels,
  relabelByTeacher,
} from './synthetic.js';
export { type MnistSampleOptions, mnistSample } from './mnist-sample.js';
export {
  type IdxImages,
  type IdxSetOptions,
  FASHION_MNIST_DEBIAN_DIR,
  loadIdxImages,
  loadIdxLabels,
  loadMnist,
  loadFashionMnist,
} from './idx.js';
export { type Cifar10Options, type Cifar100Options, loadCifar10, loadCifar100 } from './cifar.js';
export { type MatArray, type MatClass, readMat, loadMatFile } from './mat.js';
export { type SvhnOptions, loadSvhn } from './svhn.js';
export { type NpyDType, type NpyArray, type NpyDatasetOptions, loadNpy, loadNpyDataset } from './npy.js';
export { type DownloadOptions, download } from './download.js';
export {
  type SourceFile,
  type DatasetSource,
  type FetchDatasetOptions,
  DATASET_SOURCES,
  fetchDataset,
} from './fetch.js';
export { type RImageNetClass, R_IMAGENET_CLASSES, rImageNetLabel } from './rimagenet.js';
export {
  type Standardizer,
  type ResizeMethod,
  type SplitOptions,
  type Batch,
  type BatchOptions,
  unitNormRows,
  fitStandardize,
  centerCrop,
  resize,
  grayscale,
  randomCropPad4,
  horizontalFlip,
  subset,
  shuffle,
  randomSubset,
  trainTestSplit,
  batches,
  kawaguchiMnist8x8,
  kawaguchiGray12x12,
} from './transforms.js';
export { DATASET_NAMES, getDataset } from './registry.js';
