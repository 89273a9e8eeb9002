import { resnet18 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  analyzeModel,
  hiddenJacobian,
  jacobianLambdaMin,
  kawaguchiLossDense,
  songQuantities,
  weightNorm,
} from '../src/index.js';

// A conv net is a ModelSpec, but the landscape diagnostics are defined for fully connected nets.
const net = resnet18({ classes: 2, widths: [2, 2, 2, 2], input: [1, 8, 8] });
const X = new Float64Array(2 * 64);
const Y = new Float64Array(2 * 2);

describe('landscape diagnostics reject a ResNet, naming the function and the parameter', () => {
  it.each([
    [
      'analyzeModel',
      () => analyzeModel({ spec: net, params: {}, X, Y, n: 2 }),
      /^analyzeModel: args.spec is a ResNet/,
    ],
    [
      'hiddenJacobian',
      () => hiddenJacobian(net, {}, X, 2),
      /^hiddenJacobian: spec.kind must be 'shallow' or 'paired'.*"resnet"/,
    ],
    [
      'jacobianLambdaMin',
      () => jacobianLambdaMin(net, {}, X, 2),
      /^jacobianLambdaMin: spec.kind must be 'shallow' or 'paired'.*"resnet"/,
    ],
    [
      'kawaguchiLossDense',
      () => kawaguchiLossDense(net, {}, X, Y, 2),
      /^kawaguchiLossDense: spec is a ResNet/,
    ],
    ['songQuantities', () => songQuantities(net, {}, X, 2), /^songQuantities: spec must be a 'shallow' net/],
    ['weightNorm', () => weightNorm(net, {}), /^weightNorm: spec/],
  ])('%s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
