/**
 * @narrownet/landscape — loss-landscape diagnostics of narrow nets: Jacobian spectra (Zhang et al.
 * 2021), the projection formulas of Kawaguchi, Huang and Kaelbling 2019, Kawaguchi–Huang 2019
 * rank/Lipschitz/parameter bounds, Song et al. 2021 near-isometry quantities and Hermite norms.
 * Everything is computed in float64.
 * @packageDocumentation
 */
export type { ParamsLike } from './util.js';
export {
  type SpectrumResult,
  type ZhangWidthResult,
  hiddenJacobian,
  jacobianGram,
  jacobianLambdaMin,
  featureMatrixSpectrum,
  zhangWidthCondition,
} from './zhang.js';
export { type CutoffCriterion, CUTOFF_CRITERIA } from './dense.js';
export {
  type KawaguchiOptions,
  type KawaguchiDenseOptions,
  type KawaguchiDenseResult,
  type KawaguchiMatrixFreeOptions,
  type KawaguchiMatrixFreeResult,
  type KawaguchiSumResult,
  type KawaguchiBoundResult,
  type WhiteNoisePrediction,
  kawaguchiLossDense,
  kawaguchiLossMatrixFree,
  kawaguchiShallowSum,
  kawaguchiBound,
  whiteNoisePrediction,
} from './kawaguchi.js';
export { type KawaguchiLossOptions, type KawaguchiLossResult, kawaguchiLoss } from './kawaguchiScaled.js';
export {
  type FeatureRankResult,
  type LastLayerLipschitzResult,
  type SizeBoundsResult,
  featureRankM,
  lastLayerLipschitz,
  weightNorm,
  kawaguchiHuangSizeBounds,
} from './kawaguchiHuang.js';
export {
  type GaussHermiteRule,
  type HermiteResult,
  gaussHermite,
  hermiteQ,
  hermiteCoefficients,
} from './hermite.js';
export {
  type SongQuantities,
  type SongWidthResult,
  type LazyTrainingResult,
  activationBounds,
  songQuantities,
  songWidthCondition,
  lazyTrainingDistance,
} from './song.js';
export { type AnalyzeLimits, analyzeModel } from './analyze.js';
