export { lossAndGrad64 as lossAndGradCheck } from '@narrownet/models';
export {
  activationBounds,
  gaussHermite,
  hermiteCoefficients,
  lazyTrainingDistance,
  songQuantities,
  songWidthCondition,
} from '../src/index.js';
