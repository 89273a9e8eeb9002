import { checkNumber, checkObject } from './check.js';
import type { ProjectionSpec } from './spec.js';

/** Smallest positive normal float32: the floor of a scaled norm's scale (0/0 would be NaN). */
export const FLOAT32_MIN_NORMAL = 2 ** -126;

/** Arrays a projection reads and writes in place (float32 storage or float64 analysis). */
export type NumArray = Float32Array | Float64Array;

/**
 * Checks a projection spec and throws a RangeError naming the field by its path (`path` is where
 * the spec sits, e.g. `optimizer.groups[0].projection`): `<path>.radius: must be a finite number > 0,
 * got 0`.
 */
export function validateProjection(spec: ProjectionSpec | undefined, path = 'projection'): void {
  if (spec === undefined) return;
  checkObject(spec, path);
  switch (spec.kind) {
    case 'none':
      return;
    case 'frobeniusBall':
      checkNumber(spec.radius, `${path}.radius`, { min: 0, minOpen: true });
      return;
    case 'zetaKappa':
      checkNumber(spec.zeta, `${path}.zeta`, { min: 0, minOpen: true });
      checkNumber(spec.kappa, `${path}.kappa`, { min: 1 });
      if (spec.method !== 'exact' && spec.method !== 'paperHeuristic') {
        throw new RangeError(
          `${path}.method: must be exact or paperHeuristic, got ${JSON.stringify(spec.method)}`,
        );
      }
      if (spec.perRow !== undefined && typeof spec.perRow !== 'boolean')
        throw new RangeError(`${path}.perRow: must be a boolean, got ${JSON.stringify(spec.perRow)}`);
      return;
    case 'box':
      if (checkNumber(spec.lo, `${path}.lo`) > checkNumber(spec.hi, `${path}.hi`)) {
        throw new RangeError(`${path}.lo: must be ≤ hi, got lo ${spec.lo} > hi ${spec.hi}`);
      }
      return;
    default:
      throw new RangeError(
        `${path}.kind: unknown projection kind ${JSON.stringify((spec as { kind?: unknown }).kind)}; expected none, frobeniusBall, zetaKappa or box`,
      );
  }
}

/**
 * Optimal lower level t* ≥ ζ of the exact projection onto B_{ζ,κ} = {v ≥ ζ, max v ≤ κ·min v}.
 * B = ∪_{t≥ζ} [t, κt]^n, so P(v) = clip(v, t*, κt*) with t* the minimiser over t ≥ ζ of the convex
 * piecewise quadratic g(t) = Σ_i dist(v_i, [t, κt])² = Σ_i (t − v_i)₊² + (v_i − κt)₊². Its
 * derivative g'(t)/2 = Σ_i (t − v_i)₊ − κ Σ_i (v_i − κt)₊ is nondecreasing and linear between
 * the breakpoints {v_i} ∪ {v_i/κ}: bisect the sorted breakpoints for the sign change, then solve
 * the linear piece exactly (float64).
 */
export function zetaKappaLevel(v: ArrayLike<number>, zeta: number, kappa: number): number {
  const n = v.length;
  const slope = (t: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      if (x < t) s += t - x;
      const k = kappa * t;
      if (x > k) s -= kappa * (x - k);
    }
    return s;
  };
  if (n === 0 || slope(zeta) >= 0) return zeta;
  const bps: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (x > zeta) bps.push(x);
    if (x / kappa > zeta) bps.push(x / kappa);
  }
  bps.sort((a, b) => a - b);
  // Find the first breakpoint with slope ≥ 0 (exists unless t* lies beyond the last one).
  let lo = -1;
  let hi = bps.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (slope(bps[mid]!) >= 0) hi = mid;
    else lo = mid;
  }
  const left = lo < 0 ? zeta : bps[lo]!;
  if (hi < bps.length && slope(bps[hi]!) === 0) return bps[hi]!;
  const right = hi < bps.length ? bps[hi]! : Number.POSITIVE_INFINITY;
  // On (left, right) the active sets are fixed: slope(t) = a·t − b.
  const probe = Number.isFinite(right) ? (left + right) / 2 : left + 1 + Math.abs(left);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (x < probe) {
      a += 1;
      b += x;
    }
    if (x > kappa * probe) {
      a += kappa * kappa;
      b += kappa * x;
    }
  }
  const t = b / a;
  return Math.min(Math.max(t, left), right);
}

/** Exact Euclidean projection onto B_{ζ,κ}, in place (see {@link zetaKappaLevel}). */
function zetaKappaExact(v: NumArray, zeta: number, kappa: number): void {
  const t = zetaKappaLevel(v, zeta, kappa);
  const hi = kappa * t;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    v[i] = Math.min(Math.max(x, t), hi);
  }
}

/**
 * Zhang et al. App. H.1 `projectv`, transcribed: with vmax, argmax, vmin, argmin read once at the
 * start (first index on ties, like torch.argmax/argmin), `if vmin < ζ: v[argmin] = ζ`, then
 * `if vmax/vmin > κ: v[argmax] = κ·vmin` (the OLD vmin). A heuristic: the result need not lie in
 * B_{ζ,κ} (e.g. ζ = 0.001, κ = 1, v = [0.0005, 0.01] → [0.001, 0.0005]).
 */
function zetaKappaPaper(v: NumArray, zeta: number, kappa: number): void {
  if (v.length === 0) return;
  let amax = 0;
  let amin = 0;
  for (let i = 1; i < v.length; i++) {
    if (v[i]! > v[amax]!) amax = i;
    if (v[i]! < v[amin]!) amin = i;
  }
  const vmax = v[amax]!;
  const vmin = v[amin]!;
  if (vmin < zeta) v[amin] = zeta;
  if (vmax / vmin > kappa) v[amax] = kappa * vmin;
}

