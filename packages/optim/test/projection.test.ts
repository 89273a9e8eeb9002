import { createRng } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { type ProjectionSpec, projectOnto, zetaKappaLevel } from '../src/index.js';

const rng = createRng(20211);
const randn = (n: number, s = 1) => rng.fillNormal(new Float64Array(n), 0, s);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const sub = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (x, i) => x - b[i]!);
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const P = (spec: ProjectionSpec, x: Float64Array, anchor?: Float64Array) => {
  const y = x.slice();
  projectOnto(spec, [y], anchor ? [anchor] : undefined);
  return y;
};

/** Float64 brute force: Dykstra's alternating projections onto the halfspaces of B_{ζ,κ}. */
function dykstraZetaKappa(y: Float64Array, zeta: number, kappa: number, sweeps = 20000): Float64Array {
  const n = y.length;
  const cons: { a: Float64Array; b: number }[] = [];
  for (let i = 0; i < n; i++) {
    const a = new Float64Array(n);
    a[i] = -1;
    cons.push({ a, b: -zeta }); // −v_i ≤ −ζ
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const c = new Float64Array(n);
      c[i] = 1;
      c[j] = -kappa;
      cons.push({ a: c, b: 0 }); // v_i − κ v_j ≤ 0
    }
  }
  const x = y.slice();
  const p = cons.map(() => new Float64Array(n));
  const z = new Float64Array(n);
  for (let s = 0; s < sweeps; s++) {
    for (let k = 0; k < cons.length; k++) {
      const { a, b } = cons[k]!;
      const pk = p[k]!;
      let az = 0;
      let aa = 0;
      for (let i = 0; i < n; i++) {
        z[i] = x[i]! + pk[i]!;
        az += a[i]! * z[i]!;
        aa += a[i]! * a[i]!;
      }
      const f = az > b ? (az - b) / aa : 0;
      for (let i = 0; i < n; i++) {
        x[i] = z[i]! - f * a[i]!;
        pk[i] = z[i]! - x[i]!;
      }
    }
  }
  return x;
}

function feasibleZK(n: number, zeta: number, kappa: number): Float64Array {
  const c = zeta * (1 + 3 * rng.uniform());
  const mode = rng.int(3);
  return Float64Array.from({ length: n }, () => {
    if (mode === 0) return c; // on the ray
    if (mode === 1) return rng.uniform() < 0.5 ? c : kappa * c; // a vertex of the slice
    return c * (1 + (kappa - 1) * rng.uniform());
  });
}

function isFeasibleZK(v: ArrayLike<number>, zeta: number, kappa: number, tol: number): boolean {
  const mn = Math.min(...Array.from(v));
  const mx = Math.max(...Array.from(v));
  return mn >= zeta - tol && mx <= kappa * mn + tol;
}

