import {
  type ConvLoweringOptions,
  type LossName,
  OnnxGraph,
  type ResNetSpec,
  lowerConvNetOnnx,
  resnetBufferShapes,
  resnetParamShapes,
} from '@narrownet/models';
import {
  type OptimizerSpec,
  lowerOptimizerOnnx,
  onnxSlotShapes,
  validateOptimizerSpec,
} from '@narrownet/optim';
import { checkedLoss } from './fused.js';

/** A fused conv-net training step and the shapes of the state it reads and writes. */
export interface ConvStepModel {
  /** The serialised ONNX model (see {@link buildConvStepModel} for its inputs and outputs). */
  readonly model: Uint8Array;
  /** Parameter shapes (`p.<name>` in, `P.<name>` out). */
  readonly paramShapes: Record<string, number[]>;
  /** Running-statistics shapes (`b.<name>` in, `B.<name>` out). */
  readonly bufferShapes: Record<string, number[]>;
  /** Optimizer slot shapes (`s.<slot>` in, `S.<slot>` out). */
  readonly slotShapes: Record<string, number[]>;
  /** Parameters of Frobenius-ball groups, whose anchors θ0 are inputs `a.<name>`. */
  readonly anchorNames: string[];
}

/**
 * One fused training step of a conv net as a single ONNX graph: train-mode forward (batch
 * statistics), loss, analytic backward (`lowerConvNetOnnx`), the optimizer's update, schedule and
 * projection (`lowerOptimizerOnnx`, PyTorch SGD/Adam semantics), and the running-statistics update.
 *
 * Inputs: `X` [b, C·H·W] and `Y` [b, classes] (the mini-batch), `p.<param>`, `b.<buffer>`,
 * `s.<slot>`, `a.<param>` (Frobenius-ball anchors), `step` (int64 [], steps taken before this one).
 * Outputs: `P.<param>`, `B.<buffer>`, `S.<slot>`, `step_out` and `loss` — the mini-batch loss at
 * the input iterate, NaN when any input parameter is non-finite (so a blown-up run reads as diverged).
 *
 * @param spec - the conv net
 * @param optimizer - every parameter of `resnetParamShapes(spec)` in exactly one group
 * @param loss - default softmax cross-entropy
 * @param options - `nchwcBlock`: run the convolutions on onnxruntime's CPU NCHWc kernels with this
 *   channel block (see `ConvLoweringOptions.nchwcBlock` of @narrownet/models); default plain Conv
 */
export function buildConvStepModel(
  spec: ResNetSpec,
  optimizer: OptimizerSpec,
  loss: LossName = 'softmaxCrossEntropy',
  options: Pick<ConvLoweringOptions, 'nchwcBlock'> = {},
): ConvStepModel {
  const paramShapes = resnetParamShapes(spec);
  const bufferShapes = resnetBufferShapes(spec);
  validateOptimizerSpec(optimizer, Object.keys(paramShapes));
  const slotShapes = onnxSlotShapes(optimizer, paramShapes);
  const anchorNames: string[] = [];
  for (const group of optimizer.groups)
    if (group.lr > 0 && group.projection?.kind === 'frobeniusBall') anchorNames.push(...group.params);

  const g = new OnnxGraph('convstep');
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const X = g.input('X', 'float32', ['b', d]);
  const Y = g.input('Y', 'float32', ['b', spec.classes]);
  const inputs = (prefix: string, shapes: Record<string, number[]>, only?: readonly string[]) =>
    Object.fromEntries(
      Object.entries(shapes)
        .filter(([k]) => !only || only.includes(k))
        .map(([k, s]) => [k, g.input(`${prefix}.${k}`, 'float32', s)]),
    );
  const params = inputs('p', paramShapes);
  const buffers = inputs('b', bufferShapes);
  const slots = inputs('s', slotShapes);
  const anchors = inputs('a', paramShapes, anchorNames);
  const step = g.input('step', 'int64', []);

  const model = lowerConvNetOnnx(g, spec, { X, Y, params, buffers }, loss, { train: true, ...options });
  const next = lowerOptimizerOnnx(g, optimizer, paramShapes, {
    params,
    grads: model.grads,
    slots,
    anchors,
    step,
  });
  for (const [k, s] of Object.entries(paramShapes)) g.output(next.params[k]!, 'float32', s, `P.${k}`);
  for (const [k, s] of Object.entries(bufferShapes)) g.output(model.buffers[k]!, 'float32', s, `B.${k}`);
  for (const [k, s] of Object.entries(slotShapes)) g.output(next.slots[k]!, 'float32', s, `S.${k}`);
  g.output(
    g.op('Add', [step, g.constant({ dtype: 'int64', shape: [], values: [1] })]),
    'int64',
    [],
    'step_out',
  );
  g.output(
    checkedLoss(g, { lossShape: [], paramShapes }, { loss: model.loss }, params),
    'float32',
    [],
    'loss',
  );
  return { model: g.toModel(), paramShapes, bufferShapes, slotShapes, anchorNames };
}
