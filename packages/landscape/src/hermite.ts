import { type ActivationSpec, activation } from '@narrownet/models';
import { tridiagEigenvalue } from './linalg.js';
import { intOption } from './util.js';

/** Gauss–Hermite rule for the standard normal measure: E[g(Z)] ≈ Σ_k weights[k]·g(nodes[k]). */
export interface GaussHermiteRule {
  /** Nodes, ascending. */
  nodes: Float64Array;
  /** Weights (positive, summing to 1: the Gaussian density is built in). */
  weights: Float64Array;
}

/**
 * Normalised probabilists' Hermite polynomials q_0…q_{count−1} at x: q_i = He_i/√(i!), by the
 * three-term recurrence q_{i+1} = (x q_i − √i q_{i−1})/√(i+1). Orthonormal under N(0, 1).
 */
export function hermiteQ(x: number, count: number): Float64Array {
  const q = new Float64Array(count);
  if (count > 0) q[0] = 1;
  if (count > 1) q[1] = x;
  for (let i = 1; i + 1 < count; i++) q[i + 1] = (x * q[i]! - Math.sqrt(i) * q[i - 1]!) / Math.sqrt(i + 1);
  return q;
}

/**
 * Gauss–Hermite quadrature of `order` points for the standard normal measure, computed here
 * (Golub–Welsch): the nodes are the eigenvalues of the Jacobi matrix of the orthonormal
 * polynomials (zero diagonal, off-diagonal √k), found by Sturm bisection and polished by Newton
 * steps on q_order (q'_N = √N q_{N−1}); the weights are the Christoffel numbers
 * 1/Σ_{j<N} q_j(x_k)². Exact for polynomials of degree ≤ 2·order − 1. Order 1…400 (weights of
 * the outermost nodes underflow to 0 beyond about 250, which is harmless).
 */
export function gaussHermite(order: number): GaussHermiteRule {
  const N = intOption(order ?? -1, 0, 'order', 'gaussHermite');
  if (N > 400) throw new RangeError(`gaussHermite: order must be at most 400, got ${N}`);
  const d = new Float64Array(N);
  const e = new Float64Array(Math.max(N - 1, 0));
  for (let k = 1; k < N; k++) e[k - 1] = Math.sqrt(k);
  const nodes = new Float64Array(N);
  const weights = new Float64Array(N);
  for (let k = 0; k < N; k++) {
    let x = tridiagEigenvalue(d, e, k);
    for (let it = 0; it < 3; it++) {
      const q = hermiteQ(x, N + 1);
      const f = q[N]!;
      const fp = Math.sqrt(N) * q[N - 1]!;
      if (!Number.isFinite(f) || !Number.isFinite(fp) || fp === 0) break;
      const dx = f / fp;
      if (!Number.isFinite(dx) || Math.abs(dx) > 1e-6 * (1 + Math.abs(x))) break;
      x -= dx;
    }
    nodes[k] = x;
    const q = hermiteQ(x, N);
    let s = 0;
    for (let j = 0; j < N; j++) s += q[j]! * q[j]!;
    weights[k] = Number.isFinite(s) && s > 0 ? 1 / s : 0;
  }
  return { nodes, weights };
}

/** Result of {@link hermiteCoefficients}. */
export interface HermiteResult {
  /** c_0 … c_{count−1}: c_i = E[φ(Z) q_i(Z)] (Song et al. Def. 4). */
  coefficients: number[];
  /** ‖φ‖_H = √(Σ_i c_i²) over all i, by Parseval = √E[φ(Z)²] (same quadrature). */
  norm: number;
  /** √(Σ_{i<count} c_i²): the truncated sum. */
  truncatedNorm: number;
  /** Quadrature order used. */
  order: number;
}

/**
 * Song et al. (2021) Definition 4: Hermite coefficients c_i = (1/√(2π)) ∫ φ(x) q_i(x) e^{−x²/2} dx
 * with q_i the normalised probabilists' Hermite polynomials (He_i/√(i!)), and the Hermite norm
 * ‖φ‖_H = √(Σ c_i²). Computed by Gauss–Hermite quadrature of `order` points (default 200);
 * smooth activations converge fast, kinked ones (relu, abs) only algebraically (about 1e-4 at
 * order 200). `activation` may also be a plain function of one number.
 */
export function hermiteCoefficients(
  act: ActivationSpec | ((x: number) => number),
  options: { count?: number; order?: number } = {},
): HermiteResult {
  const where = 'hermiteCoefficients';
  const count = intOption(options.count, 8, 'options.count', where);
  const order = intOption(options.order, 200, 'options.order', where);
  if (count > order)
    throw new RangeError(`${where}: options.count (${count}) must not exceed options.order (${order})`);
  const f = typeof act === 'function' ? act : activation(act).f;
  const { nodes, weights } = gaussHermite(order);
  const c = new Array<number>(count).fill(0);
  let e2 = 0;
  for (let k = 0; k < order; k++) {
    const w = weights[k]!;
    if (w === 0) continue;
    const fx = f(nodes[k]!);
    if (!Number.isFinite(fx))
      throw new RangeError(`${where}: the activation is not finite at x = ${nodes[k]}`);
    e2 += w * fx * fx;
    const q = hermiteQ(nodes[k]!, count);
    for (let i = 0; i < count; i++) c[i]! += w * fx * q[i]!;
  }
  return {
    coefficients: c,
    norm: Math.sqrt(e2),
    truncatedNorm: Math.sqrt(c.reduce((s, x) => s + x * x, 0)),
    order,
  };
}
