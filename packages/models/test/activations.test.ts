import { describe, expect, it } from 'vitest';
import { type ActivationSpec, activation, erf } from '../src/index.js';

const SPECS: ActivationSpec[] = [
  'tanh',
  'sigmoid',
  'softplus',
  { name: 'softplus', alpha: 3 },
  'gelu',
  'relu',
  'leakyRelu',
  { name: 'leakyRelu', slope: 0.2 },
  'abs',
  'identity',
];
// Kinks of relu/leakyRelu/abs are at 0 only; every point is ≥ 0.05 away from it, far beyond h.
const POINTS = [-7.5, -3.1, -1.7, -0.9, -0.35, -0.05, 0.05, 0.4, 0.85, 1.3, 2.6, 4.2, 9];

describe('activation derivatives vs central finite differences (float64)', () => {
  // Central differences with h = 1e-5: truncation error h²/6·|σ'''| ≤ 2e-11 (|σ'''| < 1 for all of
  // these; softplus with α = 3 has max |σ'''| = α²·max|s(1−s)(1−2s)| ≈ 0.87), rounding error
  // ≈ ε·|σ(x)|/h ≤ 2.2e-16·9/1e-5 ≈ 2e-10. Tolerance 1e-8 absolute + 1e-8 relative: 50× margin.
  const h = 1e-5;
  for (const spec of SPECS) {
    it(JSON.stringify(spec), () => {
      const a = activation(spec);
      for (const x of POINTS) {
        const fd = (a.f(x + h) - a.f(x - h)) / (2 * h);
        expect(Math.abs(a.df(x) - fd), `x = ${x}`).toBeLessThan(1e-8 + 1e-8 * Math.abs(fd));
      }
    });
  }
});

describe('activation values', () => {
  it('match their closed forms at a few points', () => {
    expect(activation('sigmoid').f(0)).toBe(0.5);
    expect(activation('softplus').f(0)).toBeCloseTo(Math.LN2, 15);
    // softplus(α) = log(1 + e^{αx})/α, stable for large |x|.
    expect(activation({ name: 'softplus', alpha: 2 }).f(1)).toBeCloseTo(Math.log1p(Math.exp(2)) / 2, 15);
    expect(activation('softplus').f(800)).toBe(800);
    expect(activation('softplus').f(-800)).toBeGreaterThanOrEqual(0);
    expect(activation('sigmoid').f(-800)).toBe(0);
    // gelu(x) = x Φ(x); Φ(1) = 0.8413447460685429 (standard normal CDF).
    expect(activation('gelu').f(1)).toBeCloseTo(0.8413447460685429, 14);
    expect(activation({ name: 'leakyRelu', slope: 0.2 }).f(-2)).toBeCloseTo(-0.4, 15);
    expect(activation('leakyRelu').slope).toBe(0.01);
  });
  it('document their kink conventions: left value 0 for relu, the slope for leakyRelu, 0 for abs', () => {
    // Same as tfjs' and PyTorch's gradients at exactly 0.
    expect(activation('relu').df(0)).toBe(0);
    expect(activation({ name: 'leakyRelu', slope: 0.2 }).df(0)).toBe(0.2);
    expect(activation('abs').df(0)).toBe(0);
    expect(activation('relu').piecewiseLinear).toBe(true);
    expect(activation('tanh').piecewiseLinear).toBe(false);
  });
  it('reject bad specs naming the activation and parameter', () => {
    expect(() => activation('swish' as ActivationSpec)).toThrow(/unknown activation "swish"/);
    expect(() => activation({ name: 'softplus', alpha: 0 })).toThrow(/softplus: alpha must be/);
    expect(() => activation({ name: 'leakyRelu', slope: Number.NaN })).toThrow(
      /leakyRelu: slope must be finite/,
    );
  });
});

describe('erf', () => {
  it('matches known values to float64 accuracy', () => {
    const known: [number, number][] = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [0, 0],
    ];
    for (const [x, v] of known) {
      // Within 2 ulp of the correctly rounded value.
      expect(Math.abs(erf(x) - v), `erf(${x})`).toBeLessThanOrEqual(2 * Number.EPSILON * Math.abs(v));
      expect(Math.abs(erf(-x) + v), `erf(-${x})`).toBeLessThanOrEqual(2 * Number.EPSILON * Math.abs(v));
    }
    expect(erf(7)).toBe(1);
    expect(erf(-7)).toBe(-1);
    expect(erf(Number.NaN)).toBeNaN();
  });
  it("derivative equals 2/√π·e^{-x²} (finite differences), so it's the erf and not an approximation", () => {
    const h = 1e-5;
    for (const x of [-2.5, -0.7, 0.3, 1.1, 3.3, 5.5]) {
      const fd = (erf(x + h) - erf(x - h)) / (2 * h);
      expect(Math.abs(fd - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x))).toBeLessThan(1e-9);
    }
  });
});
