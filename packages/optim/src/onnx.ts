import { type OnnxGraph, attr, sizeOf } from '@narrownet/models';
import { slotNames } from './host.js';
import { FLOAT32_MIN_NORMAL } from './projection.js';
import type { ProjectionSpec, ScheduleSpec } from './spec.js';
import type { OptimizerSpec } from './spec.js';
import { type ResolvedUpdate, validateOptimizerSpec } from './validate.js';

/** Value names the optimizer lowering reads. */
export interface OptimizerLoweringIO {
  /** Current parameter values, keyed by parameter name. */
  readonly params: Readonly<Record<string, string>>;
  /** Gradients ∂loss/∂parameter, keyed by parameter name. */
  readonly grads: Readonly<Record<string, string>>;
  /** Optimizer slots keyed `<slot>.<param>` (names from {@link onnxSlotShapes}). */
  readonly slots: Readonly<Record<string, string>>;
  /** Frobenius-ball anchors θ0, keyed by parameter name (needed for frobeniusBall groups). */
  readonly anchors: Readonly<Record<string, string>>;
  /** int64 scalar: the number of steps taken before this one (0 on the first step). */
  readonly step: string;
}

/** Options of {@link lowerOptimizerOnnx}. */
export interface OptimizerLoweringOptions {
  /**
   * Size G of a leading configuration axis: every parameter, gradient, slot and anchor value then
   * has shape [G, ...shape], and projections act per configuration. Default: no such axis.
   */
  readonly batch?: number;
  /**
   * Per group, a value name overriding the group's base lr: a float32 tensor of shape [G] (with
   * `batch`) or [] (without). Its entries must be > 0 (a frozen group is lowered statically).
   */
  readonly lr?: readonly (string | undefined)[];
  /** Per group, a value name overriding a frobeniusBall radius ([G] with `batch`, [] without). */
  readonly radius?: readonly (string | undefined)[];
}

/** Value names the optimizer lowering produced. */
export interface OptimizerLoweringOutputs {
  /** New parameter values, keyed by parameter name. */
  readonly params: Record<string, string>;
  /** New slot values, keyed `<slot>.<param>`. */
  readonly slots: Record<string, string>;
}

/**
 * Shapes of the optimizer slots `spec` keeps for parameters of the given shapes, keyed
 * `<slot>.<param>` exactly like `createHostOptimizer`: `momentum.<p>` (SGD with momentum > 0),
 * `adam_m.<p>` and `adam_v.<p>` (Adam/AdamW).
 */
export function onnxSlotShapes(
  spec: OptimizerSpec,
  shapes: Readonly<Record<string, readonly number[]>>,
): Record<string, number[]> {
  const updates = validateOptimizerSpec(spec, Object.keys(shapes));
  const out: Record<string, number[]> = {};
  spec.groups.forEach((g, i) => {
    for (const p of g.params) for (const s of slotNames(updates[i]!, p)) out[s] = [...shapes[p]!];
  });
  return out;
}

/**
 * Emits one optimizer step into `g`: for each group with lr > 0, the update rule (PyTorch
 * semantics, as `createHostOptimizer`: SGD momentum/dampening/nesterov/weight decay with the
 * first momentum step buf = g; Adam/AdamW with bias correction from the step input), its step
 * size lr·factor(step) computed in-graph from the step input (constant, cosine, multistep), and
 * then its projection (PGD): `none`; `frobeniusBall` (joint over the group, exact Where(‖δ‖ >
 * r) so points inside stay bit-identical, norm scaled by max |δ| so it cannot overflow); `zetaKappa` `exact` (κ = 1: max(mean v, ζ)·1; general
 * κ: the exact Euclidean projection via all 2N breakpoints in-graph, O(N²) memory, on the
 * concatenation of the group's tensors); `zetaKappa` `paperHeuristic` (App. H.1 projectv per
 * tensor via ArgMin/ArgMax + ScatterElements, first index on ties); with `perRow` either one on
 * every row (last axis) of every tensor, as a batch of rows; `box` (Clip). A projected
 * group with a non-finite entry comes out all NaN in its configuration (as `projectOnto`). A group with
 * lr 0 passes through untouched (no update, no slot change, no projection).
 *
 * @param g - graph to emit into
 * @param spec - optimizer spec (validated against the names of `shapes`)
 * @param shapes - parameter shapes (without the configuration axis)
 * @param io - value names of params, grads, slots, anchors and the int64 step input
 * @param options - configuration axis and hyperparameters fed as inputs
 */
