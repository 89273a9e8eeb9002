import type { ParamTree } from '@narrownet/models';
import * as tf from '@tensorflow/tfjs-core';
import { checkTree, resolveAnchors, slotNames } from './host.js';
import { FLOAT32_MIN_NORMAL } from './projection.js';
import { scheduleFactor } from './schedule.js';
import type { OptimizerSpec, ProjectionSpec } from './spec.js';
import { validateOptimizerSpec } from './validate.js';

/** The tfjs lowering of an {@link OptimizerSpec}: same semantics as the host optimizer. */
export interface TfOptimizer {
  /** One step: update then project every group, assigning into the variables. */
  step(grads: Record<string, tf.Tensor>): void;
  /** Number of steps taken. */
  readonly stepCount: number;
  /** A host copy of the slots (`momentum.<p>`, `adam_m.<p>`, `adam_v.<p>`). */
  slots(): ParamTree;
  /** Replaces the slots and the step count (resume). */
  setState(slots: ParamTree, stepCount: number): void;
  /** Releases the slot and anchor tensors (not the parameter variables). */
  dispose(): void;
}

/** Lower level t* of the exact B_{ζ,κ} projection with tfjs ops (see zetaKappaLevel). */
function zetaKappaLevelTf(v: tf.Tensor1D, zeta: number, kappa: number): tf.Scalar {
  // Candidates c ∈ {ζ} ∪ {v_i} ∪ {v_i/κ}; slope(c)/2 = Σ relu(c − v) − κ Σ relu(v − κc).
  const c = tf.reshape(tf.concat([tf.tensor1d([zeta]), v, tf.div(v, kappa)]), [-1, 1]);
  const vr = tf.reshape(v, [1, -1]);
  const slope = tf.sub(
    tf.sum(tf.relu(tf.sub(c, vr)), 1),
    tf.mul(kappa, tf.sum(tf.relu(tf.sub(vr, tf.mul(c, kappa))), 1)),
  );
  const ok = tf.logicalAnd(tf.lessEqual(slope, 0), tf.greaterEqual(tf.reshape(c, [-1]), zeta));
  // c* = the largest admissible candidate with slope ≤ 0 (−∞ when none: then t* = ζ).
  const cstar = tf.max(tf.where(ok, tf.reshape(c, [-1]), tf.fill([c.shape[0]], Number.NEGATIVE_INFINITY)));
  // Linear piece right of c*: probe the middle of (c*, next candidate) so that float32 rounding of
  // v_i/κ·κ cannot misplace an entry sitting on a breakpoint. A = {v < probe}, B = {v > κ·probe}.
  const cflat = tf.reshape(c, [-1]);
  const above = tf.where(tf.greater(cflat, cstar), cflat, tf.fill([c.shape[0]!], Number.POSITIVE_INFINITY));
  const next = tf.min(above);
  const probe = tf.where(
    tf.isFinite(next),
    tf.div(tf.add(cstar, next), 2),
    tf.add(tf.add(cstar, 1), tf.abs(cstar)),
  );
  const inA = tf.cast(tf.less(v, probe), 'float32');
  const inB = tf.cast(tf.greater(v, tf.mul(probe, kappa)), 'float32');
  const a = tf.add(tf.sum(inA), tf.mul(kappa * kappa, tf.sum(inB)));
  const b = tf.add(tf.sum(tf.mul(inA, v)), tf.mul(kappa, tf.sum(tf.mul(inB, v))));
  const root = tf.maximum(tf.div(b, a), cstar);
  return tf.maximum(tf.where(tf.isFinite(cstar), root, tf.scalar(zeta)), zeta) as tf.Scalar;
}

/** clip(x, t, κt): the exact B_{ζ,κ} projection once its level t* is known. */
function clipToLevel(x: tf.Tensor, t: tf.Scalar, kappa: number): tf.Tensor {
  return tf.minimum(tf.maximum(x, t), tf.mul(t, kappa));
}

function paperTf(v: tf.Tensor, zeta: number, kappa: number): tf.Tensor {
  const flat = tf.reshape(v, [-1]);
  const n = flat.shape[0]!;
  const amax = tf.argMax(flat);
  const amin = tf.argMin(flat);
  const vmax = tf.max(flat);
  const vmin = tf.min(flat);
  const atMin = tf.cast(tf.oneHot(amin, n), 'bool');
  const atMax = tf.cast(tf.oneHot(amax, n), 'bool');
  const v1 = tf.where(tf.logicalAnd(atMin, tf.less(vmin, zeta)), tf.fill([n], zeta), flat);
  const v2 = tf.where(
    tf.logicalAnd(atMax, tf.greater(tf.div(vmax, vmin), kappa)),
    tf.broadcastTo(tf.mul(vmin, kappa), [n]),
    v1,
  );
  return tf.reshape(v2, v.shape);
}

