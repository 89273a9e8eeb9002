import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ModelSpec } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { kawaguchiLoss as kawaguchiLossSrc } from '../src/index.js';
import { fanInParams, gaussian } from './helpers.js';

// The worker threads run the built worker (dist/worker.js, next to the bundle that starts them), so
// the threaded path is tested on the built package (turbo builds before it tests); from src/ the
// route falls back to one thread and says why.
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
type Landscape = typeof import('../src/index.js');

// n·d_θ² ≈ 1.2·10⁹: above the size where the Gram matrix is formed on more than one thread.
const spec: ModelSpec = { kind: 'mlp', layers: [8, 30, 30, 3], activation: 'relu' };
const n = 800;
const params = fanInParams(spec, 5);
const X = gaussian(6, n * 8);
const Y = gaussian(7, n * 3);

describe('kawaguchiLoss on worker threads', () => {
  it.skipIf(!existsSync(dist))(
    '2 and 3 threads give the same J (bit for bit), rank, factor and certificate as 1',
    async () => {
      const { kawaguchiLoss } = (await import(pathToFileURL(dist).href)) as Landscape;
      const one = kawaguchiLoss(spec, params, X, Y, n, { threads: 1 });
      expect(one.method).toBe('parameterGram');
      expect(one.threads).toBe(1);
      expect([one.converged, one.certified]).toEqual([true, true]);
      // The value main gave before the factor went on threads (commit 4943a6d, WebAssembly kernel),
      // bit for bit: the panel's loops were reordered, not its sums.
      expect(one.kernel).toBe('wasm-simd');
      expect(one.J).toBe(621.9899186748343);
      expect(one.gap?.smallestKeptSigma).toBe(0.000023026190935293173);
      for (const threads of [2, 3]) {
        const many = kawaguchiLoss(spec, params, X, Y, n, { threads });
        expect(many.threads).toBe(threads);
        expect(many.threadFallback).toBe('');
        expect(many.J).not.toBeNull();
        expect(many.J).toBe(one.J);
        expect(many.rank).toBe(one.rank);
        expect(many.deflated).toBe(one.deflated);
        expect(many.sigmaMax).toBe(one.sigmaMax);
        // σ_min of the kept factor R (inverse iteration on all of R) and the remainders after the
        // refinement that solves with R: equal bits only if R is.
        expect(many.gap).toEqual(one.gap);
        expect([many.converged, many.certified]).toEqual([true, true]);
        expect(many.cpuTimings!.factor).toBeGreaterThan(0);
      }
    },
  );

  it.skipIf(!existsSync(dist))(
    'sampleGram route: its Cholesky factor runs on the threads, with the same factor bit for bit',
    async () => {
      const { kawaguchiLoss } = (await import(pathToFileURL(dist).href)) as Landscape;
      // 1,800 rows, 2,950 parameters: full row rank, so the route ends after factoring the 1,800² K
      // (28 pivot blocks, the first with 27 strips of 64 rows: the worker, started before the first
      // block, gets some of them).
      const wide: ModelSpec = { kind: 'mlp', layers: [8, 50, 50, 1], activation: 'relu' };
      const wp = fanInParams(wide, 8);
      const wx = gaussian(9, 1800 * 8);
      const wy = gaussian(10, 1800);
      const one = kawaguchiLoss(wide, wp, wx, wy, 1800, { threads: 1 });
      const two = kawaguchiLoss(wide, wp, wx, wy, 1800, { threads: 2 });
      expect(one.method).toBe('sampleGram');
      expect(two.method).toBe('sampleGram');
      expect([one.threads, two.threads, two.threadFallback]).toEqual([1, 2, '']);
      expect(two.J).toBe(0);
      expect(two.rank).toBe(one.rank);
      expect(two.sigmaMax).toBe(one.sigmaMax);
      expect(two.gap).toEqual(one.gap);
      expect([two.certified, one.certified]).toEqual([true, true]);
    },
  );

  it('without a built worker next to the module: one thread, the same value, and the reason', () => {
    const one = kawaguchiLossSrc(spec, params, X, Y, n, { threads: 1 });
    const fb = kawaguchiLossSrc(spec, params, X, Y, n, { threads: 2 });
    expect(fb.threads).toBe(1);
    expect(fb.threadFallback).toMatch(/worker/);
    expect(fb.J).toBe(one.J);
    expect(fb.gap).toEqual(one.gap);
    expect(one.threadFallback).toBe('');
  });

  it('options.threads must be a positive integer', () => {
    for (const bad of [0, -1, 1.5, '2']) {
      expect(() => kawaguchiLossSrc(spec, params, X, Y, n, { threads: bad as never })).toThrow(
        /options\.threads/,
      );
    }
  });
});
