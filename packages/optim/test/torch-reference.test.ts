// Compares the host optimizer with torch.optim iterates recorded by
// scripts/torch_reference_iterates.py (torch 1.13, float32). The recorded gradients are fed in,
// so the test isolates the update rule, the schedule and the projections.
import { readFileSync } from 'node:fs';
import type { ParamTree } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { type OptimizerSpec, type UpdateSpec, createHostOptimizer, scheduleFactor } from '../src/index.js';

interface Step {
  lr: number[];
  grads: Record<string, number[]>;
  params: Record<string, number[]>;
}
const fx = JSON.parse(
  readFileSync(new URL('./fixtures/torch_reference_iterates.json', import.meta.url), 'utf8'),
) as {
  shape: Record<string, number[]>;
  init: Record<string, number[]>;
  cases: { name: string; steps: Step[] }[];
  schedules: Record<string, number[]>;
};

function tree(values: Record<string, number[]>): ParamTree {
  const out: ParamTree = {};
  for (const [k, v] of Object.entries(values)) out[k] = { shape: fx.shape[k]!, data: Float32Array.from(v) };
  return out;
}

const sgd = (extra: Partial<Extract<UpdateSpec, { kind: 'sgd' }>> = {}): UpdateSpec => ({
  kind: 'sgd',
  ...extra,
});
const twoGroups = (lrW: number, lrV: number, update: UpdateSpec, extra: object = {}): OptimizerSpec => ({
  groups: [
    { params: ['W'], lr: lrW, update, ...extra },
    { params: ['v'], lr: lrV, update, ...extra },
  ],
});

const specs: Record<string, OptimizerSpec> = {
  sgd: twoGroups(0.1, 0.05, sgd()),
  sgd_momentum: twoGroups(0.1, 0.05, sgd({ momentum: 0.9 })),
  sgd_momentum_dampening_wd: twoGroups(0.1, 0.05, sgd({ momentum: 0.9, dampening: 0.3, weightDecay: 0.01 })),
  sgd_nesterov_wd: twoGroups(0.1, 0.05, sgd({ momentum: 0.9, nesterov: true, weightDecay: 5e-4 })),
  adam: twoGroups(1e-2, 5e-3, { kind: 'adam' }),
  adam_wd_betas: twoGroups(1e-2, 5e-3, { kind: 'adam', beta1: 0.8, beta2: 0.99, weightDecay: 1e-4 }),
  adamw: twoGroups(1e-2, 5e-3, { kind: 'adamw' }),
  adamw_cosine: twoGroups(
    1e-2,
    5e-3,
    { kind: 'adamw', weightDecay: 0.1 },
    {
      schedule: { kind: 'cosine', tMax: 7, etaMin: 1e-3 },
    },
  ),
  sgd_momentum_multistep: twoGroups(0.1, 0.05, sgd({ momentum: 0.9 }), {
    schedule: { kind: 'multistep', milestones: [3, 6, 6], gamma: 0.5 },
  }),
  pgd_alg2_paper: {
    groups: [
      {
        params: ['W'],
        lr: 0.5,
        update: sgd({ momentum: 0.9 }),
        projection: { kind: 'frobeniusBall', radius: 0.05 },
      },
      {
        params: ['v'],
        lr: 0.5,
        update: sgd({ momentum: 0.9 }),
        projection: { kind: 'zetaKappa', zeta: 0.3, kappa: 1, method: 'paperHeuristic' },
      },
    ],
  },
  pgd_alg2_paper_kappa2: {
    groups: [
      {
        params: ['W'],
        lr: 0.5,
        update: sgd({ momentum: 0.9 }),
        projection: { kind: 'frobeniusBall', radius: 0.05 },
      },
      {
        params: ['v'],
        lr: 0.5,
        update: sgd({ momentum: 0.9 }),
        projection: { kind: 'zetaKappa', zeta: 0.2, kappa: 2, method: 'paperHeuristic' },
      },
    ],
  },
};

describe('host optimizer reproduces torch.optim iterates (fixture from torch 1.13)', () => {
  it('has a spec for every recorded case', () => {
    expect(fx.cases.map((c) => c.name).sort()).toEqual(Object.keys(specs).sort());
  });
  for (const c of fx.cases) {
    it(c.name, () => {
      const spec = specs[c.name]!;
      const params = tree(fx.init);
      const opt = createHostOptimizer(spec, params);
      for (const [t, s] of c.steps.entries()) {
        // The learning rate torch used at this step equals lr · scheduleFactor.
        spec.groups.forEach((g, gi) => {
          expect(g.lr * scheduleFactor(g.schedule, t, g.lr)).toBeCloseTo(s.lr[gi]!, 12);
        });
        opt.step(params, tree(s.grads));
        for (const k of ['W', 'v']) {
          const got = params[k]!.data;
          const want = s.params[k]!;
          for (let i = 0; i < want.length; i++) {
            // float32 torch ops round after every op; we round once: allow a few ulps.
            expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want[i]!)));
          }
        }
      }
      expect(opt.stepCount).toBe(c.steps.length);
    });
  }
});

describe('scheduleFactor matches torch.optim.lr_scheduler', () => {
  const cases: Record<string, [Parameters<typeof scheduleFactor>[0], number]> = {
    'cosine_T10_eta0.01_lr0.1': [{ kind: 'cosine', tMax: 10, etaMin: 0.01 }, 0.1],
    'cosine_T25_eta0_lr0.1': [{ kind: 'cosine', tMax: 25 }, 0.1],
    'multistep_3_7_7_20_g0.3_lr0.1': [{ kind: 'multistep', milestones: [3, 7, 7, 20], gamma: 0.3 }, 0.1],
  };
  for (const [name, [sched, lr]] of Object.entries(cases)) {
    it(name, () => {
      const want = fx.schedules[name]!;
      expect(want.length).toBeGreaterThan(5);
      want.forEach((w, t) => {
        expect(lr * scheduleFactor(sched, t, lr)).toBeCloseTo(w, 12);
      });
    });
  }
});