export function lowerOptimizerOnnx(
  g: OnnxGraph,
  spec: OptimizerSpec,
  shapes: Readonly<Record<string, readonly number[]>>,
  io: OptimizerLoweringIO,
  options: OptimizerLoweringOptions = {},
): OptimizerLoweringOutputs {
  const updates = validateOptimizerSpec(spec, Object.keys(shapes));
  const batch = options.batch ?? 0;
  if (!Number.isInteger(batch) || batch < 0)
    throw new RangeError(`lowerOptimizerOnnx: options.batch must be a non-negative integer, got ${batch}`);
  const lead = batch > 0 ? 1 : 0;
  const need = (rec: Readonly<Record<string, string>>, key: string, what: string): string => {
    const v = rec[key];
    if (typeof v !== 'string') throw new RangeError(`lowerOptimizerOnnx: io.${what} is missing "${key}"`);
    return v;
  };
  if (typeof io.step !== 'string') throw new RangeError('lowerOptimizerOnnx: io.step must be a value name');
  const stepF = g.op('Cast', [io.step], { to: attr.i(1) });
  const outParams: Record<string, string> = {};
  const outSlots: Record<string, string> = {};
  for (const name of Object.keys(shapes)) outParams[name] = need(io.params, name, 'params');
  for (const s of Object.keys(onnxSlotShapes(spec, shapes))) outSlots[s] = need(io.slots, s, 'slots');

  /** A per-configuration hyperparameter [G] reshaped to broadcast against rank-`r` parameters. */
  const bcast = (value: string, rank: number): string =>
    lead ? g.op('Reshape', [value, g.ints([batch, ...Array(rank).fill(1)])]) : value;

  spec.groups.forEach((group, gi) => {
    const u = updates[gi]!;
    const lrInput = options.lr?.[gi];
    if (lrInput === undefined && group.lr === 0) return;
    const baseLr = lrInput ?? g.scalar(group.lr);
    const lrT = scheduledLr(
      g,
      group.schedule,
      baseLr,
      stepF,
      io.step,
      lrInput === undefined ? group.lr : undefined,
    );
    for (const name of group.params) {
      const rank = shapes[name]!.length;
      const lr = bcast(lrT, rank);
      const p = need(io.params, name, 'params');
      const grad = need(io.grads, name, 'grads');
      const r = lowerUpdate(g, u, p, grad, lr, stepF, io.step, (s) =>
        need(io.slots, `${s}.${name}`, 'slots'),
      );
      outParams[name] = r.param;
      for (const [s, v] of Object.entries(r.slots)) outSlots[`${s}.${name}`] = v;
    }
    const proj = group.projection;
    if (!proj || proj.kind === 'none') return;
    const values = group.params.map((n) => outParams[n]!);
    const radiusInput = options.radius?.[gi];
    const projected = lowerProjection(g, proj, group.params, values, shapes, io.anchors, batch, radiusInput);
    group.params.forEach((n, k) => {
      outParams[n] = projected[k]!;
    });
  });
  return { params: outParams, slots: outSlots };
}

