/**
 * @narrownet/init — initialization schemes: variance scaling (LeCun, He, Glorot), mirrored
 * LeCun (Zhang et al. 2021, Alg. 1), the ω-ratio family of Song et al. 2021 and the Gaussian
 * init of Kawaguchi & Huang 2019; LeCun and final-stage-mirrored LeCun for conv nets.
 * @packageDocumentation
 */
export { type InitSpec, initParams, songRatioOf, validateInit } from './init.js';
export { type ResNetInit, type ResNetInitOptions, initResNet } from './resnet.js';
export {
  type Distribution,
  type FanMode,
  type VarianceScalingOptions,
  TRUNCATED_NORMAL_STD,
  fans,
  varianceScaling,
} from './variance.js';
