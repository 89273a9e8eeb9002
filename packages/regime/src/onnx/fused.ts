import { OnnxGraph, attr } from '@narrownet/models';

/** What a fused graph's model emitter gives: the loss, the gradients and optional finiteness witnesses. */
export interface ModelValues {
  loss: string;
  grads: Record<string, string>;
  /** See `LoweringOutputs.witnesses` (@narrownet/models); only for a single configuration. */
  witnesses?: { readonly values: readonly string[]; readonly covers: readonly string[] };
}

/**
 * What a fused training graph is made of: the value shapes of its state and the two emitters
 * (model: loss and gradients; optimizer: update and projection). The single-configuration
 * trainer and the grid trainer differ only in these.
 */
export interface FusedDesc {
  /** Input dimension d and output dimension k (X is [n, d], Y is [n, k]). */
  d: number;
  k: number;
  /** Shapes of the parameter inputs `p.<name>`. */
  paramShapes: Record<string, number[]>;
  /** Shapes of the slot inputs `s.<slot>`. */
  slotShapes: Record<string, number[]>;
  /** Shapes of the anchor inputs `a.<name>`. */
  anchorShapes: Record<string, number[]>;
  /** Shapes of constant hyperparameter inputs `h.<name>` (per-configuration lr, radius). */
  hyperShapes: Record<string, number[]>;
  /** Shape of the loss value: [] for one configuration, [G] for a grid. */
  lossShape: number[];
  /** Mini-batch size (then an int64 input `idx` selects the rows), or undefined for full batch. */
  batchSize?: number;
  /** Emits the loss (and gradients, keyed by parameter name, when asked). */
  emitModel(
    g: OnnxGraph,
    X: string,
    Y: string,
    params: Record<string, string>,
    gradients: boolean,
  ): ModelValues;
  /** Emits the optimizer step; `step` is the int64 count of steps taken before it. */
  emitUpdate(
    g: OnnxGraph,
    io: {
      params: Record<string, string>;
      grads: Record<string, string>;
      slots: Record<string, string>;
      anchors: Record<string, string>;
      hyper: Record<string, string>;
      step: string;
    },
  ): { params: Record<string, string>; slots: Record<string, string> };
}

/**
 * The loss with a non-finite check of the parameters folded in: loss + Σ_v Σ v·0, which equals the
 * loss when every checked value is finite and is NaN otherwise (x·0 is NaN exactly for NaN and
 * ±∞). The checked values are the model's finiteness witnesses (`model.witnesses`: pre-activations
 * that are finite only if the weights they cover are — a pass over [batch, width] values instead
 * of over the weights) and every parameter they do not cover. A blown-up iterate therefore reads
 * as a non-finite loss even where the forward pass would saturate (tanh(∞) = 1) or a ReLU would
 * drop a NaN.
 */
export function checkedLoss(
  g: OnnxGraph,
  desc: Pick<FusedDesc, 'lossShape' | 'paramShapes'>,
  model: Pick<ModelValues, 'loss' | 'witnesses'>,
  params: Record<string, string>,
): string {
  const lead = desc.lossShape.length;
  const witnessed = lead === 0 && model.witnesses ? model.witnesses : { values: [], covers: [] };
  const checked: { value: string; rank: number }[] = witnessed.values.map((value) => ({ value, rank: 2 }));
  for (const [name, shape] of Object.entries(desc.paramShapes))
    if (!witnessed.covers.includes(name)) checked.push({ value: params[name]!, rank: shape.length });
  let out = model.loss;
  for (const { value, rank } of checked) {
    const axes = Array.from({ length: rank }, (_, i) => i).slice(lead);
    const times0 = g.op('Mul', [value, g.scalar(0)]);
    const zero =
      axes.length === 0 ? times0 : g.op('ReduceSum', [times0, g.ints(axes)], { keepdims: attr.i(0) });
    out = g.op('Add', [out, zero]);
  }
  return out;
}

interface StateIO {
  params: Record<string, string>;
  slots: Record<string, string>;
  step: string;
}