/** lr·factor(step) as a value: [] or [G] like `baseLr` (factor of the epoch with `stepsPerEpoch`). */
function scheduledLr(
  g: OnnxGraph,
  schedule: ScheduleSpec | undefined,
  baseLr: string,
  stepF: string,
  step: string,
  constLr: number | undefined,
): string {
  if (!schedule || schedule.kind === 'constant') return baseLr;
  // Counted in epochs: t = ⌊step / stepsPerEpoch⌋ (int64 Div truncates; step ≥ 0).
  const per = schedule.stepsPerEpoch;
  const t =
    per === undefined ? step : g.op('Div', [step, g.constant({ dtype: 'int64', shape: [], values: [per] })]);
  const tF = per === undefined ? stepF : g.op('Cast', [t], { to: attr.i(1) });
  if (schedule.kind === 'cosine') {
    const etaMin = schedule.etaMin ?? 0;
    if (constLr === 0) return g.scalar(0);
    // lr_t = ηmin + (lr − ηmin)(1 + cos(πt/tMax))/2 (PyTorch CosineAnnealingLR closed form).
    const c = g.op('Mul', [
      g.scalar(0.5),
      g.op('Add', [g.scalar(1), g.op('Cos', [g.op('Mul', [tF, g.scalar(Math.PI / schedule.tMax)])])]),
    ]);
    const span = g.op('Sub', [baseLr, g.scalar(etaMin)]);
    return g.op('Add', [g.scalar(etaMin), g.op('Mul', [span, c])]);
  }
  if (schedule.milestones.length === 0) return baseLr;
  const hits = g.op('GreaterOrEqual', [
    t,
    g.constant({ dtype: 'int64', shape: [schedule.milestones.length], values: schedule.milestones }),
  ]);
  const count = g.op('ReduceSum', [g.op('Cast', [hits], { to: attr.i(1) })], { keepdims: attr.i(0) });
  return g.op('Mul', [baseLr, g.op('Pow', [g.scalar(schedule.gamma ?? 0.1), count])]);
}

function lowerUpdate(
  g: OnnxGraph,
  u: ResolvedUpdate,
  p: string,
  grad: string,
  lr: string,
  stepF: string,
  step: string,
  slot: (s: string) => string,
): { param: string; slots: Record<string, string> } {
  if (u.kind === 'sgd') {
    let d = u.weightDecay !== 0 ? g.op('Add', [grad, g.op('Mul', [p, g.scalar(u.weightDecay)])]) : grad;
    const slots: Record<string, string> = {};
    if (u.momentum !== 0) {
      // buf ← c1·buf + c2·d with (c1, c2) = (0, 1) on the first step (PyTorch: buf = g), else (μ, 1 − damp).
      const first = g.op('Equal', [step, g.constant({ dtype: 'int64', shape: [], values: [0] })]);
      const c1 = g.op('Where', [first, g.scalar(0), g.scalar(u.momentum)]);
      // Without dampening c2 ≡ 1: skip that multiply.
      const scaledD =
        u.dampening === 0
          ? d
          : g.op('Mul', [d, g.op('Where', [first, g.scalar(1), g.scalar(1 - u.dampening)])]);
      const buf = g.op('Add', [g.op('Mul', [slot('momentum'), c1]), scaledD]);
      slots.momentum = buf;
      d = u.nesterov ? g.op('Add', [d, g.op('Mul', [buf, g.scalar(u.momentum)])]) : buf;
    }
    return { param: g.op('Sub', [p, g.op('Mul', [d, lr])]), slots };
  }
  const k = g.op('Add', [stepF, g.scalar(1)]);
  const bc1 = g.op('Sub', [g.scalar(1), g.op('Pow', [g.scalar(u.beta1), k])]);
  const bc2Sqrt = g.op('Sqrt', [g.op('Sub', [g.scalar(1), g.op('Pow', [g.scalar(u.beta2), k])])]);
  const gi =
    u.kind === 'adam' && u.weightDecay !== 0
      ? g.op('Add', [grad, g.op('Mul', [p, g.scalar(u.weightDecay)])])
      : grad;
  const m = g.op('Add', [
    g.op('Mul', [slot('adam_m'), g.scalar(u.beta1)]),
    g.op('Mul', [gi, g.scalar(1 - u.beta1)]),
  ]);
  const v = g.op('Add', [
    g.op('Mul', [slot('adam_v'), g.scalar(u.beta2)]),
    g.op('Mul', [g.op('Mul', [gi, gi]), g.scalar(1 - u.beta2)]),
  ]);
  const denom = g.op('Add', [g.op('Div', [g.op('Sqrt', [v]), bc2Sqrt]), g.scalar(u.eps)]);
  const stepSize = g.op('Div', [lr, bc1]);
  const base =
    u.kind === 'adamw' && u.weightDecay !== 0
      ? g.op('Mul', [p, g.op('Sub', [g.scalar(1), g.op('Mul', [lr, g.scalar(u.weightDecay)])])])
      : p;
  const param = g.op('Sub', [base, g.op('Div', [g.op('Mul', [m, stepSize]), denom])]);
  return { param, slots: { adam_m: m, adam_v: v } };
}

