import { type ParamTree, cloneParams, createRng } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { type OptimizerSpec, createHostOptimizer, kktResidual, projectOnto } from '../src/index.js';

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/**
 * Convex quadratic ℓ(x) = ½ Σ a_i (x_i − c_i)² over x = (W [2,2], b [2]) with the joint ball
 * ‖x − x0‖ ≤ r. Constrained minimiser in closed form up to the scalar λ of the secular equation:
 * x* = x0 + u(λ), u_i(λ) = a_i c'_i / (a_i + λ), c' = c − x0, ‖u(λ)‖ = r (λ = 0 if ‖c'‖ ≤ r);
 * ‖u(λ)‖ decreases in λ, so λ is found by float64 bisection to machine precision.
 */
const a = [1, 2, 3, 4, 5, 6];
const c = [2, -1, 0.5, 3, -2, 1];
const x0 = [0.1, 0.2, -0.3, 0.4, 0, -0.1];
const radius = 1.5;
function constrainedMinimiser(): number[] {
  const cp = c.map((ci, i) => ci - x0[i]!);
  const u = (lam: number) => cp.map((ci, i) => (a[i]! * ci) / (a[i]! + lam));
  const nrm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  let lo = 0;
  let hi = 1;
  if (nrm(u(0)) <= radius) return c.slice();
  while (nrm(u(hi)) > radius) hi *= 2;
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (nrm(u(mid)) > radius) lo = mid;
    else hi = mid;
  }
  return u((lo + hi) / 2).map((ui, i) => x0[i]! + ui);
}
const quadParams = (x: number[]): ParamTree => ({
  W: { shape: [2, 2], data: f32(x.slice(0, 4)) },
  b: { shape: [2], data: f32(x.slice(4)) },
});
const quadGrad = (p: ParamTree): ParamTree => {
  const x = [...p.W!.data, ...p.b!.data];
  const g = x.map((xi, i) => a[i]! * (xi - c[i]!));
  return quadParams(g);
};
const ballSpec = (lr: number): OptimizerSpec => ({
  groups: [
    { params: ['W', 'b'], lr, update: { kind: 'sgd' }, projection: { kind: 'frobeniusBall', radius } },
  ],
});

describe('PGD on a convex quadratic with a joint Frobenius ball', () => {
  const xstar = constrainedMinimiser();
  it('the secular-equation minimiser is on the boundary (the constraint binds)', () => {
    const d = Math.sqrt(xstar.reduce((s, x, i) => s + (x - x0[i]!) ** 2, 0));
    expect(d).toBeCloseTo(radius, 12);
    expect(Math.sqrt(c.reduce((s, x, i) => s + (x - x0[i]!) ** 2, 0))).toBeGreaterThan(radius);
  });
  it('projected gradient descent with step 1/L converges to it', () => {
    const params = quadParams(x0);
    const opt = createHostOptimizer(ballSpec(1 / 6), params);
    for (let t = 0; t < 400; t++) opt.step(params, quadGrad(params));
    const x = [...params.W!.data, ...params.b!.data];
    for (let i = 0; i < 6; i++) expect(Math.abs(x[i]! - xstar[i]!)).toBeLessThan(2e-6);
  });
  it('kktResidual is ~0 at the constrained minimiser, > 0 elsewhere', () => {
    const anchors = quadParams(x0);
    const at = quadParams(xstar);
    const r = kktResidual(ballSpec(0.1), at, quadGrad(at), anchors, 0.5);
    // Only float32 rounding of x* (|δx| ≤ 2^-24·|x|) remains: residual ≲ 2·max a·|δx| ≈ 1e-6.
    expect(r.residual).toBeLessThan(5e-6);
    expect(r.groups[0]!.active).toBe(true);
    expect(r.groups[0]!.distance).toBeCloseTo(radius, 6);
    // At the anchor (interior, gradient non-zero) it is ‖∇ℓ‖; at another boundary point it is > 0.
    const g0 = quadGrad(anchors);
    const r0 = kktResidual(ballSpec(0.1), anchors, g0, anchors, 0.01); // x − ηg stays inside
    const gnorm = Math.sqrt([...g0.W!.data, ...g0.b!.data].reduce((s, x) => s + x * x, 0));
    expect(r0.residual).toBeCloseTo(gnorm, 5);
    expect(r0.groups[0]!.active).toBe(false);
    const other = xstar.map((x, i) => x0[i]! + (i % 2 ? -1 : 1) * (x - x0[i]!));
    const ro = kktResidual(ballSpec(0.1), quadParams(other), quadGrad(quadParams(other)), anchors);
    expect(ro.residual).toBeGreaterThan(0.1);
  });
  it('zetaKappa: the minimiser of ½‖v − c‖² over B_{ζ,κ} is P(c), with residual 0 for any η', () => {
    const cv = new Float64Array([0.3, -1, 2.5, 0.9]);
    const spec: OptimizerSpec = {
      groups: [
        {
          params: ['v'],
          lr: 1,
          update: { kind: 'sgd' },
          projection: { kind: 'zetaKappa', zeta: 0.2, kappa: 2, method: 'exact' },
        },
      ],
    };
    const pv = cv.slice();
    projectOnto(spec.groups[0]!.projection!, [pv]);
    const v = { v: { shape: [4], data: f32(pv) } };
    const grad = { v: { shape: [4], data: f32(Array.from(v.v.data, (x, i) => x - cv[i]!)) } };
    for (const eta of [0.3, 1, 3]) {
      expect(kktResidual(spec, v, grad, undefined, eta).residual).toBeLessThan(1e-6);
    }
    expect(kktResidual(spec, v, grad).groups[0]!.active).toBe(true);
    const w = { v: { shape: [4], data: f32([1, 1, 1, 1]) } };
    const gw = { v: { shape: [4], data: f32(Array.from(w.v.data, (x, i) => x - cv[i]!)) } };
    expect(kktResidual(spec, w, gw).residual).toBeGreaterThan(0.1);
  });
  it('frozen groups are reported but excluded from the overall residual', () => {
    const p = quadParams(x0);
    const spec: OptimizerSpec = {
      groups: [
        { params: ['W'], lr: 0, update: { kind: 'sgd' } },
        { params: ['b'], lr: 1, update: { kind: 'sgd' } },
      ],
    };
    const r = kktResidual(spec, p, quadGrad(p));
    expect(r.groups[0]!.frozen).toBe(true);
    expect(r.groups[0]!.residual).toBeGreaterThan(0);
    expect(r.residual).toBeCloseTo(r.groups[1]!.residual, 12);
  });
});

