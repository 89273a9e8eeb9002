import type { ParamTree } from '@narrownet/models';
import { checkFinite, checkTree, resolveAnchors } from './host.js';
import { projectOnto, rowsOf } from './projection.js';
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

function isActive(
  p: ProjectionSpec | undefined,
  xs: Float64Array[],
  dist: number | undefined,
  shapes: readonly (readonly number[])[],
): boolean {
  if (!p || p.kind === 'none') return false;
  if (p.kind === 'frobeniusBall') return dist! >= p.radius * (1 - TOL);
  // The vectors the constraint acts on: every row of every tensor for a perRow B_{ζ,κ}, else
  // all entries of the group together.
  const parts: Float64Array[][] =
    p.kind === 'zetaKappa' && p.perRow
      ? xs.flatMap((x, k) => rowsOf(x.length, shapes[k]).map(([o, len]) => [x.subarray(o, o + len)]))
      : [xs];
  return parts.some((part) => {
    let mn = Number.POSITIVE_INFINITY;
    let mx = Number.NEGATIVE_INFINITY;
    for (const x of part) {
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
  });
}

/** Validates spec, params and finite grads of one shape; returns the anchors (default: params). */
function checkedAnchors(
  spec: OptimizerSpec,
  params: ParamTree,
  grads: ParamTree,
  anchors?: ParamTree,
): ParamTree {
  const names = Object.keys(params ?? {});
  validateOptimizerSpec(spec, names);
  const shapes = Object.fromEntries(names.map((k) => [k, params[k]!.shape]));
  checkTree(params, shapes, 'params');
  checkTree(grads, shapes, 'grads');
  checkFinite(grads, names);
  return resolveAnchors(params, anchors);
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
  const a = checkedAnchors(spec, params, grads, anchors);
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
    const shapes = g.params.map((n) => params[n]!.shape);
    if (proj && proj.kind !== 'none') projectOnto(proj, ys, x0, shapes);
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
      active: isActive(g.projection, xs, distance, shapes),
      frozen,
    };
    if (distance !== undefined) out.distance = distance;
    return out;
  });
  return { residual: Math.sqrt(total) / eta, groups };
}

/** What {@link relativeStationarity} returns. */
export interface RelativeStationarity {
  /**
   * ‖P_T(−∇ℓ)‖ / ‖∇ℓ‖ over the trainable groups, in [0, 1]: 0 at a KKT point (every descent
   * direction is blocked by an active constraint), 1 where no constraint blocks the gradient.
   */
  relative: number;
  /** ‖P_T(−∇ℓ)‖: the norm of the steepest feasible descent direction (tangent-cone projection). */
  projectedGradientNorm: number;
  /** ‖∇ℓ‖ over the trainable groups. */
  gradientNorm: number;
  /** Per group (same order as the spec), with the same two norms. */
  groups: { params: string[]; projectedGradientNorm: number; gradientNorm: number; frozen: boolean }[];
}

/**
 * Scale-free stationarity of the constrained problem min ℓ(θ) s.t. θ_g ∈ C_g: the share of the
 * gradient that the constraints do not block, ‖P_T(−∇ℓ)‖/‖∇ℓ‖ with P_T the projection onto the
 * tangent cone of the feasible set. It is evaluated in float64 at P(θ) — for a ball, a point within
 * relative 1e-5 of the sphere (the tolerance of `active` in {@link kktResidual}) is put on it, as
 * float32 iterates sit a few ulps inside or outside — as the limit of the projected-gradient mapping ‖x − P(x − η∇ℓ)‖/η for a
 * step η‖∇ℓ‖ = 1e-7·max(1, ‖x‖) per group. Unlike {@link kktResidual} with η = 1 it does not depend
 * on the scale of the loss, so "is this end point a KKT point?" has a comparable answer across
 * runs. Frozen groups (lr 0) are reported but left out of the totals. `zetaKappa` uses the exact
 * projection.
 */
export function relativeStationarity(
  spec: OptimizerSpec,
  params: ParamTree,
  grads: ParamTree,
  anchors?: ParamTree,
): RelativeStationarity {
  const a = checkedAnchors(spec, params, grads, anchors);
  let pg2 = 0;
  let g2 = 0;
  const groups = spec.groups.map((g) => {
    let proj = g.projection;
    if (proj?.kind === 'zetaKappa' && proj.method === 'paperHeuristic') proj = { ...proj, method: 'exact' };
    const project = proj && proj.kind !== 'none' ? proj : undefined;
    const x0 = g.params.map((n) => Float64Array.from(a[n]!.data));
    const xs = g.params.map((n) => Float64Array.from(params[n]!.data));
    const shapes = g.params.map((n) => params[n]!.shape);
    if (project?.kind === 'frobeniusBall') {
      // float32 iterates on the sphere sit a few ulps inside or outside it: a point within the
      // relative tolerance of `active` is put exactly on the sphere, so the small step below sees
      // the boundary it is on
      let d2 = 0;
      xs.forEach((x, k) => {
        for (let i = 0; i < x.length; i++) d2 += (x[i]! - x0[k]![i]!) ** 2;
      });
      const dist = Math.sqrt(d2);
      if (dist > 0 && dist >= project.radius * (1 - TOL)) {
        const f = project.radius / dist;
        xs.forEach((x, k) => {
          for (let i = 0; i < x.length; i++) x[i] = x0[k]![i]! + f * (x[i]! - x0[k]![i]!);
        });
      }
    } else if (project) projectOnto(project, xs, x0, shapes);
    let xn = 0;
    let gn = 0;
    g.params.forEach((n, k) => {
      const gr = grads[n]!.data;
      for (let i = 0; i < gr.length; i++) {
        gn += gr[i]! * gr[i]!;
        xn += xs[k]![i]! * xs[k]![i]!;
      }
    });
    const gradientNorm = Math.sqrt(gn);
    let projected = gradientNorm;
    if (project && gradientNorm > 0) {
      const eta = (1e-7 * Math.max(1, Math.sqrt(xn))) / gradientNorm;
      const ys = g.params.map((n, k) => {
        const gr = grads[n]!.data;
        const y = Float64Array.from(xs[k]!);
        for (let i = 0; i < y.length; i++) y[i] = y[i]! - eta * gr[i]!;
        return y;
      });
      projectOnto(project, ys, x0, shapes);
      let s = 0;
      ys.forEach((y, k) => {
        for (let i = 0; i < y.length; i++) s += (xs[k]![i]! - y[i]!) ** 2;
      });
      projected = Math.sqrt(s) / eta;
    }
    const frozen = g.lr === 0;
    if (!frozen) {
      pg2 += projected * projected;
      g2 += gn;
    }
    return { params: [...g.params], projectedGradientNorm: projected, gradientNorm, frozen };
  });
  const gradientNorm = Math.sqrt(g2);
  const projectedGradientNorm = Math.sqrt(pg2);
  return {
    relative: gradientNorm > 0 ? Math.min(1, projectedGradientNorm / gradientNorm) : 0,
    projectedGradientNorm,
    gradientNorm,
    groups,
  };
}
