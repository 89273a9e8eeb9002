import { resnet18, resnetParamShapes, resnetStageParams } from '@narrownet/models';
import { projectOnto, validateOptimizerSpec } from '@narrownet/optim';
import { describe, expect, it } from 'vitest';
import { resnetOptimizer } from '../src/index.js';

const spec = { ...resnet18({ classes: 10, finalWidth: 64 }), head: 'paired' as const };

describe('resnetOptimizer (Zhang et al. Sec. 5.2 / App. H.2)', () => {
  it('regular: one SGD group (lr 0.1, momentum 0.9, weight decay 5e-4) over every parameter', () => {
    const o = resnetOptimizer(spec);
    validateOptimizerSpec(o, Object.keys(resnetParamShapes(spec)));
    expect(o.groups).toHaveLength(1);
    expect(o.groups[0]!.update).toEqual({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 });
    expect(o.groups[0]!.lr).toBe(0.1);
    expect(o.groups[0]!.projection).toBeUndefined();
  });

  it('Alg. 2: the final stage in a Frobenius ball, the head on its own, the trunk free; a partition', () => {
    const o = resnetOptimizer(spec, { radius: 0.4, schedule: { kind: 'cosine', tMax: 600 } });
    validateOptimizerSpec(o, Object.keys(resnetParamShapes(spec)));
    const [trunk, final, head] = o.groups;
    expect(final!.params).toEqual(resnetStageParams(spec));
    expect(final!.projection).toEqual({ kind: 'frobeniusBall', radius: 0.4 });
    expect(head!.params).toEqual(['linear.weight']);
    expect(head!.projection).toEqual({ kind: 'none' });
    expect(trunk!.projection).toBeUndefined();
    expect(trunk!.params.some((k) => k.startsWith('layer4.'))).toBe(false);
    for (const g of o.groups) expect(g.schedule).toEqual({ kind: 'cosine', tMax: 600 });
    const v = resnetOptimizer(spec, { radius: 1, vConstraint: 'exact' }).groups[2]!.projection;
    expect(v).toEqual({ kind: 'zetaKappa', zeta: 0.001, kappa: 1, method: 'exact', perRow: true });
  });

  it('B_{ζ,κ} on the head acts per row (per class), as zhang2021Deep: classes keep their own level', () => {
    const s = { ...resnet18({ classes: 2, widths: [2, 2, 2, 4] }), head: 'paired' as const };
    for (const vConstraint of ['exact', 'paperHeuristic'] as const) {
      const head = resnetOptimizer(s, { radius: 1, vConstraint }).groups[2]!;
      expect(head.params).toEqual(['linear.weight']);
      // [2 classes, 2]: row 0 at level ~1, row 1 at level ~3; with κ = 1 each row becomes its mean
      const V = [Float64Array.from([1, 1.2, 3, 3.4])];
      projectOnto(head.projection!, V, undefined, [[2, 2]]);
      // on the old code (one B_{ζ,κ} over the whole head) every entry got one common value
      expect(V[0]![0]).toBeCloseTo(V[0]![1]!, 12);
      expect(V[0]![2]).toBeCloseTo(V[0]![3]!, 12);
      expect(Math.abs(V[0]![0]! - V[0]![2]!)).toBeGreaterThan(1);
    }
  });

  it('rejects a linear head under Alg. 2, a bad radius and a v constraint without Alg. 2', () => {
    expect(() => resnetOptimizer({ ...spec, head: 'linear' }, { radius: 1 })).toThrow(/head = 'paired'/);
    expect(() => resnetOptimizer(spec, { radius: 0 })).toThrow(/radius must be > 0/);
    expect(() => resnetOptimizer(spec, { vConstraint: 'exact' })).toThrow(/needs the Alg. 2 regime/);
  });
});