function emitStep(
  g: OnnxGraph,
  desc: FusedDesc,
  X: string,
  Y: string,
  cur: StateIO,
  anchors: Record<string, string>,
  hyper: Record<string, string>,
): StateIO & { loss: string } {
  const model = desc.emitModel(g, X, Y, cur.params, true);
  const opt = desc.emitUpdate(g, {
    params: cur.params,
    grads: model.grads,
    slots: cur.slots,
    anchors,
    hyper,
    step: cur.step,
  });
  const step = g.op('Add', [cur.step, g.constant({ dtype: 'int64', shape: [], values: [1] })]);
  return { params: opt.params, slots: opt.slots, step, loss: checkedLoss(g, desc, model, cur.params) };
}

/**
 * The fused step model. Inputs: `X` [n, d], `Y` [n, k], `p.<param>`, `s.<slot>`, `a.<param>`,
 * `h.<hyper>`, `step` (int64 []), and with mini-batches `idx` ([b] or [K, b] int64).
 * Outputs: `P.<param>`, `S.<slot>`, `step_out`, and `loss`: for K = 1 the loss at the input
 * iterate; for K > 1 the full-data loss at the iterate reached, plus `losses` [K, ...] (the loss
 * at each step's input iterate). K > 1 steps are an ONNX Loop, or with `loop: false` K copies of
 * the step one after the other (no control flow: for execution providers without a Loop kernel,
 * such as WebGPU). Both forms emit the same operators in the same order for each step.
 * Every loss is NaN at an iterate with a non-finite parameter (see `checkedLoss`), so a blown-up
 * iterate is never read as finite.
 */