/** 0 when every entry of `xs` is finite, NaN otherwise (x·0 is NaN exactly for NaN and ±∞). */
function nonFiniteFlag(xs: tf.Tensor[]): tf.Tensor {
  return tf.addN(xs.map((x) => tf.sum(tf.mul(x, 0))));
}

/**
 * Projection of a group's tensors with tfjs ops; returns the new values (same order). A group
 * with a non-finite entry comes back all NaN (see `projectOnto`): the flag added is 0 otherwise.
 */
function projectTf(p: ProjectionSpec, xs: tf.Tensor[], x0: tf.Tensor[]): tf.Tensor[] {
  switch (p.kind) {
    case 'none':
      return xs;
    case 'box': {
      const flag = nonFiniteFlag(xs);
      return xs.map((x) => tf.add(tf.clipByValue(x, p.lo, p.hi), flag));
    }
    case 'frobeniusBall': {
      // Scaled norm: max |δ| factored out before squaring, so no finite δ overflows float32.
      // A non-finite δ makes it NaN (∞/∞), which then marks the whole group.
      const diffs = xs.map((x, k) => tf.sub(x, x0[k]!));
      const scale = tf.maximum(tf.max(tf.stack(diffs.map((d) => tf.max(tf.abs(d))))), FLOAT32_MIN_NORMAL);
      const norm = tf.mul(scale, tf.sqrt(tf.addN(diffs.map((d) => tf.sum(tf.square(tf.div(d, scale)))))));
      const outside = tf.greater(norm, p.radius);
      const f = tf.div(p.radius, norm);
      const flag = tf.mul(norm, 0);
      return xs.map((x, k) =>
        tf.add(tf.where(tf.broadcastTo(outside, x.shape), tf.add(x0[k]!, tf.mul(diffs[k]!, f)), x), flag),
      );
    }
    case 'zetaKappa': {
      const flag = nonFiniteFlag(xs);
      if (p.perRow) {
        // Each row (slice along the last axis; a vector is one row) is its own v ∈ B_{ζ,κ}.
        return xs.map((x) => {
          const len = x.rank > 1 ? x.shape[x.rank - 1]! : x.size;
          const rows = tf
            .unstack(tf.reshape(x, [-1, len]))
            .map((row) =>
              p.method === 'paperHeuristic'
                ? paperTf(row, p.zeta, p.kappa)
                : clipToLevel(row, zetaKappaLevelTf(row as tf.Tensor1D, p.zeta, p.kappa), p.kappa),
            );
          return tf.add(tf.reshape(tf.stack(rows), x.shape), flag);
        });
      }
      if (p.method === 'paperHeuristic') return xs.map((x) => tf.add(paperTf(x, p.zeta, p.kappa), flag));
      const all = tf.concat(xs.map((x) => tf.reshape(x, [-1])));
      const t = zetaKappaLevelTf(all as tf.Tensor1D, p.zeta, p.kappa);
      return xs.map((x) => tf.add(clipToLevel(x, t, p.kappa), flag));
    }
  }
}

/**
 * Creates the tfjs lowering of `spec` over tfjs variables (float32): the same update rules,
 * schedules and projections as {@link createHostOptimizer}, computed with tfjs-core ops and
 * assigned into the variables. Anchors default to the variables' values at creation. The exact
 * B_{ζ,κ} projection evaluates all 2n+1 breakpoints at once: O(n²) memory for a group of n entries.
 */
