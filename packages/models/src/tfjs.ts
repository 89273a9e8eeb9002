import * as tf from '@tensorflow/tfjs-core';
import { type ActivationSpec, activation } from './activations.js';
import type { LossName } from './losses.js';
import { type ModelSpec, requireMlpLike, validateSpec } from './spec.js';
import type { ParamTree } from './tensor.js';

/** Parameters as tfjs tensors keyed by name (same names and shapes as {@link ParamTree}). */
export type TfParams = Record<string, tf.Tensor>;

/** Applies an activation elementwise with tfjs ops (differentiable by tfjs autodiff). */
export function activateTf(spec: ActivationSpec, x: tf.Tensor): tf.Tensor {
  const a = activation(spec);
  switch (a.name) {
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'softplus':
      return a.alpha === 1 ? tf.softplus(x) : tf.div(tf.softplus(tf.mul(x, a.alpha)), a.alpha);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'relu':
      return tf.relu(x);
    case 'leakyRelu':
      return tf.leakyRelu(x, a.slope);
    case 'abs':
      return tf.abs(x);
    case 'identity':
      return x;
  }
}

function param(params: TfParams, name: string): tf.Tensor {
  const p = params[name];
  if (!p) throw new RangeError(`forwardTf: missing parameter "${name}"`);
  return p;
}

/**
 * Pure forward pass with tfjs ops: x [n, d] → outputs [n, outputDim]. Differentiate it with
 * `tf.grads` / `tf.variableGrads` with respect to any subset of the parameters.
 */
export function forwardTf(specIn: ModelSpec, params: TfParams, x: tf.Tensor2D): tf.Tensor2D {
  const spec = validateSpec(requireMlpLike(specIn, 'forwardTf: spec (use convForwardTf)'));
  return tf.tidy((): tf.Tensor2D => {
    if (spec.kind === 'shallow' || spec.kind === 'paired') {
      const W = param(params, 'W');
      const v = param(params, 'v');
      const h = activateTf(spec.activation, tf.matMul(x, W as tf.Tensor2D, false, true));
      if (spec.kind === 'shallow') return tf.matMul(h as tf.Tensor2D, tf.reshape(v, [-1, 1]) as tf.Tensor2D);
      const half = spec.width / 2;
      const [h1, h2] = tf.split(h, [half, half], 1);
      return tf.matMul(tf.sub(h1!, h2!) as tf.Tensor2D, tf.reshape(v, [-1, 1]) as tf.Tensor2D);
    }
    const L = spec.layers.length - 1;
    let cur: tf.Tensor2D = x;
    const paired = spec.kind === 'pairedMlp';
    for (let l = 1; l <= L; l++) {
      // A pairedMlp's head: f = V (σ(z_top) − σ(z_bot)), the difference first (exactly 0 for
      // equal halves).
      let z: tf.Tensor;
      if (paired && l === L) {
        const [top, bottom] = tf.split(cur, 2, 1);
        z = tf.matMul(tf.sub(top!, bottom!) as tf.Tensor2D, param(params, 'V') as tf.Tensor2D, false, true);
      } else z = tf.matMul(cur, param(params, `W${l}`) as tf.Tensor2D, false, true);
      if (spec.bias && !(paired && l === L)) z = tf.add(z, param(params, `b${l}`));
      if (l === L) return z as tf.Tensor2D;
      let a = activateTf(spec.activation, z);
      if (spec.kind === 'mlp' && spec.scaled) a = tf.mul(a, 1 / Math.sqrt(spec.layers[l]!));
      cur = a as tf.Tensor2D;
    }
    throw new Error('unreachable');
  });
}

/** A loss between predictions and targets [n, k] with tfjs ops (scalar result); see {@link LossName}. */
export function lossTf(name: LossName, pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    switch (name) {
      case 'halfSse':
        return tf.mul(0.5, tf.sum(tf.square(tf.sub(pred, target)))) as tf.Scalar;
      case 'mse':
        return tf.mean(tf.square(tf.sub(pred, target))) as tf.Scalar;
      case 'softmaxCrossEntropy':
        return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(pred, -1)), -1))) as tf.Scalar;
      default:
        throw new RangeError(`lossTf: unknown loss ${JSON.stringify(name)}`);
    }
  });
}

/** Copies a host parameter tree into tfjs tensors (the caller disposes them). */
export function toTfParams(params: ParamTree): TfParams {
  const out: TfParams = {};
  for (const [k, t] of Object.entries(params)) out[k] = tf.tensor(t.data, [...t.shape], 'float32');
  return out;
}

/** Reads tfjs tensors back into a host parameter tree. */
export function fromTfParams(params: TfParams): ParamTree {
  const out: ParamTree = {};
  for (const [k, t] of Object.entries(params))
    out[k] = { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
  return out;
}
