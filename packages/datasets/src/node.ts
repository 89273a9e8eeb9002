/**
 * @narrownet/datasets/node — the loaders that read or download files (IDX, CIFAR, .npy, the
 * shipped MNIST sample, the dataset registry), for Node. The package index re-exports them.
 * @packageDocumentation
 */
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
export { type NpyDType, type NpyArray, type NpyDatasetOptions, loadNpy, loadNpyDataset } from './npy.js';
export { type DownloadOptions, download } from './download.js';
export {
  type SourceFile,
  type DatasetSource,
  type FetchDatasetOptions,
  DATASET_SOURCES,
  fetchDataset,
  fetchSource,
} from './fetch.js';
export { DATASET_NAMES, getDataset } from './registry.js';
export { type MatArray, type MatClass, readMat, loadMatFile } from './mat.js';
export { type SvhnOptions, loadSvhn } from './svhn.js';
export {
  type ImageCropOptions,
  type ImageFolderOptions,
  type ImageFolderListing,
  type ImageFilesOptions,
  type ImageSet,
  type RImageNetOptions,
  decodeImage,
  listImageFolder,
  loadImageFolder,
  imagePixels,
  imageSetRows,
  listRImageNet,
  loadImageFiles,
  loadRImageNet,
} from './imagefolder.js';
export {
  type PixelStats,
  type ImageCropRowsOptions,
  type ImageBatchContext,
  type ImageRowSource,
  type ImageCropSourceOptions,
  imagePixelStats,
  imageCrops,
  imageCropSource,
} from './image-crops.js';
