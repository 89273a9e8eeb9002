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
