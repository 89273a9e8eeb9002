import { type NumberRange, checkNumber, checkObject } from './check.js';
import { validateProjection } from './projection.js';
import { validateSchedule } from './schedule.js';
import type { OptimizerSpec, UpdateSpec } from './spec.js';

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

/**
 * Fills PyTorch's defaults into an update spec and checks its fields, each against its range:
 * SGD momentum in [0, 1) (a buffer with μ ≥ 1 never forgets), dampening in [0, 1], weightDecay ≥ 0;
 * Adam/AdamW beta1, beta2 in [0, 1), eps ≥ 0, weightDecay ≥ 0. Errors name the field by its path
 * (`path` is where the spec sits, e.g. `optimizer.groups[0].update`).
 */
export function resolveUpdate(u: UpdateSpec, path: string): ResolvedUpdate {
  checkObject(u, path);
  const field = (name: string, value: unknown, fallback: number, range: NumberRange): number =>
    checkNumber(value ?? fallback, `${path}.${name}`, range);
  const unit = { min: 0, max: 1, maxOpen: true };
  if (u.kind === 'sgd') {
    const momentum = field('momentum', u.momentum, 0, unit);
    const dampening = field('dampening', u.dampening, 0, { min: 0, max: 1 });
    const nesterov = u.nesterov ?? false;
    if (typeof nesterov !== 'boolean')
      throw new RangeError(`${path}.nesterov: must be a boolean, got ${JSON.stringify(nesterov)}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new RangeError(`${path}.nesterov: needs momentum > 0 and dampening 0 (as in PyTorch)`);
    }
    const weightDecay = field('weightDecay', u.weightDecay, 0, { min: 0 });
    return { kind: 'sgd', momentum, dampening, nesterov, beta1: 0, beta2: 0, eps: 0, weightDecay };
  }
  if (u.kind === 'adam' || u.kind === 'adamw') {
    const beta1 = field('beta1', u.beta1, 0.9, unit);
    const beta2 = field('beta2', u.beta2, 0.999, unit);
    const eps = field('eps', u.eps, 1e-8, { min: 0 });
    const weightDecay = field('weightDecay', u.weightDecay, u.kind === 'adamw' ? 1e-2 : 0, { min: 0 });
    return { kind: u.kind, momentum: 0, dampening: 0, nesterov: false, beta1, beta2, eps, weightDecay };
  }
  throw new RangeError(
    `${path}.kind: unknown update kind ${JSON.stringify((u as { kind?: unknown }).kind)}; expected sgd, adam or adamw`,
  );
}

/**
 * Checks an optimizer spec against the parameter names: every parameter in exactly one group,
 * no unknown names, lr ≥ 0 finite, valid update/schedule/projection — every field against its
 * range, in this one place. Errors name the field by its path under `path` (default
 * `optimizer`), e.g. `optimizer.groups[0].update.momentum: must be a finite number in [0, 1), got -1`.
 */
export function validateOptimizerSpec(
  spec: OptimizerSpec,
  paramNames: readonly string[],
  path = 'optimizer',
): ResolvedUpdate[] {
  if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.groups) || spec.groups.length === 0) {
    throw new RangeError(`${path}.groups: must be a non-empty array of groups`);
  }
  const owner = new Map<string, number>();
  const known = new Set(paramNames);
  const resolved: ResolvedUpdate[] = [];
  spec.groups.forEach((g, i) => {
    const at = `${path}.groups[${i}]`;
    checkObject(g, at);
    if (!Array.isArray(g.params) || g.params.length === 0) {
      throw new RangeError(`${at}.params: must be a non-empty array of parameter names`);
    }
    for (const p of g.params) {
      if (!known.has(p)) {
        throw new RangeError(`${at}.params: unknown parameter "${p}" (known: ${paramNames.join(', ')})`);
      }
      if (owner.has(p)) {
        throw new RangeError(
          `${at}.params: parameter "${p}" is in optimizer groups ${owner.get(p)} and ${i}; it must be in exactly one`,
        );
      }
      owner.set(p, i);
    }
    checkNumber(g.lr, `${at}.lr`, { min: 0 });
    resolved.push(resolveUpdate(g.update, `${at}.update`));
    validateSchedule(g.schedule, `${at}.schedule`);
    validateProjection(g.projection, `${at}.projection`);
  });
  for (const p of paramNames) {
    if (!owner.has(p))
      throw new RangeError(
        `${path}.groups: parameter "${p}" is in no optimizer group; put it in exactly one (lr 0 freezes)`,
      );
  }
  return resolved;
}
