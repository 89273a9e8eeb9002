import { kawaguchiTeacher } from '@narrownet/datasets';
import { kawaguchiLossDense } from '@narrownet/landscape';
import { describe, expect, it } from 'vitest';
import { startTrainerEngine } from '../src/engines.js';
import { kawaguchiDepthWidth } from '../src/kawaguchi-depth-width.js';

describe('kawaguchiDepthWidth (Fig. 1 experiment, library level)', () => {
  it('fills every depth × width cell with √J and √L at init and after training; J ≤ L holds', async () => {
    const ds = kawaguchiTeacher({ n: 60, seed: 3 });
    const eng = await startTrainerEngine({ engine: 'tfjs', device: 'cpu', threads: 1 });
    const cells = await kawaguchiDepthWidth({
      data: ds,
      settings: {
        depths: [1, 2],
        widths: [3, 6],
        epochs: 3,
        lr: 0.01,
        momentum: 0.9,
        batchSize: 20,
        trainLoss: 'mse',
        seed: 1,
      },
      createTrainer: eng.factory(),
    });
    expect(cells.map((c) => [c.depth, c.width])).toEqual([
      [1, 3],
      [1, 6],
      [2, 3],
      [2, 6],
    ]);
    for (const c of cells) {
      expect(c.training).toBe('finished');
      expect(c.sqrtJInit).not.toBeNull();
      expect(c.sqrtJTrained).not.toBeNull();
      // A bias-free ReLU net is positively homogeneous: vec(Ŷ) = Jac·θ/(H+1) lies in the range of the
      // Jacobian, so J(θ) ≤ L(θ) at every θ (equality at local minima, Theorem 1).
      expect(c.sqrtJInit!).toBeLessThanOrEqual(c.sqrtLInit * (1 + 1e-12));
      expect(c.sqrtJTrained!).toBeLessThanOrEqual(c.sqrtLTrained! * (1 + 1e-12));
      expect(c.params).toBe(
        c.depth === 1 ? 10 * c.width + c.width : 10 * c.width + c.width * c.width + c.width,
      );
    }
    // The first cell's J at init equals the dense reference on the same weights (re-drawn the same way).
    const { initParams } = await import('@narrownet/init');
    const { createRng } = await import('@narrownet/models');
    const spec = { kind: 'mlp' as const, layers: [10, 3, 1], activation: 'relu' as const };
    const p = initParams(
      spec,
      { kind: 'lecun', distribution: 'normal' },
      createRng(1 * 1000003 + 1 * 1009 + 3),
    );
    const ref = kawaguchiLossDense(spec, p, Float64Array.from(ds.X), Float64Array.from(ds.Y), ds.n);
    expect(cells[0]!.sqrtJInit!).toBeCloseTo(Math.sqrt(ref.J), 10);
  }, 120_000);

  it('rejects an empty grid', async () => {
    const ds = kawaguchiTeacher({ n: 10, seed: 3 });
    const eng = await startTrainerEngine({ engine: 'tfjs', device: 'cpu', threads: 1 });
    const base = { epochs: 1, lr: 0.01, momentum: 0.9, batchSize: 5, trainLoss: 'mse' as const, seed: 1 };
    await expect(
      kawaguchiDepthWidth({
        data: ds,
        settings: { ...base, depths: [], widths: [3] },
        createTrainer: eng.factory(),
      }),
    ).rejects.toThrow(/settings.depths/);
  });
});
