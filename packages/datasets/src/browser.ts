/**
 * @narrownet/datasets — the synthetic sets of the narrow-network papers and small composable
 * transforms: the browser entry (the `browser` export condition), everything that reads no
 * file. Every dataset is a plain {@link Dataset}: row-major Float32Array X [n, d] and Y [n, k].
 * @packageDocumentation
 */
export { type Dataset, type RoundedArray, oneHot } from './types.js';
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
