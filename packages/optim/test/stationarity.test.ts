import { type ParamTree, createRng } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { type OptimizerSpec, kktResidual, relativeStationarity } from '../src/index.js';

const tree = (name: string, a: ArrayLike<number>): ParamTree => ({
  [name]: { shape: [a.length], data: Float32Array.from(a) },
});
const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

describe('relativeStationarity: ‖P_T(−∇ℓ)‖/‖∇ℓ‖ against closed-form tangent cones', () => {
  const rng = createRng(7);
  const n = 9;
  const ball = (radius: number): OptimizerSpec => ({
    groups: [
      { params: ['W'], lr: 0.1, update: { kind: 'sgd' }, projection: { kind: 'frobeniusBall', radius } },
    ],
  });

  it('ball: on the boundary the tangent part of −g (when −g points out) is −g − (−g·u)u; inside it is −g', () => {
    for (let trial = 0; trial < 20; trial++) {
      const x0 = Array.from({ length: n }, () => rng.normal());
      const u0 = Array.from({ length: n }, () => rng.normal());
      const un = norm(u0);
      const u = u0.map((x) => x / un);
      const r = 0.1 + trial * 0.3;
      const x = x0.map((a, i) => a + r * u[i]!); // on the sphere (to float32 rounding)
      const g = Array.from({ length: n }, () => rng.normal());
      const d = g.map((gi) => -gi);
      const dn = d.reduce((s, di, i) => s + di * u[i]!, 0);
      const dT = dn > 0 ? d.map((di, i) => di - dn * u[i]!) : d;
      const want = norm(dT) / norm(g);
      const got = relativeStationarity(ball(r), tree('W', x), tree('W', g), tree('W', x0));
      expect(got.relative).toBeCloseTo(want, 5);
      expect(got.gradientNorm).toBeCloseTo(norm(Float32Array.from(g)), 5);
      // strictly inside: nothing blocks the gradient
      const inside = relativeStationarity(ball(2 * r), tree('W', x), tree('W', g), tree('W', x0));
      expect(inside.relative).toBeCloseTo(1, 6);
    }
  });

  it('ball: a gradient pointing straight inward (−g outward along the normal) is a KKT point (0)', () => {
    const x0 = [0.3, -0.2, 0.5];
    const x = [0.3 + 0.6, -0.2, 0.5]; // radius 0.6, normal e1
    const g = [-4, 0, 0];
    expect(relativeStationarity(ball(0.6), tree('W', x), tree('W', g), tree('W', x0)).relative).toBeLessThan(
      1e-6,
    );
    // and a float32 iterate a few ulps outside the ball is first projected, not penalised
    const out = [0.3 + 0.6 * (1 + 3e-7), -0.2, 0.5];
    expect(
      relativeStationarity(ball(0.6), tree('W', out), tree('W', g), tree('W', x0)).relative,
    ).toBeLessThan(1e-5);
    // the same point with a tangential gradient is fully free (1)
    expect(
      relativeStationarity(ball(0.6), tree('W', x), tree('W', [0, 2, -1]), tree('W', x0)).relative,
    ).toBeCloseTo(1, 6);
  });

  it('zetaKappa with κ = 1 (v = t·1, t > ζ): the tangent cone is the line span(1), so P_T(d) = mean(d)·1', () => {
    const spec: OptimizerSpec = {
      groups: [
        {
          params: ['v'],
          lr: 0.1,
          update: { kind: 'sgd' },
          projection: { kind: 'zetaKappa', zeta: 0.001, kappa: 1, method: 'paperHeuristic' },
        },
      ],
    };
    for (let trial = 0; trial < 10; trial++) {
      const m = 5;
      const v = new Array(m).fill(0.2 + trial);
      const g = Array.from({ length: m }, () => rng.normal());
      const mean = g.reduce((s, x) => s + x, 0) / m;
      const want = (Math.abs(mean) * Math.sqrt(m)) / norm(g);
      expect(relativeStationarity(spec, tree('v', v), tree('v', g)).relative).toBeCloseTo(want, 5);
    }
  });

  it('joint over groups, frozen groups left out; an unconstrained group counts in full', () => {
    const spec: OptimizerSpec = {
      groups: [
        { params: ['W'], lr: 0.1, update: { kind: 'sgd' }, projection: { kind: 'frobeniusBall', radius: 1 } },
        { params: ['v'], lr: 0.1, update: { kind: 'sgd' } },
        { params: ['b'], lr: 0, update: { kind: 'sgd' } },
      ],
    };
    const params = { ...tree('W', [1, 0]), ...tree('v', [0.5, 0.5]), ...tree('b', [0]) };
    const anchors = { ...tree('W', [0, 0]), ...tree('v', [0, 0]), ...tree('b', [0]) };
    const grads = { ...tree('W', [-3, 0]), ...tree('v', [0, 4]), ...tree('b', [100]) };
    const s = relativeStationarity(spec, params, grads, anchors);
    // W's gradient is blocked entirely, v's (norm 4) is free, b is frozen: 4 / ‖(−3, 0, 0, 4)‖ = 0.8
    expect(s.relative).toBeCloseTo(0.8, 6);
    expect(s.groups.map((g) => g.frozen)).toEqual([false, false, true]);
    expect(s.groups[0]!.projectedGradientNorm).toBeLessThan(1e-6);
  });

  it('names the bad input', () => {
    expect(() => relativeStationarity(ball(1), tree('W', [1, 2]), tree('W', [1]))).toThrow(/grads/);
    expect(() => relativeStationarity(ball(1), tree('W', [1, 2]), tree('W', [Number.NaN, 1]))).toThrow(/W/);
  });
});

describe('perRow B_{ζ,κ} in the stationarity measures: each row is its own set', () => {
  it('rows feasible on their own are inside their sets; the same matrix as ONE vector is not', () => {
    // rows [1, 1.2] and [2, 2.2] with κ = 1.5: each satisfies max ≤ κ·min, the whole does not
    const V: ParamTree = { V: { shape: [2, 2], data: Float32Array.from([1, 1.2, 2, 2.2]) } };
    const zero: ParamTree = { V: { shape: [2, 2], data: new Float32Array(4) } };
    const spec = (perRow: boolean): OptimizerSpec => ({
      groups: [
        {
          params: ['V'],
          lr: 0.1,
          update: { kind: 'sgd' },
          projection: { kind: 'zetaKappa', zeta: 0.1, kappa: 1.5, method: 'exact', perRow },
        },
      ],
    });
    const rows = kktResidual(spec(true), V, zero);
    expect(rows.residual).toBe(0);
    expect(rows.groups[0]!.active).toBe(false);
    const whole = kktResidual(spec(false), V, zero);
    expect(whole.residual).toBeGreaterThan(0.1); // V is outside the one-vector set: P(V) ≠ V
    expect(whole.groups[0]!.active).toBe(true);
    // a row on its boundary (max = κ·min) makes the group active
    const edge: ParamTree = { V: { shape: [2, 2], data: Float32Array.from([1, 1.5, 2, 2.2]) } };
    expect(kktResidual(spec(true), edge, zero).groups[0]!.active).toBe(true);
    // −∇ℓ pushing the boundary row out of its set is blocked: relative stationarity < 1
    const g: ParamTree = { V: { shape: [2, 2], data: Float32Array.from([0, -1, 0, 0]) } };
    expect(relativeStationarity(spec(true), edge, g).relative).toBeLessThan(0.9);
    expect(relativeStationarity(spec(true), V, g).relative).toBeCloseTo(1, 6);
  });
});
