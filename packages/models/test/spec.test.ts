import { describe, expect, it } from 'vitest';
import {
  type ModelSpec,
  hiddenLayerCount,
  inputDim,
  outputDim,
  paramCount,
  paramShapes,
  validateSpec,
} from '../src/index.js';

describe('validateSpec names the offending field', () => {
  const bad: [string, unknown, RegExp][] = [
    [
      'odd paired width',
      { kind: 'paired', inputDim: 3, width: 5, activation: 'tanh' },
      /width of a paired net must be even/,
    ],
    [
      'zero width',
      { kind: 'shallow', inputDim: 3, width: 0, activation: 'tanh' },
      /width must be a positive integer, got 0/,
    ],
    [
      'fractional inputDim',
      { kind: 'shallow', inputDim: 2.5, width: 4, activation: 'tanh' },
      /inputDim must be/,
    ],
    [
      'missing inputDim',
      { kind: 'paired', width: 4, activation: 'tanh' },
      /inputDim must be a positive integer/,
    ],
    ['short layers', { kind: 'mlp', layers: [3], activation: 'relu' }, /layers must list at least/],
    [
      'bad layer',
      { kind: 'mlp', layers: [3, -1, 2], activation: 'relu' },
      /layers\[1\] must be a positive integer/,
    ],
    [
      'pairedMlp without a hidden layer',
      { kind: 'pairedMlp', layers: [3, 2], activation: 'relu' },
      /pairedMlp must list \[inputDim, m_1, …, m_H, outputDim\] with H ≥ 1/,
    ],
    [
      'odd last hidden width of a pairedMlp',
      { kind: 'pairedMlp', layers: [3, 4, 5, 2], activation: 'relu' },
      /layers\[2\] \(the last hidden width\) of a pairedMlp must be even/,
    ],
    [
      'bad pairedMlp layer',
      { kind: 'pairedMlp', layers: [3, 0, 4, 2], activation: 'relu' },
      /layers\[1\] must be a positive integer/,
    ],
    ['unknown kind', { kind: 'cnn', activation: 'relu' }, /unknown kind "cnn"/],
    [
      'unknown activation',
      { kind: 'shallow', inputDim: 1, width: 1, activation: 'swish' },
      /unknown activation/,
    ],
    ['not an object', null, /expected an object/],
  ];
  it.each(bad)('%s', (_label, spec, message) => {
    expect(() => validateSpec(spec as ModelSpec)).toThrow(message);
  });
});

describe('shapes and counts', () => {
  it('pairedMlp (Zhang App. G / H.2): free W1…W{H−1}, mirrored-able WH [m_H, m_{H−1}], V [k, m_H/2], hidden biases only', () => {
    const s: ModelSpec = { kind: 'pairedMlp', layers: [7, 5, 6, 3], activation: 'relu' };
    expect(paramShapes(s)).toEqual({ W1: [5, 7], W2: [6, 5], V: [3, 3] });
    expect(Object.keys(paramShapes({ ...s, bias: true }))).toEqual(['W1', 'b1', 'W2', 'b2', 'V']);
    expect(paramCount({ ...s, bias: true })).toBe(35 + 5 + 30 + 6 + 9);
    expect([inputDim(s), outputDim(s), hiddenLayerCount(s)]).toEqual([7, 3, 2]);
  });

  it('shallow and paired (Zhang eq. 1 and 6): W [m, d], v [m] or [m/2]', () => {
    const s: ModelSpec = { kind: 'shallow', inputDim: 3, width: 4, activation: 'tanh' };
    const p: ModelSpec = { kind: 'paired', inputDim: 3, width: 4, activation: 'tanh' };
    expect(paramShapes(s)).toEqual({ W: [4, 3], v: [4] });
    expect(paramShapes(p)).toEqual({ W: [4, 3], v: [2] });
    expect(paramCount(s)).toBe(16);
    expect(paramCount(p)).toBe(14);
    expect([inputDim(p), outputDim(p), hiddenLayerCount(p)]).toEqual([3, 1, 1]);
  });
  it('mlp: W_l [m_l, m_{l-1}] and b_l [m_l] in layer order', () => {
    const m: ModelSpec = { kind: 'mlp', layers: [3, 5, 4, 2], activation: 'relu', bias: true };
    expect(Object.entries(paramShapes(m))).toEqual([
      ['W1', [5, 3]],
      ['b1', [5]],
      ['W2', [4, 5]],
      ['b2', [4]],
      ['W3', [2, 4]],
      ['b3', [2]],
    ]);
    expect(paramCount(m)).toBe(15 + 5 + 20 + 4 + 8 + 2);
    expect([inputDim(m), outputDim(m), hiddenLayerCount(m)]).toEqual([3, 2, 2]);
    expect(paramShapes({ ...m, bias: false })).toEqual({ W1: [5, 3], W2: [4, 5], W3: [2, 4] });
  });
});
