import * as tf from '@tensorflow/tfjs-core';
import type { TfParams } from '../tfjs.js';
import type { ConvRunOptions } from './reference.js';
import { type ConvLayer, type ResNetSpec, planResNet, validateResNetSpec } from './spec.js';

/** Result of {@link convForwardTf}. */
export interface ConvForwardTf {
  /** Logits [n, classes]. */
  readonly logits: tf.Tensor2D;
  /** Running statistics after the pass (updated in train mode, the inputs in eval mode); not differentiated. */
  readonly buffers: TfParams;
}

function need(tree: TfParams, name: string, what: string): tf.Tensor {
  const t = tree[name];
  if (!t) throw new RangeError(`convForwardTf: ${what} is missing tensor "${name}"`);
  return t;
}

/**
 * Pure forward pass of a conv net with tfjs ops — the autodiff path: differentiate the loss of
 * the logits with `tf.grads` / `tf.variableGrads` with respect to any parameters. x is
 * [n, C·H·W] (NCHW flattened, as everywhere in narrownet); inside, feature maps are NHWC
 * (what every tfjs backend's conv2d supports) and weights [out, in, k, k] are transposed to
 * tfjs filters [k, k, in, out]. Batch norm in train mode normalises with the batch statistics
 * (biased variance) and returns running statistics updated as PyTorch does (momentum, unbiased
 * variance), which the loss does not depend on.
 */
export function convForwardTf(
  spec: ResNetSpec,
  params: TfParams,
  buffers: TfParams,
  x: tf.Tensor2D,
  options: ConvRunOptions,
): ConvForwardTf {
  validateResNetSpec(spec);
  if (typeof options?.train !== 'boolean')
    throw new RangeError('convForwardTf: options.train must be true or false');
  const plan = planResNet(spec);
  const [c0, h0, w0] = spec.input;
  if (x.rank !== 2 || x.shape[1] !== c0 * h0 * w0)
    throw new RangeError(
      `convForwardTf: x must be [n, ${c0 * h0 * w0}] (C·H·W), got [${x.shape.join(', ')}]`,
    );
  return tf.tidy(() => {
    const values: tf.Tensor[] = [tf.transpose(tf.reshape(x, [-1, c0, h0, w0]), [0, 2, 3, 1])];
    const out: TfParams = {};
    const { bnEps: eps, bnMomentum: mom } = plan;
    const layer = (l: ConvLayer): tf.Tensor => {
      switch (l.op) {
        case 'conv': {
          const filter = tf.transpose(need(params, l.weight, 'params'), [2, 3, 1, 0]) as tf.Tensor4D;
          return tf.conv2d(values[l.input] as tf.Tensor4D, filter, l.stride, l.padding);
        }
        case 'batchNorm': {
          const v = values[l.input]!;
          const gamma = need(params, `${l.name}.weight`, 'params');
          const beta = need(params, `${l.name}.bias`, 'params');
          const rm = need(buffers, `${l.name}.running_mean`, 'buffers');
          const rv = need(buffers, `${l.name}.running_var`, 'buffers');
          if (!options.train) {
            out[`${l.name}.running_mean`] = tf.clone(rm);
            out[`${l.name}.running_var`] = tf.clone(rv);
            return tf.add(tf.mul(tf.mul(tf.sub(v, rm), tf.rsqrt(tf.add(rv, eps))), gamma), beta);
          }
          const { mean, variance } = tf.moments(v, [0, 1, 2]);
          const count = v.shape[0]! * v.shape[1]! * v.shape[2]!;
          out[`${l.name}.running_mean`] = tf.add(tf.mul(rm, 1 - mom), tf.mul(mean, mom));
          out[`${l.name}.running_var`] = tf.add(
            tf.mul(rv, 1 - mom),
            tf.mul(variance, (mom * count) / (count - 1)),
          );
          return tf.add(tf.mul(tf.mul(tf.sub(v, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
        }
        case 'relu':
          return tf.relu(values[l.input]!);
        case 'maxPool':
          // NHWC; explicit padding that never wins (tfjs skips out-of-range taps).
          return tf.maxPool(values[l.input] as tf.Tensor4D, l.kernel, l.stride, [
            [0, 0],
            [l.padding, l.padding],
            [l.padding, l.padding],
            [0, 0],
          ]);
        case 'add':
          return tf.add(values[l.inputs[0]]!, values[l.inputs[1]]!);
        case 'globalAvgPool':
          return tf.mean(values[l.input]!, [1, 2]);
        case 'linear':
          return tf.add(
            tf.matMul(
              values[l.input] as tf.Tensor2D,
              need(params, `${l.name}.weight`, 'params') as tf.Tensor2D,
              false,
              true,
            ),
            need(params, `${l.name}.bias`, 'params'),
          );
        case 'pairedLinear': {
          const [h1, h2] = tf.split(values[l.input]!, 2, 1);
          return tf.matMul(
            tf.sub(h1!, h2!) as tf.Tensor2D,
            need(params, `${l.name}.weight`, 'params') as tf.Tensor2D,
            false,
            true,
          );
        }
      }
    };
    for (const l of plan.layers) values[l.output] = layer(l);
    return { logits: values[values.length - 1] as tf.Tensor2D, buffers: out };
  });
}
