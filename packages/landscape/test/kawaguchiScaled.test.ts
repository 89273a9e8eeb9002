import type { ModelSpec } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { leastSquaresResidual } from '../src/dense.js';
import { kawaguchiBlocks } from '../src/kawaguchi.js';
import { CUTOFF_CRITERIA, kawaguchiLoss, kawaguchiLossDense } from '../src/index.js';
import { forwardCache, toNet, vecColumnMajor } from '../src/mlp.js';
import { fanInParams, gaussian } from './helpers.js';

type P = Record<string, Float64Array>;

/**
 * Independent dense reference for any activation: the explicit stacked matrix (Theorem 1's blocks,
 * which are the Jacobian columns) and Householder QR + SVD with App. C's cutoff.
 */
function denseAnyActivation(spec: ModelSpec, params: P, X: Float64Array, Y: Float64Array, n: number) {
  const net = toNet(spec, params, 'test');
  const c = forwardCache(net, X, n, 'test');
  const dy = net.sizes[net.L]!;
  const y = vecColumnMajor(Y, n, dy);
  const cols = kawaguchiBlocks(net, c).flatMap((b) => b.columns);
  return leastSquaresResidual(cols, n * dy, y, 'numericalRecipes');
}

const cases: { name: string; spec: ModelSpec; n: number }[] = [
  { name: 'relu depth 1, tall', spec: { kind: 'mlp', layers: [5, 6, 1], activation: 'relu' }, n: 80 },
  { name: 'relu depth 2, tall', spec: { kind: 'mlp', layers: [4, 8, 6, 1], activation: 'relu' }, n: 150 },
  { name: 'relu depth 3, wide', spec: { kind: 'mlp', layers: [4, 8, 8, 8, 1], activation: 'relu' }, n: 60 },
  {
    name: 'relu depth 2, 3 outputs, tall',
    spec: { kind: 'mlp', layers: [6, 7, 5, 3], activation: 'relu' },
    n: 90,
  },
  {
    name: 'relu depth 2, bias, 2 outputs',
    spec: { kind: 'mlp', layers: [3, 6, 5, 2], activation: 'relu', bias: true },
    n: 70,
  },
  {
    name: 'leaky relu depth 2, wide, 2 outputs',
    spec: { kind: 'mlp', layers: [3, 10, 10, 2], activation: { name: 'leakyRelu', slope: 0.1 } },
    n: 40,
  },
  {
    name: 'abs depth 2 scaled',
    spec: { kind: 'mlp', layers: [4, 9, 7, 1], activation: 'abs', scaled: true },
    n: 100,
  },
];

