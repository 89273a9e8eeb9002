import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import {
  type ModelSpec,
  OnnxGraph,
  buildLossGradModel,
  forward64,
  forwardTf,
  hiddenLayerCount,
  inputDim,
  lossAndGrad64,
  lowerModelOnnx,
  outputDim,
  paramCount,
  paramShapes,
  resnet18,
  resnetParamShapes,
  validateSpec,
} from '../src/index.js';

const net: ModelSpec = resnet18({ classes: 10, widths: [4, 8, 8, 8], input: [3, 16, 16] });

describe('ResNetSpec is a ModelSpec', () => {
  it('validateSpec, paramShapes, paramCount, inputDim and outputDim read the conv net', () => {
    expect(validateSpec(net)).toBe(net);
    expect(paramShapes(net)).toEqual(resnetParamShapes(net as Extract<ModelSpec, { kind: 'resnet' }>));
    expect(inputDim(net)).toBe(3 * 16 * 16);
    expect(outputDim(net)).toBe(10);
    // PyTorch's count for ResNet-18 with these widths on 10 classes
    const full = resnet18({ classes: 10 });
    expect(paramCount(full)).toBe(11_173_962);
  });

  it('validateSpec names the bad field of a conv net', () => {
    expect(() => validateSpec({ ...net, classes: 0 } as ModelSpec)).toThrow(
      /classes must be a positive integer/,
    );
  });

  it('the MLP-only functions reject a conv net naming the function and its parameter', () => {
    const X = new Float32Array(3 * 16 * 16);
    const Y = new Float32Array(10);
    const msg = (fn: string) => new RegExp(`^${fn}: spec.* is a ResNet \\(kind 'resnet'\\)`);
    expect(() => forward64(net, {}, X, 1)).toThrow(msg('forward64'));
    expect(() => lossAndGrad64(net, {}, X, Y, 1)).toThrow(msg('lossAndGrad64'));
    expect(() => hiddenLayerCount(net)).toThrow(msg('hiddenLayerCount'));
    expect(() => buildLossGradModel(net, 'halfSse')).toThrow(msg('buildLossGradModel'));
    const g = new OnnxGraph('t');
    expect(() => lowerModelOnnx(g, net, { X: 'X', Y: 'Y', params: {} }, 'halfSse')).toThrow(
      msg('lowerModelOnnx'),
    );
    expect(() => forwardTf(net, {}, tf.zeros([1, 768]))).toThrow(msg('forwardTf'));
  });
});
