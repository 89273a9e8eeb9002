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
    '2 threads give the same J (bit for bit), rank and certificate as 1',
    async () => {
      const { kawaguchiLoss } = (await import(pathToFileURL(dist).href)) as Landscape;
      const one = kawaguchiLoss(spec, params, X, Y, n, { threads: 1 });
      const two = kawaguchiLoss(spec, params, X, Y, n, { threads: 2 });
      expect(one.method).toBe('parameterGram');
      expect(one.threads).toBe(1);
      expect(two.threads).toBe(2);
      expect(two.threadFallback).toBe('');
      expect(two.J).not.toBeNull();
      expect(two.J).toBe(one.J);
      expect(two.rank).toBe(one.rank);
      expect(two.sigmaMax).toBe(one.sigmaMax);
      expect([one.converged, one.certified, two.converged, two.certified]).toEqual([true, true, true, true]);
    },
  );

  it('without a built worker next to the module: one thread, the same value, and the reason', () => {
    const one = kawaguchiLossSrc(spec, params, X, Y, n, { threads: 1 });
    const fb = kawaguchiLossSrc(spec, params, X, Y, n, { threads: 2 });
    expect(fb.threads).toBe(1);
    expect(fb.threadFallback).toMatch(/worker/);
    expect(fb.J).toBe(one.J);
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