export function createTfOptimizer(
  spec: OptimizerSpec,
  params: Record<string, tf.Variable>,
  anchors?: ParamTree,
): TfOptimizer {
  if (params === null || typeof params !== 'object')
    throw new TypeError('createTfOptimizer: params must be a record of tf.Variable');
  const names = Object.keys(params);
  const updates = validateOptimizerSpec(spec, names);
  const shapes: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, [...params[k]!.shape]]));
  const host: ParamTree = {};
  for (const k of names) host[k] = { shape: shapes[k]!, data: Float32Array.from(params[k]!.dataSync()) };
  const a = resolveAnchors(host, anchors);
  const anchorT: Record<string, tf.Tensor> = {};
  for (const k of names) anchorT[k] = tf.tensor(a[k]!.data, shapes[k]);
  const slotShapes: Record<string, number[]> = {};
  spec.groups.forEach((g, i) => {
    for (const p of g.params) for (const s of slotNames(updates[i]!, p)) slotShapes[s] = shapes[p]!;
  });
  const slotV: Record<string, tf.Variable> = {};
  for (const [s, shape] of Object.entries(slotShapes)) slotV[s] = tf.variable(tf.zeros(shape), false);
  let t = 0;

  const step = (grads: Record<string, tf.Tensor>): void => {
    for (const k of names) {
      const g = grads?.[k];
      if (!g) throw new RangeError(`optimizer step: missing gradient "${k}"`);
      if (g.shape.join(',') !== shapes[k]!.join(',')) {
        throw new RangeError(
          `optimizer step: gradient "${k}" has shape [${g.shape.join(', ')}], expected [${shapes[k]!.join(', ')}]`,
        );
      }
    }
    // One device sync for all parameters: which gradients are entirely finite.
    const finite = tf.tidy(() =>
      tf.stack(names.map((k) => tf.cast(tf.all(tf.isFinite(grads[k]!)), 'int32'))).dataSync(),
    );
    names.forEach((k, i) => {
      if (!finite[i]) throw new RangeError(`optimizer step: gradient of "${k}" has a non-finite entry`);
    });
    spec.groups.forEach((g, gi) => {
      if (g.lr === 0) return;
      const u = updates[gi]!;
      const lr = g.lr * scheduleFactor(g.schedule, t, g.lr);
      tf.tidy(() => {
        const newVals: tf.Tensor[] = [];
        for (const name of g.params) {
          const p = params[name]!;
          const gr = grads[name]!;
          if (u.kind === 'sgd') {
            let d: tf.Tensor = u.weightDecay !== 0 ? tf.add(gr, tf.mul(p, u.weightDecay)) : gr;
            if (u.momentum !== 0) {
              const buf = slotV[`momentum.${name}`]!;
              const b = t === 0 ? d : tf.add(tf.mul(buf, u.momentum), tf.mul(d, 1 - u.dampening));
              buf.assign(b);
              d = u.nesterov ? tf.add(d, tf.mul(b, u.momentum)) : b;
            }
            newVals.push(tf.sub(p, tf.mul(d, lr)));
          } else {
            const m = slotV[`adam_m.${name}`]!;
            const v = slotV[`adam_v.${name}`]!;
            const k = t + 1;
            const bc1 = 1 - u.beta1 ** k;
            const bc2Sqrt = Math.sqrt(1 - u.beta2 ** k);
            const gi2 = u.kind === 'adam' && u.weightDecay !== 0 ? tf.add(gr, tf.mul(p, u.weightDecay)) : gr;
            const pi = u.kind === 'adamw' ? tf.mul(p, 1 - lr * u.weightDecay) : p;
            const m1 = tf.add(tf.mul(m, u.beta1), tf.mul(gi2, 1 - u.beta1));
            const v1 = tf.add(tf.mul(v, u.beta2), tf.mul(tf.square(gi2), 1 - u.beta2));
            m.assign(m1);
            v.assign(v1);
            const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), u.eps);
            newVals.push(tf.sub(pi, tf.div(tf.mul(m1, lr / bc1), denom)));
          }
        }
        const proj = g.projection;
        const out =
          proj && proj.kind !== 'none'
            ? projectTf(
                proj,
                newVals,
                g.params.map((n) => anchorT[n]!),
              )
            : newVals;
        g.params.forEach((n, k) => {
          params[n]!.assign(out[k]!);
        });
      });
    });
    t++;
  };

  return {
    step,
    get stepCount() {
      return t;
    },
    slots() {
      const out: ParamTree = {};
      for (const [s, v] of Object.entries(slotV))
        out[s] = { shape: [...v.shape], data: Float32Array.from(v.dataSync()) };
      return out;
    },
    setState(newSlots: ParamTree, stepCount: number) {
      if (!Number.isInteger(stepCount) || stepCount < 0) {
        throw new RangeError(`setState: stepCount must be an integer ≥ 0, got ${stepCount}`);
      }
      checkTree(newSlots, slotShapes, 'setState slots');
      for (const s of Object.keys(slotV)) slotV[s]!.assign(tf.tensor(newSlots[s]!.data, slotShapes[s]));
      t = stepCount;
    },
    dispose() {
      for (const v of Object.values(slotV)) v.dispose();
      for (const x of Object.values(anchorT)) x.dispose();
    },
  };
}