function allFinite(x: NumArray): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return false;
  return true;
}

/**
 * The rows of a tensor with `size` entries and shape `shape` (slices along the last axis; a
 * vector or a missing shape is one row), as [offset, length] pairs.
 */
export function rowsOf(size: number, shape: readonly number[] | undefined): [number, number][] {
  const len = shape && shape.length > 1 ? shape[shape.length - 1]! : size;
  const out: [number, number][] = [];
  if (len > 0) for (let o = 0; o < size; o += len) out.push([o, len]);
  return out;
}

/**
 * Projects the arrays of one parameter group onto the feasible set `spec`, in place.
 * - `none`: no change.
 * - `frobeniusBall`: JOINT ball ‖x − x0‖_F ≤ radius over all arrays (x0 = `anchors`, default 0):
 *   x ← x0 + radius·(x − x0)/‖x − x0‖ when outside. The norm is scaled (max |x − x0| factored
 *   out before squaring, accumulated in float64), so it cannot overflow for any finite input.
 * - `zetaKappa` `exact`: the Euclidean projection onto the convex set {v ≥ ζ, max v ≤ κ·min v},
 *   applied to the concatenation of the arrays (normally the single array v); for κ = 1 this is
 *   max(ζ, mean v)·1. `paperHeuristic`: App. H.1's `projectv`, applied to each array separately.
 *   With `perRow`, either one is applied to each row of each array separately (rows along the
 *   last axis of `shapes`, which `perRow` needs: one shape per array).
 * - `box`: elementwise clamp to [lo, hi].
 *
 * Non-finite input is never projected back into the set: when an array of the group has a NaN
 * or infinite entry (a diverged iterate), every entry of the group becomes NaN, on every
 * lowering (host, tfjs, ONNX), so the run reads as diverged instead of being reset.
 */
export function projectOnto(
  spec: ProjectionSpec,
  values: NumArray[],
  anchors?: NumArray[],
  shapes?: readonly (readonly number[])[],
): void {
  validateProjection(spec);
  if (!Array.isArray(values)) throw new TypeError('projectOnto: values must be an array of arrays');
  if (spec.kind === 'zetaKappa' && spec.perRow) {
    if (!Array.isArray(shapes) || shapes.length !== values.length)
      throw new RangeError('projectOnto: a perRow zetaKappa projection needs shapes, one per value array');
    shapes.forEach((sh: readonly number[], k: number) => {
      if (sh.reduce((a: number, b: number) => a * b, 1) !== values[k]!.length)
        throw new RangeError(
          `projectOnto: shapes[${k}] [${sh.join(', ')}] does not match the ${values[k]!.length} entries of values[${k}]`,
        );
    });
  }
  if (anchors !== undefined) {
    if (!Array.isArray(anchors) || anchors.length !== values.length) {
      throw new RangeError(
        `projectOnto: anchors must have one array per value array (${values.length}), got ${anchors?.length}`,
      );
    }
    for (let k = 0; k < values.length; k++) {
      if (anchors[k]!.length !== values[k]!.length) {
        throw new RangeError(
          `projectOnto: anchors[${k}] has ${anchors[k]!.length} entries, values[${k}] has ${values[k]!.length}`,
        );
      }
    }
  }
  if (spec.kind === 'none') return;
  if (!values.every(allFinite)) {
    for (const x of values) x.fill(Number.NaN);
    return;
  }
  switch (spec.kind) {
    case 'box':
      for (const x of values) {
        for (let i = 0; i < x.length; i++) x[i] = Math.min(Math.max(x[i]!, spec.lo), spec.hi);
      }
      return;
    case 'frobeniusBall': {
      const delta = (k: number, i: number): number => values[k]![i]! - (anchors ? anchors[k]![i]! : 0);
      let scale = 0;
      for (let k = 0; k < values.length; k++)
        for (let i = 0; i < values[k]!.length; i++) scale = Math.max(scale, Math.abs(delta(k, i)));
      if (scale === 0) return;
      let s = 0;
      for (let k = 0; k < values.length; k++)
        for (let i = 0; i < values[k]!.length; i++) s += (delta(k, i) / scale) ** 2;
      const norm = scale * Math.sqrt(s);
      if (norm <= spec.radius) return;
      const f = spec.radius / norm;
      for (let k = 0; k < values.length; k++) {
        const x = values[k]!;
        const a = anchors?.[k];
        for (let i = 0; i < x.length; i++) {
          const a0 = a ? a[i]! : 0;
          x[i] = a0 + f * (x[i]! - a0);
        }
      }
      return;
    }
    case 'zetaKappa': {
      if (spec.perRow) {
        const one = spec.method === 'paperHeuristic' ? zetaKappaPaper : zetaKappaExact;
        values.forEach((x, k) => {
          for (const [o, len] of rowsOf(x.length, shapes![k]))
            one(x.subarray(o, o + len), spec.zeta, spec.kappa);
        });
        return;
      }
      if (spec.method === 'paperHeuristic') {
        for (const x of values) zetaKappaPaper(x, spec.zeta, spec.kappa);
        return;
      }
      if (values.length === 1) {
        zetaKappaExact(values[0]!, spec.zeta, spec.kappa);
        return;
      }
      let total = 0;
      for (const x of values) total += x.length;
      const all = new Float64Array(total);
      let o = 0;
      for (const x of values) {
        all.set(x, o);
        o += x.length;
      }
      zetaKappaExact(all, spec.zeta, spec.kappa);
      o = 0;
      for (const x of values) {
        x.set(all.subarray(o, o + x.length));
        o += x.length;
      }
      return;
    }
  }
}