describe('zetaKappa exact projection', () => {
  it('equals max(ζ, mean)·1 for κ = 1 (the ray)', () => {
    for (let r = 0; r < 20; r++) {
      const y = randn(7, 2);
      const mean = y.reduce((a, b) => a + b, 0) / y.length;
      const zeta = 0.5;
      const got = P({ kind: 'zetaKappa', zeta, kappa: 1, method: 'exact' }, y);
      for (const g of got) expect(g).toBeCloseTo(Math.max(zeta, mean), 13);
    }
  });

  it('agrees with a brute-force float64 Dykstra QP solve (n ≤ 6)', () => {
    let worst = 0;
    for (let r = 0; r < 40; r++) {
      const n = 1 + (r % 6);
      const zeta = 0.05 + rng.uniform();
      const kappa = [1, 1.5, 2, 4][r % 4]!;
      const y = randn(n, 1.5);
      const exact = P({ kind: 'zetaKappa', zeta, kappa, method: 'exact' }, y);
      const brute = dykstraZetaKappa(y, zeta, kappa);
      worst = Math.max(worst, norm(sub(exact, brute)));
      expect(norm(sub(exact, brute))).toBeLessThan(1e-10);
    }
    expect(worst).toBeLessThan(1e-10); // measured 5e-16
  });

  it('is feasible, idempotent, non-expansive and satisfies ⟨y − P(y), z − P(y)⟩ ≤ 0', () => {
    for (let r = 0; r < 60; r++) {
      const n = 1 + rng.int(12);
      const zeta = 0.01 + rng.uniform();
      const kappa = 1 + 3 * rng.uniform();
      const spec: ProjectionSpec = { kind: 'zetaKappa', zeta, kappa, method: 'exact' };
      const x = randn(n, 2);
      const y = randn(n, 2);
      const px = P(spec, x);
      const py = P(spec, y);
      expect(isFeasibleZK(px, zeta, kappa, 1e-12)).toBe(true);
      expect(norm(sub(P(spec, px), px))).toBeLessThan(1e-12);
      expect(norm(sub(px, py))).toBeLessThanOrEqual(norm(sub(x, y)) + 1e-12);
      for (let k = 0; k < 10; k++) {
        const z = feasibleZK(n, zeta, kappa);
        expect(dot(sub(x, px), sub(z, px))).toBeLessThanOrEqual(1e-9);
      }
    }
  });

  it('zetaKappaLevel returns ζ for feasible input with min ζ, min v otherwise when feasible', () => {
    expect(zetaKappaLevel([0.5, 0.7, 0.9], 0.5, 2)).toBeCloseTo(0.5, 14);
    // A feasible point is its own projection, so the level must put every entry in [t, κt].
    const t = zetaKappaLevel([1, 1.5, 2], 0.5, 2);
    expect(t).toBeGreaterThanOrEqual(1);
    expect(t).toBeLessThanOrEqual(1);
  });

  it('projects float32 storage to within float32 rounding of the set', () => {
    const v = Float32Array.from(randn(50, 1));
    projectOnto({ kind: 'zetaKappa', zeta: 0.01, kappa: 3, method: 'exact' }, [v]);
    expect(isFeasibleZK(v, 0.01, 3, 1e-6)).toBe(true);
  });

  it('treats several arrays of a group as one vector', () => {
    const a = new Float64Array([0.1, 3]);
    const b = new Float64Array([1]);
    projectOnto({ kind: 'zetaKappa', zeta: 0.2, kappa: 1, method: 'exact' }, [a, b]);
    const m = (0.1 + 3 + 1) / 3;
    expect([...a, ...b].map((x) => x - m).every((d) => Math.abs(d) < 1e-14)).toBe(true);
  });
});

