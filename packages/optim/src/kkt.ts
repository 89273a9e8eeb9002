import type { ParamTree } from '@narrownet/models';
import { checkFinite, checkTree, resolveAnchors } from './host.js';
import { projectOnto } from './projection.js';
import type { OptimizerSpec, ProjectionSpec } from './spec.js';
import { validateOptimizerSpec } from './validate.js';

/** Stationarity of one group: see {@link kktResidual}. */
export interface GroupStationarity {
  /** The group's parameter names. */
  params: string[];
  /** ‖θ_g − P_g(θ_g − η∇_gℓ)‖/η (float64). */
  residual: number;
  /** Whether the group's constraint is active at θ (θ on its boundary, relative tolerance 1e-5). */
  active: boolean;
  /** ‖θ_g − θ0_g‖_F for a frobeniusBall group. */
  distance?: number;
  /** Whether the group has lr 0 (its residual is reported but not part of the overall one). */
  frozen: boolean;
}

const TOL = 1e-5;

function isActive(p: ProjectionSpec | undefined, xs: Float64Array[], dist: number | undefined): boolean {
  if (!p || p.kind === 'none') return false;
  if (p.kind === 'frobeniusBall') return dist! >= p.radius * (1 - TOL);
  let mn = Number.POSITIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  for (const x of xs) {
    for (let i = 0; i < x.length; i++) {
      mn = Math.min(mn, x[i]!);
      mx = Math.max(mx, x[i]!);
    }
  }
  if (p.kind === 'box') {
    const tol = TOL * Math.max(1, Math.abs(p.lo), Math.abs(p.hi));
    return mn <= p.lo + tol || mx >= p.hi - tol;
  }
  return mn <= p.zeta * (1 + TOL) || mx >= p.kappa * mn * (1 - TOL);
}

/**
 * Stationarity of the constrained problem min ℓ(θ) s.t. θ_g ∈ C_g (per group) by the
 * projected-gradient mapping ‖θ − P(θ − η∇ℓ)‖/η (zero exactly at KKT points of a convex
 * feasible set; for unconstrained groups it is ‖∇ℓ‖), overall over the groups with lr > 0 and
 * per group, with whether each constraint is active and ‖W − W0‖_F for balls. Computed in float64.
 * Anchors default to `params` (so balls are centred at the given point unless you pass θ0).
 * For `zetaKappa` the exact projection is used whatever `method` says (the heuristic is not a
 * projection, so its mapping does not characterise KKT points).
 */
export function kktResidual(
  spec: OptimizerSpec,
  params: ParamTree,
  grads: ParamTree,
  anchors?: ParamTree,
  eta = 1,
): { residual: number; groups: GroupStationarity[] } {
  if (!(typeof eta === 'number' && Number.isFinite(eta) && eta > 0)) {
    throw new RangeError(`kktResidual: eta must be a finite number > 0, got ${eta}`);
  }
  const names = Object.keys(params ?? {});
  validateOptimizerSpec(spec, names);
  const shapes = Object.fromEntries(names.map((k) => [k, params[k]!.shape]));
  checkTree(params, shapes, 'params');
  checkTree(grads, shapes, 'grads');
  checkFinite(grads, names);
  const a = resolveAnchors(params, anchors);
  let total = 0;
  const groups = spec.groups.map((g): GroupStationarity => {
    const xs = g.params.map((n) => Float64Array.from(params[n]!.data));
    const ys = g.params.map((n) => {
      const y = Float64Array.from(params[n]!.data);
      const gr = grads[n]!.data;
      for (let i = 0; i < y.length; i++) y[i] = y[i]! - eta * gr[i]!;
      return y;
    });
    const x0 = g.params.map((n) => Float64Array.from(a[n]!.data));
    let proj = g.projection;
    if (proj?.kind === 'zetaKappa' && proj.method === 'paperHeuristic') proj = { ...proj, method: 'exact' };
    if (proj && proj.kind !== 'none') projectOnto(proj, ys, x0);
    let s = 0;
    let d2 = 0;
    xs.forEach((x, k) => {
      for (let i = 0; i < x.length; i++) {
        const r = x[i]! - ys[k]![i]!;
        s += r * r;
        const d = x[i]! - x0[k]![i]!;
        d2 += d * d;
      }
    });
    const frozen = g.lr === 0;
    if (!frozen) total += s;
    const distance = g.projection?.kind === 'frobeniusBall' ? Math.sqrt(d2) : undefined;
    const out: GroupStationarity = {
      params: [...g.params],
      residual: Math.sqrt(s) / eta,
      active: isActive(g.projection, xs, distance),
      frozen,
    };
    if (distance !== undefined) out.distance = distance;
    return out;
  });
  return { residual: Math.sqrt(total) / eta, groups };
}