function lowerProjection(
  g: OnnxGraph,
  proj: ProjectionSpec,
  names: readonly string[],
  values: string[],
  shapes: Readonly<Record<string, readonly number[]>>,
  anchors: Readonly<Record<string, string>>,
  batch: number,
  radiusInput: string | undefined,
): string[] {
  const lead = batch > 0;
  const rows = lead ? batch : 1;
  const flat = (v: string): string => g.op('Reshape', [v, g.ints([rows, -1])]);
  /** [rows·R, N]: every row (slice along the last axis, N entries) of every configuration. */
  const byRow = (v: string, name: string): string => {
    const sh = shapes[name]!;
    return g.op('Reshape', [v, g.ints([-1, sh.length > 1 ? sh[sh.length - 1]! : Math.max(1, sizeOf(sh))])]);
  };
  const unflat = (v: string, name: string): string =>
    g.op('Reshape', [v, g.ints(lead ? [batch, ...shapes[name]!] : [...shapes[name]!])]);
  const keep1 = { keepdims: attr.i(1) };
  /** A per-configuration [rows, 1] value reshaped to broadcast against parameter `name`. */
  const perConfig = (v: string, name: string): string => {
    const rank = shapes[name]!.length;
    return g.op('Reshape', [v, g.ints(lead ? [batch, ...Array(rank).fill(1)] : Array(rank).fill(1))]);
  };
  /**
   * Adds a per-configuration flag that is 0 when every entry of the group is finite and NaN
   * otherwise, so that a diverged configuration is never projected back into its set.
   */
  const markNonFinite = (projected: string[], flag: string): string[] =>
    names.map((n, k) => g.op('Add', [projected[k]!, perConfig(flag, n)]));
  /** Σ x·0 per configuration: 0 when all entries are finite, NaN otherwise (x·0 is NaN for ±∞). */
  const nonFiniteFlag = (): string => {
    let flag = '';
    for (const v of values) {
      const s = g.op('ReduceSum', [g.op('Mul', [flat(v), g.scalar(0)]), g.ints([1])], keep1);
      flag = flag ? g.op('Add', [flag, s]) : s;
    }
    return flag;
  };
  switch (proj.kind) {
    case 'none':
      return values;
    case 'box':
      return markNonFinite(
        values.map((v) => g.op('Clip', [v, g.scalar(proj.lo), g.scalar(proj.hi)])),
        nonFiniteFlag(),
      );
    case 'frobeniusBall': {
      const deltas = names.map((n, k) => {
        const a = anchors[n];
        if (typeof a !== 'string')
          throw new RangeError(`lowerOptimizerOnnx: io.anchors is missing "${n}" (frobeniusBall group)`);
        return { a, d: g.op('Sub', [values[k]!, a]) };
      });
      // Scaled norm per configuration ([rows, 1]): max |δ| factored out before squaring, so no
      // finite δ overflows float32; a non-finite δ makes it NaN (∞/∞), which marks the group.
      let scale = '';
      for (const { d } of deltas) {
        const m = g.op('ReduceMax', [g.op('Abs', [flat(d)]), g.ints([1])], keep1);
        scale = scale ? g.op('Max', [scale, m]) : m;
      }
      scale = g.op('Max', [scale, g.scalar(FLOAT32_MIN_NORMAL)]);
      let sq = '';
      for (const { d } of deltas) {
        const s = g.op('ReduceSumSquare', [g.op('Div', [flat(d), scale]), g.ints([1])], keep1);
        sq = sq ? g.op('Add', [sq, s]) : s;
      }
      const norm = g.op('Mul', [scale, g.op('Sqrt', [sq])]);
      const r = radiusInput ? g.op('Reshape', [radiusInput, g.ints([rows, 1])]) : g.scalar(proj.radius);
      const outside = g.op('Greater', [norm, r]);
      const f = g.op('Div', [r, norm]);
      const projected = names.map((n, k) => {
        const { a, d } = deltas[k]!;
        return g.op('Where', [
          perConfig(outside, n),
          g.op('Add', [a, g.op('Mul', [d, perConfig(f, n)])]),
          values[k]!,
        ]);
      });
      return markNonFinite(projected, g.op('Mul', [norm, g.scalar(0)]));
    }
    case 'zetaKappa': {
      const flag = nonFiniteFlag();
      if (proj.perRow) {
        const one = proj.method === 'paperHeuristic' ? paperProjectv : zetaKappaExact;
        return markNonFinite(
          names.map((n, k) => unflat(one(g, byRow(values[k]!, n), proj.zeta, proj.kappa), n)),
          flag,
        );
      }
      if (proj.method === 'paperHeuristic') {
        return markNonFinite(
          names.map((n, k) => unflat(paperProjectv(g, flat(values[k]!), proj.zeta, proj.kappa), n)),
          flag,
        );
      }
      const sizes = names.map((n) => sizeOf(shapes[n]!));
      const all =
        values.length === 1
          ? flat(values[0]!)
          : g.op(
              'Concat',
              values.map((v) => flat(v)),
              { axis: attr.i(1) },
            );
      const projected = zetaKappaExact(g, all, proj.zeta, proj.kappa);
      if (values.length === 1) return markNonFinite([unflat(projected, names[0]!)], flag);
      const parts = g.opN('Split', [projected, g.ints(sizes)], values.length, { axis: attr.i(1) });
      return markNonFinite(
        names.map((n, k) => unflat(parts[k]!, n)),
        flag,
      );
    }
  }
}

