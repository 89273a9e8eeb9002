import { describe, expect, it } from 'vitest';
import { dotsAdd, pivotedCholesky, pivotedSolve, sigmaMinFactor } from '../src/blocked.js';
import { gaussian, svdValues } from './helpers.js';

/** G = AᵀA for A [rows, cols] row-major, by plain loops. */
function gram(A: Float64Array, rows: number, cols: number): Float64Array {
  const G = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++)
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += A[r * cols + i]! * A[r * cols + j]!;
      G[i * cols + j] = s;
    }
  return G;
}

describe('blocked float64 kernels', () => {
  it('dotsAdd equals plain dot products on odd sizes (tile edges)', () => {
    const [na, nc, len] = [7, 10, 13];
    const A = gaussian(1, na * len);
    const B = gaussian(2, nc * len);
    const C = new Float64Array(na * 12).fill(1);
    dotsAdd(A, B, na, nc, len, C, 12);
    for (let a = 0; a < na; a++)
      for (let c = 0; c < 12; c++) {
        let s = 0;
        if (c < nc) for (let t = 0; t < len; t++) s += A[a * len + t]! * B[c * len + t]!;
        expect(C[a * 12 + c]).toBeCloseTo(1 + s, 12);
      }
  });

  it('pivotedCholesky finds the rank of a 150-column Gram matrix of rank 100 over several panels', () => {
    const rows = 100;
    const cols = 150;
    const base = gaussian(3, rows * 100);
    // 100 independent columns, then 50 combinations of them.
    const A = new Float64Array(rows * cols);
    const mix = gaussian(4, 100 * 50);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < 100; c++) A[r * cols + c] = base[r * 100 + c]!;
      for (let c = 0; c < 50; c++) {
        let s = 0;
        for (let k = 0; k < 100; k++) s += base[r * 100 + k]! * mix[k * 50 + c]!;
        A[r * cols + 100 + c] = s;
      }
    }
    const G = gram(A, rows, cols);
    const G0 = Float64Array.from(G);
    const f = pivotedCholesky(G, cols, 1e-10, 16);
    expect(f.rank).toBe(100);
    // RᵀR reproduces the scaled Gram matrix on the kept (permuted) block.
    for (let a = 0; a < f.rank; a += 7)
      for (let b = a; b < f.rank; b += 5) {
        let s = 0;
        for (let t = 0; t <= a; t++) s += G[t * cols + a]! * G[t * cols + b]!;
        const i = f.piv[a]!;
        const j = f.piv[b]!;
        expect(s).toBeCloseTo(G0[i * cols + j]! / (f.colNorm[i]! * f.colNorm[j]!), 10);
      }
    // Least squares of a column on the kept ones reproduces the column (it is in their span).
    const target = new Float64Array(rows);
    for (let r = 0; r < rows; r++) target[r] = A[r * cols + 120]!;
    const z = new Float64Array(cols);
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) z[c]! += A[r * cols + c]! * target[r]!;
    const b = pivotedSolve(G, cols, f, z);
    let res = 0;
    for (let r = 0; r < rows; r++) {
      let fit = 0;
      for (let c = 0; c < cols; c++) fit += A[r * cols + c]! * b[c]!;
      res += (fit - target[r]!) ** 2;
    }
    expect(Math.sqrt(res)).toBeLessThan(1e-8);
    // σ_min estimate of the kept, scaled block against ml-matrix's SVD of the scaled kept columns.
    const kept = new Float64Array(rows * f.rank);
    for (let r = 0; r < rows; r++)
      for (let p = 0; p < f.rank; p++)
        kept[r * f.rank + p] = A[r * cols + f.piv[p]!]! / f.colNorm[f.piv[p]!]!;
    const s = svdValues(kept, rows, f.rank);
    expect(sigmaMinFactor(G, cols, f.rank) / s[s.length - 1]!).toBeCloseTo(1, 4);
  });
});
