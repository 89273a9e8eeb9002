import { type HostTensor, type ParamTree, cloneParams } from '@narrownet/models';
import { projectOnto } from './projection.js';
import { scheduleFactor } from './schedule.js';
import type { OptimizerSpec } from './spec.js';
import { type ResolvedUpdate, validateOptimizerSpec } from './validate.js';

/**
 * A stateful optimizer over a host parameter tree. Slots are named `<slot>.<param>`:
 * `momentum.<p>` (SGD with momentum > 0), `adam_m.<p>` and `adam_v.<p>` (Adam/AdamW).
 */
export interface HostOptimizer {
  /**
   * One step, in place: for each group the transformed update (PyTorch semantics, step size
   * lr·scheduleFactor(schedule, stepCount, lr)), then that group's projection (PGD). A group
   * with lr 0 is left untouched (no update, no slot change, no projection).
   */
  step(params: ParamTree, grads: ParamTree): void;
  /** Number of steps taken. */
  readonly stepCount: number;
  /** A copy of the optimizer slots. */
  slots(): ParamTree;
  /** Replaces the slots (every slot this optimizer has, same shapes) and the step count (resume). */
  setState(slots: ParamTree, stepCount: number): void;
}

/** Names of the slots an update rule keeps for one parameter. */
export function slotNames(u: ResolvedUpdate, param: string): string[] {
  if (u.kind === 'sgd') return u.momentum !== 0 ? [`momentum.${param}`] : [];
  return [`adam_m.${param}`, `adam_v.${param}`];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Checks that `tensors` has every name with the shapes of `like`; `what` names it in errors. */
export function checkTree(tensors: ParamTree, like: Record<string, readonly number[]>, what: string): void {
  if (tensors === null || typeof tensors !== 'object')
    throw new TypeError(`${what}: expected a parameter tree`);
  for (const [name, shape] of Object.entries(like)) {
    const t: HostTensor | undefined = tensors[name];
    if (!t) throw new RangeError(`${what}: missing "${name}"`);
    if (!sameShape(t.shape, shape)) {
      throw new RangeError(
        `${what}: "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
    }
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new RangeError(
        `${what}: "${name}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`,
      );
    }
  }
}

/** Throws naming the parameter when a gradient has a NaN or infinite entry. */
export function checkFinite(grads: ParamTree, names: readonly string[]): void {
  for (const name of names) {
    const g = grads[name]!.data;
    for (let i = 0; i < g.length; i++) {
      if (!Number.isFinite(g[i]!)) {
        throw new RangeError(
          `optimizer step: gradient of "${name}" has a non-finite entry ${g[i]} at index ${i}`,
        );
      }
    }
  }
}

/** Anchors default to a copy of the parameters; given anchors must cover every parameter. */
export function resolveAnchors(params: ParamTree, anchors: ParamTree | undefined): ParamTree {
  const shapes = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, t.shape]));
  if (anchors === undefined) return cloneParams(params);
  checkTree(anchors, shapes, 'anchors');
  const out: ParamTree = {};
  for (const k of Object.keys(params))
    out[k] = { shape: [...anchors[k]!.shape], data: anchors[k]!.data.slice() };
  return out;
}

/**
 * Creates a host (float32 storage, float64 arithmetic per element) optimizer for `params`:
 * parameter groups with their own lr, schedule and projection; updates with torch.optim
 * semantics (SGD momentum/dampening/nesterov/weight decay with the first momentum step
 * buf = g; Adam/AdamW with bias correction). Anchors θ0 of Frobenius balls default to a copy of
 * `params` at creation. Validates the spec against the parameter names (errors name them).
 */
export function createHostOptimizer(
  spec: OptimizerSpec,
  params: ParamTree,
  anchors?: ParamTree,
): HostOptimizer {
  if (params === null || typeof params !== 'object')
    throw new TypeError('createHostOptimizer: params must be a ParamTree');
  const names = Object.keys(params);
  const updates = validateOptimizerSpec(spec, names);
  const shapes: Record<string, readonly number[]> = Object.fromEntries(
    names.map((k) => [k, [...params[k]!.shape]]),
  );
  checkTree(params, shapes, 'params');
  const anchorTree = resolveAnchors(params, anchors);
  const slotShapes: Record<string, readonly number[]> = {};
  spec.groups.forEach((g, i) => {
    for (const p of g.params) for (const s of slotNames(updates[i]!, p)) slotShapes[s] = shapes[p]!;
  });
  let slots: ParamTree = {};
  for (const [s, shape] of Object.entries(slotShapes)) {
    slots[s] = { shape: [...shape], data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
  }
  let t = 0;

  const step = (ps: ParamTree, grads: ParamTree): void => {
    checkTree(ps, shapes, 'params');
    checkTree(grads, shapes, 'grads');
    checkFinite(grads, names);
    spec.groups.forEach((g, gi) => {
      if (g.lr === 0) return;
      const u = updates[gi]!;
      const lr = g.lr * scheduleFactor(g.schedule, t, g.lr);
      for (const name of g.params) {
        const p = ps[name]!.data;
        const gr = grads[name]!.data;
        const n = p.length;
        if (u.kind === 'sgd') {
          const buf = u.momentum !== 0 ? slots[`momentum.${name}`]!.data : undefined;
          for (let i = 0; i < n; i++) {
            let d = gr[i]! + u.weightDecay * p[i]!;
            if (buf) {
              const b = t === 0 ? d : u.momentum * buf[i]! + (1 - u.dampening) * d;
              buf[i] = b;
              const bf = buf[i]!;
              d = u.nesterov ? d + u.momentum * bf : bf;
            }
            p[i] = p[i]! - lr * d;
          }
        } else {
          const m = slots[`adam_m.${name}`]!.data;
          const v = slots[`adam_v.${name}`]!.data;
          const k = t + 1;
          const bc1 = 1 - u.beta1 ** k;
          const bc2Sqrt = Math.sqrt(1 - u.beta2 ** k);
          const stepSize = lr / bc1;
          const decay = u.kind === 'adamw' ? 1 - lr * u.weightDecay : 1;
          for (let i = 0; i < n; i++) {
            const pi = decay * p[i]!;
            const gi2 = u.kind === 'adam' ? gr[i]! + u.weightDecay * p[i]! : gr[i]!;
            m[i] = u.beta1 * m[i]! + (1 - u.beta1) * gi2;
            v[i] = u.beta2 * v[i]! + (1 - u.beta2) * gi2 * gi2;
            const denom = Math.sqrt(v[i]!) / bc2Sqrt + u.eps;
            p[i] = pi - (stepSize * m[i]!) / denom;
          }
        }
      }
      if (g.projection && g.projection.kind !== 'none') {
        projectOnto(
          g.projection,
          g.params.map((n) => ps[n]!.data),
          g.params.map((n) => anchorTree[n]!.data),
          g.params.map((n) => shapes[n]!),
        );
      }
    });
    t++;
  };

  return {
    step,
    get stepCount() {
      return t;
    },
    slots: () => cloneParams(slots),
    setState(newSlots: ParamTree, stepCount: number) {
      if (!Number.isInteger(stepCount) || stepCount < 0) {
        throw new RangeError(`setState: stepCount must be an integer ≥ 0, got ${stepCount}`);
      }
      checkTree(newSlots, slotShapes, 'setState slots');
      const next: ParamTree = {};
      for (const s of Object.keys(slotShapes))
        next[s] = { shape: [...slotShapes[s]!], data: newSlots[s]!.data.slice() };
      slots = next;
      t = stepCount;
    },
  };
}