/** Exact Euclidean projection of each row of v [B, N] onto B_{ζ,κ}. */
function zetaKappaExact(g: OnnxGraph, v: string, zeta: number, kappa: number): string {
  const keep1 = { keepdims: attr.i(1) };
  const z = g.scalar(zeta);
  if (kappa === 1) {
    // The feasible set is the ray {c·1 : c ≥ ζ}: the projection is max(mean v, ζ)·1.
    const c = g.op('Max', [g.op('ReduceMean', [v, g.ints([1])], keep1), z]);
    return g.op('Expand', [c, g.op('Shape', [v])]);
  }
  const k = g.scalar(kappa);
  // Level a* minimising φ(a) = Σ (a − v)₊² + (v − κa)₊² over a ≥ ζ; φ'/2 is nondecreasing and
  // linear between the breakpoints {v_j} ∪ {v_j/κ}. c = the largest breakpoint with φ'(c) ≤ 0;
  // on the piece (c, next) the active sets are L = {v < t}, U = {v > κt}, and φ' = 0 at
  // a = (Σ_L v + κ Σ_U v)/(|L| + κ²|U|).
  const bps = g.op('Concat', [v, g.op('Div', [v, k])], { axis: attr.i(1) }); // [B, 2N]
  const b3 = g.op('Unsqueeze', [bps, g.ints([2])]); // [B, 2N, 1]
  const v3 = g.op('Unsqueeze', [v, g.ints([1])]); // [B, 1, N]
  const below = g.op('ReduceSum', [g.op('Relu', [g.op('Sub', [b3, v3])]), g.ints([2])], {
    keepdims: attr.i(0),
  });
  const above = g.op('ReduceSum', [g.op('Relu', [g.op('Sub', [v3, g.op('Mul', [b3, k])])]), g.ints([2])], {
    keepdims: attr.i(0),
  });
  const slope = g.op('Sub', [below, g.op('Mul', [above, k])]); // [B, 2N]
  const nonPos = g.op('LessOrEqual', [slope, g.scalar(0)]);
  const c = g.op(
    'ReduceMax',
    [g.op('Where', [nonPos, bps, g.scalar(Number.NEGATIVE_INFINITY)]), g.ints([1])],
    keep1,
  );
  // Classify the entries at a probe inside the piece (c, next), not at c itself: an entry v_j
  // whose breakpoint v_j/κ is c need not satisfy v_j ≤ κ·c in float32 (κ·(v_j/κ) ≠ v_j), and
  // would be put into U at the breakpoint where it leaves it.
  const next = g.op(
    'ReduceMin',
    [g.op('Where', [g.op('Greater', [bps, c]), bps, g.scalar(Number.POSITIVE_INFINITY)]), g.ints([1])],
    keep1,
  );
  const probe = g.op('Where', [
    g.op('IsInf', [next]),
    g.op('Add', [g.op('Add', [c, g.scalar(1)]), g.op('Abs', [c])]),
    g.op('Mul', [g.op('Add', [c, next]), g.scalar(0.5)]),
  ]);
  const inL = g.op('Cast', [g.op('Less', [v, probe])], { to: attr.i(1) });
  const inU = g.op('Cast', [g.op('Greater', [v, g.op('Mul', [probe, k])])], { to: attr.i(1) });
  const num = g.op('Add', [
    g.op('ReduceSum', [g.op('Mul', [inL, v]), g.ints([1])], keep1),
    g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [inU, v]), g.ints([1])], keep1), k]),
  ]);
  const den = g.op('Add', [
    g.op('ReduceSum', [inL, g.ints([1])], keep1),
    g.op('Mul', [g.op('ReduceSum', [inU, g.ints([1])], keep1), g.scalar(kappa * kappa)]),
  ]);
  const root = g.op('Where', [g.op('Greater', [den, g.scalar(0)]), g.op('Div', [num, den]), c]);
  const level = g.op('Min', [g.op('Max', [root, c]), next]);
  const a = g.op('Max', [level, z]);
  return g.op('Min', [g.op('Max', [v, a]), g.op('Mul', [a, k])]);
}

/** App. H.1 projectv on each row of v [B, N] (reads vmin/vmax once; first index on ties). */
function paperProjectv(g: OnnxGraph, v: string, zeta: number, kappa: number): string {
  const keep = { axis: attr.i(1), keepdims: attr.i(1) };
  const amin = g.op('ArgMin', [v], keep);
  const amax = g.op('ArgMax', [v], keep);
  const vmin = g.op('GatherElements', [v, amin], { axis: attr.i(1) });
  const vmax = g.op('GatherElements', [v, amax], { axis: attr.i(1) });
  const z = g.scalar(zeta);
  const newMin = g.op('Where', [g.op('Less', [vmin, z]), z, vmin]);
  const v1 = g.op('ScatterElements', [v, amin, newMin], { axis: attr.i(1) });
  const cur = g.op('GatherElements', [v1, amax], { axis: attr.i(1) });
  const ratioHigh = g.op('Greater', [g.op('Div', [vmax, vmin]), g.scalar(kappa)]);
  const newMax = g.op('Where', [ratioHigh, g.op('Mul', [vmin, g.scalar(kappa)]), cur]);
  return g.op('ScatterElements', [v1, amax, newMax], { axis: attr.i(1) });
}