describe('kawaguchiLoss (scaled route) against the dense reference', () => {
  for (const [idx, tc] of cases.entries()) {
    it(`${tc.name}: same J, rank and convergence`, () => {
      const params = fanInParams(tc.spec, 100 + idx);
      const d0 = tc.spec.kind === 'mlp' ? tc.spec.layers[0]! : 1;
      const dy = tc.spec.kind === 'mlp' ? tc.spec.layers[tc.spec.layers.length - 1]! : 1;
      const X = gaussian(7 + idx, tc.n * d0);
      const Y = gaussian(9 + idx, tc.n * dy);
      for (const cutoff of CUTOFF_CRITERIA) {
        const ref = kawaguchiLossDense(tc.spec, params, X, Y, tc.n, { cutoff });
        const got = kawaguchiLoss(tc.spec, params, X, Y, tc.n, { cutoff });
        expect(got.converged).toBe(true);
        expect(got.certified, got.reason).toBe(true);
        // golubVanLoan's ½‖M‖_∞·ε and lapack's σ_max·ε can sit at rounding level: where the dense
        // reference itself keeps a singular value within 10× of its cutoff, its rank is decided by
        // rounding noise and there is nothing reproducible to compare against.
        if (cutoff !== 'numericalRecipes' && ref.sigmaMinKept < 10 * ref.cutoff.value) continue;
        expect(got.rank).toBe(ref.rank);
        expect(got.J).not.toBeNull();
        const scale = 0.5 * Y.reduce((s, v) => s + v * v, 0);
        expect(Math.abs(got.J! - ref.J)).toBeLessThanOrEqual(1e-10 * scale);
        expect(got.cutoff.value! / ref.cutoff.value).toBeGreaterThan(1 - 1e-6);
        expect(got.cutoff.value! / ref.cutoff.value).toBeLessThan(1 + 1e-6);
      }
    });
  }

  it('wide net with full row rank: sampleGram route, J = 0 as the dense reference (≈ 0)', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [5, 12, 12, 1], activation: 'relu' };
    const n = 50;
    const params = fanInParams(spec, 3);
    const X = gaussian(4, n * 5);
    const Y = gaussian(5, n);
    const ref = kawaguchiLossDense(spec, params, X, Y, n);
    const got = kawaguchiLoss(spec, params, X, Y, n);
    expect(ref.rank).toBe(n);
    expect(got.method).toBe('sampleGram');
    expect(got.rank).toBe(n);
    expect(got.J).toBe(0);
    expect(ref.J).toBeLessThan(1e-20);
    // Forcing the parameter route gives the same rank and a J at rounding level.
    const forced = kawaguchiLoss(spec, params, X, Y, n, { method: 'parameterGram' });
    expect(forced.method).toBe('parameterGram');
    expect(forced.rank).toBe(n);
    expect(forced.J!).toBeLessThan(1e-18);
  });

  it('half = false doubles J', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [4, 6, 1], activation: 'relu' };
    const params = fanInParams(spec, 1);
    const X = gaussian(2, 60 * 4);
    const Y = gaussian(3, 60);
    const a = kawaguchiLoss(spec, params, X, Y, 60);
    const b = kawaguchiLoss(spec, params, X, Y, 60, { half: false });
    expect(b.J! / a.J!).toBeCloseTo(2, 12);
    expect(b.halfConvention).toBe(false);
  });

  for (const act of ['tanh', 'sigmoid'] as const) {
    it(`smooth activation (${act}): the projection residual on the Jacobian's range, as dense`, () => {
      const spec: ModelSpec = { kind: 'mlp', layers: [3, 7, 6, 2], activation: act };
      const n = 70;
      const params = fanInParams(spec, 11);
      const X = gaussian(12, n * 3);
      const Y = gaussian(13, n * 2);
      const ref = denseAnyActivation(spec, params, X, Y, n);
      const got = kawaguchiLoss(spec, params, X, Y, n);
      expect(got.converged).toBe(true);
      expect(got.rank).toBe(ref.rank);
      expect(Math.abs(got.J! - 0.5 * ref.residual2)).toBeLessThanOrEqual(1e-10 * ref.residual2);
    });
  }

  it('structurally dependent columns (dead unit, homogeneity) are deflated, not counted', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [3, 6, 5, 1], activation: 'relu' };
    const params = fanInParams(spec, 21);
    // Kill hidden unit 0 of layer 1: its incoming weights make z ≤ 0 on every sample.
    const X = gaussian(22, 120 * 3).map(Math.abs);
    for (let p = 0; p < 3; p++) params.W1![p] = -1;
    const Y = gaussian(23, 120);
    const ref = kawaguchiLossDense(spec, params, X, Y, 120);
    const got = kawaguchiLoss(spec, params, X, Y, 120);
    expect(got.deflated).toBeGreaterThan(spec.layers[1]! + spec.layers[2]! - 1);
    expect(got.rank).toBe(ref.rank);
    expect(Math.abs(got.J! - ref.J)).toBeLessThanOrEqual(1e-10 * ref.J);
  });

  it('bad options are named', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [2, 3, 1], activation: 'relu' };
    const params = fanInParams(spec, 1);
    const X = gaussian(2, 10 * 2);
    const Y = gaussian(3, 10);
    expect(() => kawaguchiLoss(spec, params, X, Y, 10, { cutoff: 'x' as never })).toThrow(/options.cutoff/);
    expect(() => kawaguchiLoss(spec, params, X, Y, 10, { method: 'x' as never })).toThrow(/options.method/);
    expect(() => kawaguchiLoss(spec, params, X, Y, 10, { maxGramEntries: 4, beyondGram: 'throw' })).toThrow(
      /maxGramEntries/,
    );
    expect(() => kawaguchiLoss(spec, params, X, Y, 10, { beyondGram: 'x' as never })).toThrow(
      /options.beyondGram/,
    );
    expect(() => kawaguchiLoss(spec, params, X, Y, 10, { maxIterations: 0 })).toThrow(
      /options.maxIterations/,
    );
    expect(() => kawaguchiLoss(spec, params, X, Y.subarray(1), 10)).toThrow(/Y/);
  });

  it('a refinement budget too small to converge returns J = null and an upper bound, never a value', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [4, 8, 6, 1], activation: 'relu' };
    const params = fanInParams(spec, 31);
    const X = gaussian(32, 100 * 4);
    const Y = gaussian(33, 100);
    const got = kawaguchiLoss(spec, params, X, Y, 100, { maxRefinements: 1, gramTolerance: 1e-3 });
    expect(got.converged).toBe(false);
    expect(got.J).toBeNull();
    expect(got.upperBound).not.toBeNull();
    expect(got.reason).toMatch(/refinement/);
  });
});

describe('kawaguchiLoss beyond the Gram limits: the matrixFree route', () => {
  const spec: ModelSpec = { kind: 'mlp', layers: [4, 8, 6, 2], activation: 'relu' };
  const n = 120;
  const params = fanInParams(spec, 41);
  const X = gaussian(42, n * 4);
  const Y = gaussian(43, n * 2);
  const ref = kawaguchiLossDense(spec, params, X, Y, n);

  it('answers where the parameter Gram matrix is refused: the dense J, flagged uncertified', () => {
    const got = kawaguchiLoss(spec, params, X, Y, n, { maxGramEntries: 100, tolerance: 1e-13 });
    expect(got.method).toBe('matrixFree');
    expect(got.converged).toBe(true);
    expect(got.certified).toBe(false);
    expect(got.reason).toMatch(/matrix-free LSQR .*exceeds maxGramEntries = 100.*no rank decision/);
    expect([got.rank, got.sigmaMax, got.cutoff.value, got.gap, got.upperBound]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(got.lsqr!.iterations).toBeGreaterThan(0);
    expect(Math.abs(got.J! - ref.J)).toBeLessThanOrEqual(1e-8 * ref.J);
  });

  it('out of iterations: J is null and the last residual is only an upper bound', () => {
    const got = kawaguchiLoss(spec, params, X, Y, n, { maxGramEntries: 100, maxIterations: 3 });
    expect(got.method).toBe('matrixFree');
    expect([got.converged, got.certified, got.J]).toEqual([false, false, null]);
    expect(got.upperBound!).toBeGreaterThan(ref.J);
    expect(got.lsqr!.iterations).toBe(3);
    expect(got.reason).toMatch(/did not meet its tolerance/);
  });
});