describe('zetaKappa perRow (B_{ζ,κ} on each row of a matrix, e.g. a pairedMlp head V [k, m/2])', () => {
  it('is the single-vector projection applied row by row; a vector is one row', () => {
    for (const method of ['exact', 'paperHeuristic'] as const)
      for (const kappa of [1, 1.8]) {
        const spec: ProjectionSpec = { kind: 'zetaKappa', zeta: 0.1, kappa, method, perRow: true };
        const M = randn(12, 0.7);
        const v = randn(4, 0.7);
        const got = [M.slice(), v.slice()];
        projectOnto(spec, got, undefined, [[3, 4], [4]]);
        const { perRow: _p, ...single } = spec;
        for (let r = 0; r < 3; r++)
          expect(Array.from(got[0]!.subarray(4 * r, 4 * r + 4))).toEqual(
            Array.from(P(single, M.slice(4 * r, 4 * r + 4))),
          );
        expect(Array.from(got[1]!)).toEqual(Array.from(P(single, v)));
      }
  });

  it('exact: the Euclidean projection onto the product of the row sets (variational inequality)', () => {
    const zeta = 0.05;
    const kappa = 2;
    const spec: ProjectionSpec = { kind: 'zetaKappa', zeta, kappa, method: 'exact', perRow: true };
    for (let trial = 0; trial < 50; trial++) {
      const y = randn(15, 1);
      const p = y.slice();
      projectOnto(spec, [p], undefined, [[3, 5]]);
      for (let r = 0; r < 3; r++)
        expect(isFeasibleZK(p.subarray(5 * r, 5 * r + 5), zeta, kappa, 1e-12)).toBe(true);
      for (let z = 0; z < 20; z++) {
        const q = new Float64Array(15);
        for (let r = 0; r < 3; r++) q.set(feasibleZK(5, zeta, kappa), 5 * r);
        expect(dot(sub(y, p), sub(q, p))).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it('κ = 1 makes every row a constant max(ζ, mean)·1, each with its own level', () => {
    const M = new Float64Array([1, 2, 3, -5, -1, 0]);
    projectOnto({ kind: 'zetaKappa', zeta: 0.5, kappa: 1, method: 'exact', perRow: true }, [M], undefined, [
      [2, 3],
    ]);
    expect(Array.from(M)).toEqual([2, 2, 2, 0.5, 0.5, 0.5]);
  });

  it('needs the shapes, and they must match', () => {
    const spec: ProjectionSpec = { kind: 'zetaKappa', zeta: 0.1, kappa: 1, method: 'exact', perRow: true };
    expect(() => projectOnto(spec, [new Float64Array(6)])).toThrow(
      /perRow zetaKappa projection needs shapes/,
    );
    expect(() => projectOnto(spec, [new Float64Array(6)], undefined, [[4, 2]])).toThrow(
      /shapes\[0\] \[4, 2\] does not match the 6 entries/,
    );
    expect(() =>
      projectOnto({ ...spec, perRow: 'yes' as unknown as boolean }, [new Float64Array(6)], undefined, [[6]]),
    ).toThrow(/perRow: must be a boolean/);
  });
});

/** Direct transcription of Zhang et al. App. H.1 projectv (torch semantics: first index on ties). */
function projectvTranscript(v: number[], zeta: number, kappa: number): number[] {
  const out = v.map(Math.fround);
  const vmax = Math.max(...out);
  const argmax = out.indexOf(vmax);
  const vmin = Math.min(...out);
  const argmin = out.indexOf(vmin);
  if (vmin < zeta) out[argmin] = zeta;
  if (vmax / vmin > kappa) out[argmax] = kappa * vmin;
  return out.map(Math.fround);
}

describe('zetaKappa paperHeuristic (App. H.1 projectv)', () => {
  const heur = (v: number[], zeta = 0.001, kappa = 1) => {
    const a = Float32Array.from(v);
    projectOnto({ kind: 'zetaKappa', zeta, kappa, method: 'paperHeuristic' }, [a]);
    return Array.from(a);
  };
  it('hand cases', () => {
    const f = Math.fround;
    // vmin < ζ and vmax/vmin > κ: argmin → ζ, argmax → κ·(old vmin) (ends infeasible).
    expect(heur([0.0005, 0.01])).toEqual([f(0.001), f(0.0005)]);
    // Only the ratio rule fires: argmax set to κ·vmin; other entries untouched.
    expect(heur([0.2, 0.5, 0.3], 0.001, 2)).toEqual([f(0.2), f(0.4), f(0.3)]);
    // Negative vmin: ratio vmax/vmin < 0, only argmin moves.
    expect(heur([-0.5, 0.2])).toEqual([f(0.001), f(0.2)]);
    // Ties: first index of the max / min (torch.argmax/argmin).
    expect(heur([0.3, 0.1, 0.3, 0.1])).toEqual([f(0.1), f(0.1), f(0.3), f(0.1)]);
    // Feasible input is unchanged.
    expect(heur([0.5, 0.5, 0.5])).toEqual([f(0.5), f(0.5), f(0.5)]);
  });
  it('matches the transcription on random vectors', () => {
    for (let r = 0; r < 200; r++) {
      const n = 1 + rng.int(6);
      const v = Array.from(randn(n, 0.01)).map((x) => x + 0.002);
      const zeta = 0.001;
      const kappa = 1 + rng.int(3);
      expect(heur(v, zeta, kappa)).toEqual(projectvTranscript(v, zeta, kappa));
    }
  });
});

describe('frobeniusBall (joint) and box', () => {
  it('ball: feasible, idempotent, non-expansive, variational inequality, joint over arrays', () => {
    for (let r = 0; r < 40; r++) {
      const radius = 0.1 + rng.uniform() * 2;
      const spec: ProjectionSpec = { kind: 'frobeniusBall', radius };
      const x0 = randn(9);
      const x = randn(9, 1.5);
      const y = randn(9, 1.5);
      const px = P(spec, x, x0);
      const py = P(spec, y, x0);
      expect(norm(sub(px, x0))).toBeLessThanOrEqual(radius * (1 + 1e-14));
      expect(norm(sub(P(spec, px, x0), px))).toBeLessThan(1e-13);
      expect(norm(sub(px, py))).toBeLessThanOrEqual(norm(sub(x, y)) + 1e-12);
      for (let k = 0; k < 10; k++) {
        const u = randn(9);
        const z = Float64Array.from(u, (ui, i) => x0[i]! + (radius * rng.uniform() * ui) / norm(u));
        expect(dot(sub(x, px), sub(z, px))).toBeLessThanOrEqual(1e-9);
      }
      // Joint: splitting the vector into two arrays gives the same projection.
      const a = x.slice(0, 4);
      const b = x.slice(4);
      projectOnto(spec, [a, b], [x0.slice(0, 4), x0.slice(4)]);
      expect(norm(sub([...a, ...b], px))).toBeLessThan(1e-14);
    }
  });
  it('ball without anchors is centred at 0, and leaves interior points bit-identical', () => {
    const x = new Float64Array([3, 4]);
    projectOnto({ kind: 'frobeniusBall', radius: 1 }, [x]);
    expect(x[0]).toBeCloseTo(0.6, 15);
    expect(x[1]).toBeCloseTo(0.8, 15);
    const y = new Float32Array([0.1, 0.2]);
    projectOnto({ kind: 'frobeniusBall', radius: 1 }, [y]);
    expect(Array.from(y)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });
  it('box: clamp, with the projection properties', () => {
    const spec: ProjectionSpec = { kind: 'box', lo: -0.5, hi: 0.25 };
    for (let r = 0; r < 20; r++) {
      const x = randn(6);
      const px = P(spec, x);
      for (let i = 0; i < 6; i++) expect(px[i]).toBe(Math.min(Math.max(x[i]!, -0.5), 0.25));
      const z = Float64Array.from({ length: 6 }, () => -0.5 + 0.75 * rng.uniform());
      expect(dot(sub(x, px), sub(z, px))).toBeLessThanOrEqual(1e-12);
    }
  });
  it('none leaves values untouched', () => {
    const x = randn(4);
    expect(Array.from(P({ kind: 'none' }, x))).toEqual(Array.from(x));
  });
});

describe('projection errors name the field', () => {
  const v = [new Float64Array([1])];
  it.each([
    [{ kind: 'frobeniusBall', radius: 0 }, /radius/],
    [{ kind: 'frobeniusBall', radius: -1 }, /radius/],
    [{ kind: 'zetaKappa', zeta: 0, kappa: 1, method: 'exact' }, /zeta/],
    [{ kind: 'zetaKappa', zeta: 0.1, kappa: 0.5, method: 'exact' }, /kappa/],
    [{ kind: 'zetaKappa', zeta: 0.1, kappa: 1, method: 'fast' }, /method/],
    [{ kind: 'box', lo: 1, hi: 0 }, /lo/],
    [{ kind: 'sphere' }, /projection\.kind: unknown projection kind "sphere"/],
  ])('%j', (spec, re) => {
    expect(() => projectOnto(spec as ProjectionSpec, v)).toThrow(re);
  });
  it('anchors of the wrong length', () => {
    expect(() => projectOnto({ kind: 'frobeniusBall', radius: 1 }, v, [new Float64Array(2)])).toThrow(
      /anchors\[0\]/,
    );
  });
});
