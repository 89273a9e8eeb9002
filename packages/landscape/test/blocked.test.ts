import { describe, expect, it } from 'vitest';
import type { MlpSpec } from '@narrownet/models';
import {
  dotsAdd,
  packPanel,
  pivotedCholesky,
  pivotedSolve,
  pivotedSolveMany,
  sigmaMinFactor,
  syrkStrip,
  syrkStripCount,
} from '../src/blocked.js';
import type { FactorContext } from '../src/factorTasks.js';
import { gemmNT } from '../src/gemm.js';
import { forwardCache, jvp, jvpMany, toNet, vjp, vjpMany } from '../src/mlp.js';
import { openPool } from '../src/parallel.js';
import { fanInParams, gaussian, svdValues } from './helpers.js';

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

  it('pivotedCholesky: trailing strips in any order, or as rounds of a task pool, give the same factor bit for bit', () => {
    // 330 columns of rank 300 (30 combinations), unequal scales: six pivot blocks of 64, pivoting,
    // and strips large enough for the WebAssembly kernel.
    const rows = 300;
    const cols = 330;
    const A = gaussian(21, rows * cols);
    const mix = gaussian(22, 300 * 30);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < 300; c++) A[r * cols + c] = A[r * cols + c]! * (1 + (c % 7));
      for (let c = 0; c < 30; c++) {
        let s = 0;
        for (let k = 0; k < 300; k++) s += A[r * cols + k]! * mix[k * 30 + c]!;
        A[r * cols + 300 + c] = s;
      }
    }
    const G0 = gram(A, rows, cols);
    const ref = Float64Array.from(G0);
    const f = pivotedCholesky(ref, cols, 1e-10);
    expect(f.rank).toBe(300);
    const same = (G: Float64Array, g: typeof f) => {
      expect(g.rank).toBe(f.rank);
      expect(Array.from(g.piv)).toEqual(Array.from(f.piv));
      expect(Buffer.from(G.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
    };
    // Strips last to first (another thread order).
    const rev = Float64Array.from(G0);
    const gr = pivotedCholesky(rev, cols, 1e-10, 64, (t0, t1) => {
      const pos = new Float64Array((cols - t1) * (t1 - t0));
      packPanel(rev, cols, t0, t1, pos);
      for (let s = syrkStripCount(cols, t1) - 1; s >= 0; s--) syrkStrip(rev, cols, t0, t1, pos, s);
    });
    same(rev, gr);
    // The factor job's rounds through a pool (from src/ it has no worker file: the calling thread
    // runs every round, tickets numbered across rounds).
    const ctx: FactorContext = {
      G: new Float64Array(new SharedArrayBuffer(cols * cols * 8)),
      n: cols,
      pos: new Float64Array(new SharedArrayBuffer((cols - 64) * 64 * 8)),
      panel: new Int32Array(new SharedArrayBuffer(8)),
    };
    ctx.G.set(G0);
    const pool = openPool({ kind: 'factor', kernel: 'wasm-simd', ctx }, 2, syrkStripCount(cols, 64));
    const gp = pivotedCholesky(ctx.G, cols, 1e-10, 64, (t0, t1) => {
      ctx.panel[0] = t0;
      ctx.panel[1] = t1;
      packPanel(ctx.G, cols, t0, t1, ctx.pos);
      pool.run(syrkStripCount(cols, t1));
    });
    const run = pool.close();
    expect(run.threads).toBe(1);
    expect(run.fallback).toMatch(/worker/);
    same(new Float64Array(ctx.G), gp);
  });

  it('gemmNT: strided operands, offsets, alpha = −1 and reductions longer than one cache block', () => {
    const [na, nc, len] = [6, 9, 1100];
    const [lda, ldb, ldc] = [len + 3, len + 5, 11];
    const A = gaussian(5, 2 + na * lda);
    const B = gaussian(6, 1 + nc * ldb);
    const C = new Float64Array(4 + na * ldc).fill(2);
    gemmNT(na, nc, len, A, 2, lda, B, 1, ldb, C, 4, ldc, -1);
    for (let a = 0; a < na; a++)
      for (let c = 0; c < ldc; c++) {
        let s = 0;
        if (c < nc) for (let t = 0; t < len; t++) s += A[2 + a * lda + t]! * B[1 + c * ldb + t]!;
        expect(C[4 + a * ldc + c]! - (2 - s)).toBeCloseTo(0, 11);
      }
  });

  it('pivotedSolveMany equals one pivotedSolve per right-hand side (blocked substitution over panels)', () => {
    const rows = 240;
    const cols = 150;
    const A = gaussian(7, rows * cols);
    const G = gram(A, rows, cols);
    const f = pivotedCholesky(G, cols, 1e-10, 16);
    expect(f.rank).toBe(cols);
    const Z = [
      gaussian(8, cols),
      gaussian(9, cols),
      gaussian(10, cols),
      gaussian(11, cols),
      gaussian(12, cols),
    ];
    const many = pivotedSolveMany(G, cols, f, Z);
    const G0 = gram(A, rows, cols);
    for (const [r, z] of Z.entries()) {
      const one = pivotedSolve(G, cols, f, z);
      for (let s = 0; s < cols; s++) expect(many[r]![s]! - one[s]!).toBeCloseTo(0, 9);
      // and it solves the normal equations G b = z
      for (let i = 0; i < cols; i += 13) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += G0[i * cols + j]! * many[r]![j]!;
        expect(s - z[i]!).toBeCloseTo(0, 8);
      }
    }
  });

  for (const spec of [
    { kind: 'mlp', layers: [5, 7, 6, 3], activation: 'relu' },
    { kind: 'mlp', layers: [4, 6, 2], activation: 'tanh', bias: true },
  ] as MlpSpec[]) {
    it(`jvpMany / vjpMany equal jvp / vjp per vector (${JSON.stringify(spec.layers)}${spec.bias ? ', bias' : ''})`, () => {
      const n = 37;
      const net = toNet(spec, fanInParams(spec, 13), 'test');
      const c = forwardCache(net, gaussian(14, n * net.sizes[0]!), n, 'test');
      const N = n * net.sizes[net.L]!;
      const T = [gaussian(15, net.P), gaussian(16, net.P), gaussian(17, net.P)];
      const E = [gaussian(18, N), gaussian(19, N), gaussian(20, N)];
      const J = jvpMany(net, c, T);
      const V = vjpMany(net, c, E);
      for (let r = 0; r < 3; r++) {
        const j1 = jvp(net, c, T[r]!);
        const v1 = vjp(net, c, E[r]!);
        for (let i = 0; i < N; i++) expect(J[r]![i]! - j1[i]!).toBeCloseTo(0, 12);
        for (let i = 0; i < net.P; i++) expect(V[r]![i]! - v1[i]!).toBeCloseTo(0, 12);
      }
    });
  }
});