describe('host optimizer state, groups and errors', () => {
  const rng = createRng(7);
  const start = (): ParamTree => ({
    W: { shape: [3, 2], data: rng.fork('W').fillNormal(new Float32Array(6)) },
    v: { shape: [3], data: f32([0.5, 0.2, 0.9]) },
  });
  const gradAt = (p: ParamTree, t: number): ParamTree => {
    const g = cloneParams(p);
    for (const k of Object.keys(g)) {
      const d = g[k]!.data;
      for (let i = 0; i < d.length; i++) d[i] = Math.sin(d[i]! + t + i);
    }
    return g;
  };
  const spec: OptimizerSpec = {
    groups: [
      {
        params: ['W'],
        lr: 0.1,
        update: { kind: 'sgd', momentum: 0.9, nesterov: true },
        projection: { kind: 'frobeniusBall', radius: 0.3 },
        schedule: { kind: 'cosine', tMax: 10 },
      },
      {
        params: ['v'],
        lr: 0.05,
        update: { kind: 'adamw' },
        projection: { kind: 'zetaKappa', zeta: 0.1, kappa: 2, method: 'exact' },
      },
    ],
  };

  it('setState resumes bit-identically', () => {
    const p1 = start();
    const o1 = createHostOptimizer(spec, p1);
    for (let t = 0; t < 5; t++) o1.step(p1, gradAt(p1, t));
    const snap = { params: cloneParams(p1), slots: o1.slots(), step: o1.stepCount };
    expect(Object.keys(snap.slots).sort()).toEqual(['adam_m.v', 'adam_v.v', 'momentum.W']);
    for (let t = 5; t < 12; t++) o1.step(p1, gradAt(p1, t));
    const p2 = snap.params;
    const o2 = createHostOptimizer(spec, p2, start());
    o2.setState(snap.slots, snap.step);
    for (let t = 5; t < 12; t++) o2.step(p2, gradAt(p2, t));
    expect(Array.from(p2.W!.data)).toEqual(Array.from(p1.W!.data));
    expect(Array.from(p2.v!.data)).toEqual(Array.from(p1.v!.data));
  });

  it('lr 0 freezes a group (no update, no projection)', () => {
    const p = start();
    const before = cloneParams(p);
    const frozen: OptimizerSpec = {
      groups: [
        {
          params: ['W'],
          lr: 0,
          update: { kind: 'sgd', momentum: 0.9 },
          projection: { kind: 'box', lo: 0, hi: 0 },
        },
        { params: ['v'], lr: 0.1, update: { kind: 'sgd' } },
      ],
    };
    const o = createHostOptimizer(frozen, p);
    o.step(p, gradAt(p, 0));
    expect(Array.from(p.W!.data)).toEqual(Array.from(before.W!.data));
    expect(Array.from(p.v!.data)).not.toEqual(Array.from(before.v!.data));
  });

  const base = (over: object): OptimizerSpec => ({
    groups: [
      { params: ['W'], lr: 0.1, update: { kind: 'sgd' }, ...over },
      { params: ['v'], lr: 0.1, update: { kind: 'sgd' } },
    ],
  });
  it.each([
    [{ lr: -1 }, 'optimizer.groups[0].lr: must be a finite number ≥ 0, got -1'],
    [{ projection: { kind: 'frobeniusBall', radius: 0 } }, 'optimizer.groups[0].projection.radius: must be'],
    [
      { projection: { kind: 'zetaKappa', zeta: -1, kappa: 1, method: 'exact' } },
      'optimizer.groups[0].projection.zeta: must be a finite number > 0, got -1',
    ],
    [
      { projection: { kind: 'zetaKappa', zeta: 1, kappa: 0.9, method: 'exact' } },
      'optimizer.groups[0].projection.kappa: must be a finite number ≥ 1, got 0.9',
    ],
    [{ update: { kind: 'sgd', nesterov: true } }, 'optimizer.groups[0].update.nesterov: needs momentum > 0'],
    [
      { update: { kind: 'adam', beta1: 1 } },
      'optimizer.groups[0].update.beta1: must be a finite number in [0, 1), got 1',
    ],
    [{ update: { kind: 'rmsprop' } }, 'optimizer.groups[0].update.kind: unknown update kind "rmsprop"'],
    [
      { schedule: { kind: 'cosine', tMax: 0 } },
      'optimizer.groups[0].schedule.tMax: must be an integer ≥ 1, got 0',
    ],
    [
      { update: { kind: 'sgd', momentum: -1 } },
      'optimizer.groups[0].update.momentum: must be a finite number in [0, 1), got -1',
    ],
    [
      { update: { kind: 'sgd', momentum: 1 } },
      'optimizer.groups[0].update.momentum: must be a finite number in [0, 1), got 1',
    ],
    [
      { update: { kind: 'sgd', momentum: 0.5, dampening: 2 } },
      'optimizer.groups[0].update.dampening: must be a finite number in [0, 1], got 2',
    ],
    [
      { update: { kind: 'adamw', eps: -1 } },
      'optimizer.groups[0].update.eps: must be a finite number ≥ 0, got -1',
    ],
    [
      { update: { kind: 'sgd', weightDecay: '0.1' } },
      'optimizer.groups[0].update.weightDecay: must be a finite number ≥ 0, got "0.1"',
    ],
    [
      { schedule: { kind: 'multistep', milestones: [3, 1.5] } },
      'optimizer.groups[0].schedule.milestones[1]: must be an integer ≥ 0, got 1.5',
    ],
    [
      { projection: { kind: 'ball', radius: 1 } },
      'optimizer.groups[0].projection.kind: unknown projection kind "ball"',
    ],
    [{ projection: { kind: 'box', lo: 1, hi: 0 } }, 'optimizer.groups[0].projection.lo: must be ≤ hi'],
  ])('rejects %j', (over, re) => {
    expect(() => createHostOptimizer(base(over), start())).toThrow(re);
  });
  it('every parameter in exactly one group; shapes and finite gradients checked', () => {
    expect(() =>
      createHostOptimizer({ groups: [{ params: ['W'], lr: 0.1, update: { kind: 'sgd' } }] }, start()),
    ).toThrow(/"v" is in no optimizer group/);
    expect(() =>
      createHostOptimizer(
        {
          groups: [
            { params: ['W', 'v'], lr: 0.1, update: { kind: 'sgd' } },
            { params: ['v'], lr: 0.1, update: { kind: 'sgd' } },
          ],
        },
        start(),
      ),
    ).toThrow(/"v" is in optimizer groups 0 and 1/);
    expect(() =>
      createHostOptimizer(
        { groups: [{ params: ['W', 'v', 'u'], lr: 0.1, update: { kind: 'sgd' } }] },
        start(),
      ),
    ).toThrow(/unknown parameter "u"/);
    const p = start();
    const o = createHostOptimizer(base({}), p);
    const g = gradAt(p, 0);
    g.v!.data[1] = Number.NaN;
    expect(() => o.step(p, g)).toThrow(/gradient of "v".*non-finite/);
    expect(() => o.step(p, { W: gradAt(p, 0).W!, v: { shape: [4], data: new Float32Array(4) } })).toThrow(
      /grads: "v" has shape \[4\], expected \[3\]/,
    );
    expect(() => o.setState({}, -1)).toThrow(/stepCount/);
  });
});
