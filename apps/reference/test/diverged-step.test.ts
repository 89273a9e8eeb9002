import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-diverged-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The blown-up sweep (lr 10), small: every run diverges within a few steps. */
const SWEEP = ['--widths', '20', '--radii', '1,1000', '--lrs1', '10', '--lrs2', '10', '--steps', '300'];
const SMALL = ['--n', '200', '--d', '20', '--eval-every', '300', '--engine', 'onnx', '--device', 'cpu'];

describe('a blown-up run is diverged at the step it happened, in grid and sequential mode', () => {
  it('grid mode records the exact first non-finite step, the same as one trainer per run', async () => {
    const steps: Record<string, Record<string, number | undefined>> = {};
    for (const mode of ['grid', 'sequential']) {
      const out = join(root, mode);
      const s = io();
      const code = await main(
        [
          'run',
          'synthetic',
          ...SWEEP,
          ...SMALL,
          ...(mode === 'sequential' ? ['--sequential'] : []),
          '--out',
          out,
        ],
        s,
      );
      expect(code, s.err()).toBe(0);
      const recs = records(out);
      expect(recs).toHaveLength(4);
      steps[mode] = {};
      for (const r of recs) {
        expect(r.status, r.id).toBe('diverged');
        expect(r.finalLoss, r.id).toBeNull();
        expect(r.lambdaMin, r.id).toBeNull();
        steps[mode]![r.id] = r.divergedAt;
      }
    }
    // before the grid trainer reported exact steps, grid mode said 300 (the evaluation boundary)
    for (const [id, at] of Object.entries(steps.grid!)) {
      expect(at, id).toBeLessThan(300);
      expect(at, id).toBe(steps.sequential![id]);
    }
  }, 120_000);
});
