import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ModelSpec } from '@narrownet/models';
import { afterEach, describe, expect, it } from 'vitest';
import { gemmKernel, gemmNT, gemmNTJs, gramRows, useGemmKernel } from '../src/gemm.js';
import { kawaguchiLoss } from '../src/index.js';
import { fanInParams, gaussian } from './helpers.js';

const hasClang =
  spawnSync('clang', ['--version']).status === 0 && spawnSync('wasm-ld', ['--version']).status === 0;

afterEach(() => useGemmKernel('auto'));

describe('gemmNT kernels', () => {
  it('Node 20 runs the WebAssembly SIMD kernel (a broken module would silently fall back to JS)', () => {
    expect(gemmKernel()).toBe('wasm-simd');
    useGemmKernel('js');
    expect(gemmKernel()).toBe('js');
  });

  it('WebAssembly and JavaScript kernels agree across every copy block (rows, columns, reduction), strides, alpha', () => {
    const [na, nc, len] = [301, 517, 1100];
    const [lda, ldb, ldc] = [len + 3, len + 1, nc + 5];
    const A = gaussian(1, 7 + na * lda);
    const B = gaussian(2, 5 + nc * ldb);
    const C0 = gaussian(3, 2 + na * ldc);
    const Cw = Float64Array.from(C0);
    const Cj = Float64Array.from(C0);
    gemmNT(na, nc, len, A, 7, lda, B, 5, ldb, Cw, 2, ldc, -1);
    gemmNTJs(na, nc, len, A, 7, lda, B, 5, ldb, Cj, 2, ldc, -1);
    let worst = 0;
    for (let i = 0; i < Cw.length; i++) worst = Math.max(worst, Math.abs(Cw[i]! - Cj[i]!));
    // sums of 1100 products of N(0,1) entries: rounding differences ~1e-13, a wrong block would be O(1)
    expect(worst).toBeLessThan(1e-11);
    // entries outside the na × nc block (column padding of ldc, the offset) are untouched
    for (let a = 0; a < na; a++)
      for (let c = nc; c < ldc; c++) expect(Cw[2 + a * ldc + c]).toBe(C0[2 + a * ldc + c]);
    expect(Cw[0]).toBe(C0[0]);
  });

  for (const kernel of ['auto', 'js'] as const) {
    it(`gramRows (${kernel}): C += A·diag(S_kk)·Bᵀ side by side for every weight row kk, as plain sums`, () => {
      useGemmKernel(kernel);
      const [na, nk, nc, len, ldc, off] = [7, 5, 9, 300, 5 * 9 + 4, 3];
      const A = gaussian(8, na * len);
      const S = gaussian(9, nk * len);
      const B = gaussian(10, nc * len);
      const C = gaussian(11, off + na * ldc);
      const C0 = Float64Array.from(C);
      gramRows(na, nk, nc, len, A, S, B, C, off, ldc);
      for (let a = 0; a < na; a++)
        for (let x = 0; x < ldc; x++) {
          let want = C0[off + a * ldc + x]!;
          if (x < nk * nc) {
            const kk = Math.floor(x / nc);
            const c = x % nc;
            for (let t = 0; t < len; t++) want += A[a * len + t]! * S[kk * len + t]! * B[c * len + t]!;
          }
          expect(Math.abs(C[off + a * ldc + x]! - want)).toBeLessThan(1e-11);
        }
    });
  }

  it('kawaguchiLoss gives the same J and rank on either kernel', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [6, 20, 20, 3], activation: 'relu' };
    const n = 300;
    const params = fanInParams(spec, 5);
    const X = gaussian(6, n * 6);
    const Y = gaussian(7, n * 3);
    const w = kawaguchiLoss(spec, params, X, Y, n);
    useGemmKernel('js');
    const j = kawaguchiLoss(spec, params, X, Y, n);
    expect([w.kernel, j.kernel]).toEqual(['wasm-simd', 'js']);
    expect(w.rank).toBe(j.rank);
    expect(w.converged && j.converged).toBe(true);
    expect(Math.abs(w.J! - j.J!)).toBeLessThanOrEqual(1e-10 * j.J!);
  });

  // CI installs clang and lld (.ci/run), so there a missing compiler fails instead of skipping.
  it.skipIf(!hasClang && !process.env.CI)(
    'src/gemmWasm.ts is the build of wasm/gemm.c (needs Debian clang and lld)',
    (ctx) => {
      const r = spawnSync('node', [join(import.meta.dirname, '..', 'scripts', 'build-wasm.mjs'), '--check'], {
        encoding: 'utf8',
      });
      if (r.status === 3) ctx.skip(r.stdout.trim());
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('up to date');
    },
  );
});
