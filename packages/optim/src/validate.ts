import { validateProjection } from './projection.js';
import { validateSchedule } from './schedule.js';
import type { GroupSpec, OptimizerSpec, UpdateSpec } from './spec.js';

/** Update hyperparameters with PyTorch defaults filled in. */
export interface ResolvedUpdate {
  kind: 'sgd' | 'adam' | 'adamw';
  momentum: number;
  dampening: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

function num(v: unknown, field: string, where: string, lo = 0, loInclusive = true, hi = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (loInclusive ? v < lo : v <= lo) || v > hi) {
    throw new RangeError(
      `${where}: ${field} must be a finite number ${loInclusive ? '≥' : '>'} ${lo}${hi < Infinity ? ` and ≤ ${hi}` : ''}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** Fills PyTorch's defaults into an update spec and checks its fields. */
export function resolveUpdate(u: UpdateSpec, where: string): ResolvedUpdate {
  if (u === null || typeof u !== 'object') throw new TypeError(`${where}: update must be an object`);
  if (u.kind === 'sgd') {
    const momentum = num(u.momentum ?? 0, 'momentum', where);
    const dampening = num(u.dampening ?? 0, 'dampening', where);
    const nesterov = u.nesterov ?? false;
    if (typeof nesterov !== 'boolean') throw new RangeError(`${where}: nesterov must be a boolean`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new RangeError(`${where}: nesterov needs momentum > 0 and dampening 0 (as in PyTorch)`);
    }
    const weightDecay = num(u.weightDecay ?? 0, 'weightDecay', where);
    return { kind: 'sgd', momentum, dampening, nesterov, beta1: 0, beta2: 0, eps: 0, weightDecay };
  }
  if (u.kind === 'adam' || u.kind === 'adamw') {
    const beta1 = num(u.beta1 ?? 0.9, 'beta1', where, 0, true, 1);
    const beta2 = num(u.beta2 ?? 0.999, 'beta2', where, 0, true, 1);
    if (beta1 >= 1) throw new RangeError(`${where}: beta1 must be < 1, got ${beta1}`);
    if (beta2 >= 1) throw new RangeError(`${where}: beta2 must be < 1, got ${beta2}`);
    const eps = num(u.eps ?? 1e-8, 'eps', where);
    const weightDecay = num(u.weightDecay ?? (u.kind === 'adamw' ? 1e-2 : 0), 'weightDecay', where);
    return { kind: u.kind, momentum: 0, dampening: 0, nesterov: false, beta1, beta2, eps, weightDecay };
  }
  throw new RangeError(
    `${where}: unknown update kind ${JSON.stringify((u as { kind?: unknown }).kind)}; expected sgd, adam or adamw`,
  );
}

/** Human-readable name of a group in error messages. */
export function groupLabel(g: GroupSpec, i: number): string {
  return `optimizer group ${i} (params ${Array.isArray(g?.params) ? g.params.join(', ') : '?'})`;
}

/**
 * Checks an optimizer spec against the parameter names: every parameter in exactly one group,
 * no unknown names, lr ≥ 0 finite, valid update/schedule/projection. Throws naming the parameter.
 */
export function validateOptimizerSpec(spec: OptimizerSpec, paramNames: readonly string[]): ResolvedUpdate[] {
  if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.groups)) {
    throw new TypeError('optimizer spec: expected { groups: GroupSpec[] }');
  }
  const owner = new Map<string, number>();
  const known = new Set(paramNames);
  const resolved: ResolvedUpdate[] = [];
  spec.groups.forEach((g, i) => {
    const where = groupLabel(g, i);
    if (!g || !Array.isArray(g.params) || g.params.length === 0) {
      throw new RangeError(`optimizer group ${i}: params must be a non-empty array of parameter names`);
    }
    for (const p of g.params) {
      if (!known.has(p)) {
        throw new RangeError(`${where}: unknown parameter "${p}" (known: ${paramNames.join(', ')})`);
      }
      if (owner.has(p)) {
        throw new RangeError(
          `parameter "${p}" is in optimizer groups ${owner.get(p)} and ${i}; it must be in exactly one`,
        );
      }
      owner.set(p, i);
    }
    if (typeof g.lr !== 'number' || !Number.isFinite(g.lr) || g.lr < 0) {
      throw new RangeError(`${where}: lr must be a finite number ≥ 0, got ${JSON.stringify(g.lr)}`);
    }
    resolved.push(resolveUpdate(g.update, where));
    validateSchedule(g.schedule, `${where} schedule`);
    validateProjection(g.projection, `${where} projection`);
  });
  for (const p of paramNames) {
    if (!owner.has(p))
      throw new RangeError(`parameter "${p}" is in no optimizer group; put it in exactly one (lr 0 freezes)`);
  }
  return resolved;
}