export function buildFusedStep(
  desc: FusedDesc,
  stepsPerCall: number,
  options: { loop?: boolean } = {},
): Uint8Array {
  const K = stepsPerCall;
  const g = new OnnxGraph('step');
  const X = g.input('X', 'float32', ['n', desc.d]);
  const Y = g.input('Y', 'float32', ['n', desc.k]);
  const params: Record<string, string> = {};
  const slots: Record<string, string> = {};
  const anchors: Record<string, string> = {};
  const hyper: Record<string, string> = {};
  for (const [name, shape] of Object.entries(desc.paramShapes))
    params[name] = g.input(`p.${name}`, 'float32', shape);
  for (const [s, shape] of Object.entries(desc.slotShapes)) slots[s] = g.input(`s.${s}`, 'float32', shape);
  for (const [name, shape] of Object.entries(desc.anchorShapes))
    anchors[name] = g.input(`a.${name}`, 'float32', shape);
  for (const [name, shape] of Object.entries(desc.hyperShapes))
    hyper[name] = g.input(`h.${name}`, 'float32', shape);
  const step = g.input('step', 'int64', []);
  const b = desc.batchSize;
  const idx = b !== undefined ? g.input('idx', 'int64', K === 1 ? [b] : [K, b]) : undefined;
  const names = Object.keys(desc.paramShapes);
  const slotNames = Object.keys(desc.slotShapes);
  const outputs = (st: StateIO): void => {
    for (const name of names) g.output(st.params[name]!, 'float32', desc.paramShapes[name], `P.${name}`);
    for (const s of slotNames) g.output(st.slots[s]!, 'float32', desc.slotShapes[s], `S.${s}`);
    g.output(st.step, 'int64', [], 'step_out');
  };
  if (K === 1) {
    const Xb = idx ? g.op('Gather', [X, idx], { axis: attr.i(0) }) : X;
    const Yb = idx ? g.op('Gather', [Y, idx], { axis: attr.i(0) }) : Y;
    const out = emitStep(g, desc, Xb, Yb, { params, slots, step }, anchors, hyper);
    outputs(out);
    g.output(out.loss, 'float32', desc.lossShape, 'loss');
    return g.toModel();
  }
  if (options.loop === false) {
    let cur: StateIO = { params, slots, step };
    const losses: string[] = [];
    for (let i = 0; i < K; i++) {
      let Xb = X;
      let Yb = Y;
      if (idx) {
        const at = g.constant({ dtype: 'int64', shape: [], values: [i] });
        const rows = g.op('Gather', [idx, at], { axis: attr.i(0) });
        Xb = g.op('Gather', [X, rows], { axis: attr.i(0) });
        Yb = g.op('Gather', [Y, rows], { axis: attr.i(0) });
      }
      const r = emitStep(g, desc, Xb, Yb, cur, anchors, hyper);
      losses.push(g.op('Unsqueeze', [r.loss, g.ints([0])]));
      cur = r;
    }
    outputs(cur);
    g.output(g.op('Concat', losses, { axis: attr.i(0) }), 'float32', [K, ...desc.lossShape], 'losses');
    g.output(
      checkedLoss(g, desc, desc.emitModel(g, X, Y, cur.params, false), cur.params),
      'float32',
      desc.lossShape,
      'loss',
    );
    return g.toModel();
  }
  // Loop body: (iteration, cond, carried state...) → (cond, new state..., loss as scan output).
  // X, Y, anchors and hyperparameters are read from the outer scope.
  const body = new OnnxGraph('body');
  const iter = body.input('body.iter', 'int64', []);
  const condIn = body.input('body.cond', 'bool', []);
  const bp: Record<string, string> = {};
  const bs: Record<string, string> = {};
  for (const name of names) bp[name] = body.input(`body.p.${name}`, 'float32', desc.paramShapes[name]);
  for (const s of slotNames) bs[s] = body.input(`body.s.${s}`, 'float32', desc.slotShapes[s]);
  const bstep = body.input('body.step', 'int64', []);
  let Xb = X;
  let Yb = Y;
  if (idx) {
    const rows = body.op('Gather', [idx, iter], { axis: attr.i(0) });
    Xb = body.op('Gather', [X, rows], { axis: attr.i(0) });
    Yb = body.op('Gather', [Y, rows], { axis: attr.i(0) });
  }
  const r = emitStep(body, desc, Xb, Yb, { params: bp, slots: bs, step: bstep }, anchors, hyper);
  body.output(body.op('Identity', [condIn]), 'bool', []);
  for (const name of names) body.output(r.params[name]!, 'float32', desc.paramShapes[name]);
  for (const s of slotNames) body.output(r.slots[s]!, 'float32', desc.slotShapes[s]);
  body.output(r.step, 'int64', []);
  body.output(r.loss, 'float32', desc.lossShape);
  const trip = g.constant({ dtype: 'int64', shape: [], values: [K] });
  const outs = g.opN(
    'Loop',
    [trip, '', ...names.map((n) => params[n]!), ...slotNames.map((s) => slots[s]!), step],
    names.length + slotNames.length + 2,
    { body: attr.g(body) },
  );
  const fin: StateIO = { params: {}, slots: {}, step: outs[names.length + slotNames.length]! };
  for (const [i, n] of names.entries()) fin.params[n] = outs[i]!;
  for (const [i, s] of slotNames.entries()) fin.slots[s] = outs[names.length + i]!;
  outputs(fin);
  g.output(outs[outs.length - 1]!, 'float32', [K, ...desc.lossShape], 'losses');
  const finModel = desc.emitModel(g, X, Y, fin.params, false);
  g.output(checkedLoss(g, desc, finModel, fin.params), 'float32', desc.lossShape, 'loss');
  return g.toModel();
}

/**
 * Loss (and, with `gradients`, `grad.<param>`) at inputs `X`, `Y`, `p.<param>`; NaN loss at an
 * iterate with a non-finite parameter.
 */
export function buildFusedEval(desc: FusedDesc, gradients: boolean): Uint8Array {
  const g = new OnnxGraph(gradients ? 'evalgrad' : 'evalloss');
  const X = g.input('X', 'float32', ['n', desc.d]);
  const Y = g.input('Y', 'float32', ['n', desc.k]);
  const params: Record<string, string> = {};
  for (const [name, shape] of Object.entries(desc.paramShapes))
    params[name] = g.input(`p.${name}`, 'float32', shape);
  const out = desc.emitModel(g, X, Y, params, gradients);
  g.output(checkedLoss(g, desc, out, params), 'float32', desc.lossShape, 'loss');
  if (gradients)
    for (const [name, shape] of Object.entries(desc.paramShapes))
      g.output(out.grads[name]!, 'float32', shape, `grad.${name}`);
  return g.toModel();
}
