import { initParams } from '@narrownet/init';
import { type ModelSpec, createRng, forward64, hiddenOutputs64 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  type RegimeSpec,
  constrainedRegular,
  kawaguchiHuang,
  kawaguchiHuangCz,
  regular,
  regularDeep,
  song,
  train,
  validateRegime,
  zhang2021,
  zhang2021Deep,
} from '../src/index.js';
import { projectOnto } from '@narrownet/optim';
import { sphereData, tfjsFactory } from './helpers.js';

const base = { inputDim: 6, width: 8, lr1: 0.05, lr2: 0.05 };

describe('presets', () => {
  it('zhang2021: paired net, mirrored init whose output is exactly 0', () => {
    const r = zhang2021({ ...base, radius: 0.5 });
    expect(r.model.kind).toBe('paired');
    expect(r.init).toEqual({ kind: 'mirroredLecun' });
    const p = initParams(r.model, r.init, createRng(3));
    expect(p.v!.shape).toEqual([4]);
    const { X, n } = sphereData(10, 6);
    const f = forward64(r.model, { W: p.W!.data, v: p.v!.data }, X, n);
    expect(Array.from(f).every((x) => x === 0)).toBe(true);
    // a regular LeCun shallow net is not 0 at init (the check above can fail)
    const q = regular(base);
    const pq = initParams(q.model, q.init, createRng(3));
    const g = forward64(q.model, { W: pq.W!.data, v: pq.v!.data }, X, n);
    expect(Array.from(g).some((x) => x !== 0)).toBe(true);
  });

  it('zhang2021 with a v constraint uses |v| at init and projects v onto B_{ζ,κ}', () => {
    const r = zhang2021({ ...base, radius: 1, vConstraint: 'exact', zeta: 0.01, kappa: 2 });
    expect(r.init).toEqual({ kind: 'mirroredLecun', absOuter: true });
    expect(r.optimizer.groups[1]!.projection).toEqual({
      kind: 'zetaKappa',
      zeta: 0.01,
      kappa: 2,
      method: 'exact',
    });
    const p = initParams(r.model, r.init, createRng(5));
    expect(Array.from(p.v!.data).every((x) => x >= 0)).toBe(true);
    expect(() => zhang2021({ ...base, radius: 1, vConstraint: 'x' as 'none' })).toThrow(/vConstraint/);
  });

  it('zhang2021 keeps ‖W − W0‖_F ≤ ε after every step, and the ball becomes active', async () => {
    const data = sphereData(24, 6);
    const eps = 0.05;
    const r = zhang2021({ ...base, radius: eps, lr1: 0.05, lr2: 0.05, steps: 30 });
    const dists: number[] = [];
    const res = await train(r, data, {
      createTrainer: tfjsFactory,
      evalEvery: 1,
      onMetrics: (m) => dists.push(m.distance.W!),
    });
    expect(dists).toHaveLength(31);
    for (const d of dists) expect(d).toBeLessThanOrEqual(eps * (1 + 1e-5));
    expect(Math.max(...dists)).toBeGreaterThan(eps * 0.999);
    expect(res.metrics.at(-1)!.groups[0]!.active).toBe(true);
    expect(res.finalLoss).toBeLessThan(res.metrics[0]!.loss);
  });

  it('constrainedRegular = regular init and structure plus the W ball', () => {
    const r = constrainedRegular({ ...base, radius: 0.3 });
    const q = regular(base);
    expect(r.model).toEqual(q.model);
    expect(r.init).toEqual({ kind: 'lecun' });
    expect(r.optimizer.groups[0]!.projection).toEqual({ kind: 'frobeniusBall', radius: 0.3 });
    expect(q.optimizer.groups[0]!.projection).toEqual({ kind: 'none' });
  });

  it('kawaguchiHuang moves only the last layer, with step 1/(c_z ζ)', async () => {
    const data = sphereData(16, 6);
    const r = kawaguchiHuang({ layers: [6, 10, 1], cw: 1, cb: 0.5, cz: 4, steps: 5 });
    expect(r.optimizer.groups.at(-1)!.lr).toBeCloseTo(1 / (4 * 2), 12);
    expect(r.optimizer.groups[0]!.lr).toBe(0);
    const p0 = initParams(r.model, r.init, createRng(0));
    const res = await train(r, data, { createTrainer: tfjsFactory, evalEvery: 5 });
    expect(Array.from(res.params.W1!.data)).toEqual(Array.from(p0.W1!.data));
    expect(Array.from(res.params.b1!.data)).toEqual(Array.from(p0.b1!.data));
    expect(Array.from(res.params.W2!.data)).not.toEqual(Array.from(p0.W2!.data));
    expect(res.finalLoss).toBeLessThan(res.metrics[0]!.loss);
  });

  it('kawaguchiHuangCz is (1/n) Σ ‖[h_i; 1]‖²', () => {
    expect(kawaguchiHuangCz([1, 2, 0, 3], 2)).toBeCloseTo((1 + 4 + 1 + 9 + 1) / 2, 12);
    expect(() => kawaguchiHuangCz([1, 2, 3], 2)).toThrow(/multiple of n/);
  });

  it('song sets the ω2/ω1 init', () => {
    const r = song({ ...base, ratio: 3 });
    expect(r.init).toEqual({ kind: 'song', ratio: 3 });
    expect(r.model).toMatchObject({ activation: 'gelu' });
    expect(r.loss).toBe('mse');
    expect(r.optimizer.groups[0]!.update).toEqual({ kind: 'sgd', momentum: 0 });
  });

  it('validateRegime names the bad field', () => {
    const r = regular(base);
    expect(() => validateRegime({ ...r, loss: 'l1' as 'mse' })).toThrow(/loss/);
    expect(() => validateRegime({ ...r, optimizer: { groups: [r.optimizer.groups[0]!] } })).toThrow(/"v"/);
    expect(() => validateRegime({ ...r, stopping: { maxSteps: -1 } })).toThrow(/stopping.maxSteps/);
    expect(() => constrainedRegular({ ...base, radius: 0 })).toThrow(/radius/);
  });

  it('validateRegime checks every field against its range and names it by its path (issue #17)', () => {
    const r = zhang2021({ ...base, radius: 1 });
    const g0 = r.optimizer.groups[0]!;
    const withGroup0 = (over: object): RegimeSpec => ({
      ...r,
      optimizer: { groups: [{ ...g0, ...over }, r.optimizer.groups[1]!] },
    });
    const cases: [RegimeSpec, string][] = [
      [
        withGroup0({ update: { kind: 'sgd', momentum: -1 } }),
        'regime.optimizer.groups[0].update.momentum: must be a finite number in [0, 1), got -1',
      ],
      [
        withGroup0({ update: { kind: 'sgd', momentum: 1.5 } }),
        'regime.optimizer.groups[0].update.momentum: must be a finite number in [0, 1), got 1.5',
      ],
      [
        withGroup0({ update: { kind: 'lbfgs' } }),
        'regime.optimizer.groups[0].update.kind: unknown update kind "lbfgs"',
      ],
      [
        withGroup0({ projection: { kind: 'sphere', radius: 1 } }),
        'regime.optimizer.groups[0].projection.kind: unknown projection kind "sphere"',
      ],
      [
        withGroup0({ projection: { kind: 'frobeniusBall', radius: '1' } }),
        'regime.optimizer.groups[0].projection.radius: must be a finite number > 0, got "1"',
      ],
      [
        withGroup0({ schedule: { kind: 'cosine', tMax: 2.5 } }),
        'regime.optimizer.groups[0].schedule.tMax: must be an integer ≥ 1, got 2.5',
      ],
      [withGroup0({ lr: '0.1' }), 'regime.optimizer.groups[0].lr: must be a finite number ≥ 0, got "0.1"'],
      [{ ...r, init: { kind: 'xavier' } as never }, 'regime.init.kind: unknown init kind "xavier"'],
      [{ ...r, init: { kind: 'song', ratio: -2 } }, 'regime.init.ratio: must be a finite number > 0, got -2'],
      [
        { ...r, init: { kind: 'lecun', distribution: 'laplace' } as never },
        'regime.init.distribution: must be one of normal, truncatedNormal, uniform, got "laplace"',
      ],
      [
        { ...r, model: { ...r.model, width: 7 } as ModelSpec },
        'regime.model: model spec: width of a paired net must be even',
      ],
      [{ ...r, loss: 'l1' as 'mse' }, 'regime.loss: must be one of'],
      [{ ...r, name: '' }, 'regime.name: must be a non-empty string'],
      [
        { ...r, stopping: { maxSteps: 10, lossTolerance: -1 } },
        'regime.stopping.lossTolerance: must be a finite number ≥ 0, got -1',
      ],
      [{ ...r, stopping: { maxSteps: 1.5 } }, 'regime.stopping.maxSteps: must be an integer ≥ 0, got 1.5'],
    ];
    for (const [bad, msg] of cases) expect(() => validateRegime(bad), msg).toThrow(msg);
    expect(validateRegime(r)).toBe(r);
  });
});

describe('deep classifier presets (Zhang et al. App. G / H.2)', () => {
  it('zhang2021Deep: pairedMlp, mirrored init, free lower layers, ball on the last hidden layer, V free by default', () => {
    const r = zhang2021Deep({ layers: [784, 784, 256, 10], radius: 0.4 });
    expect(r.model).toEqual({ kind: 'pairedMlp', layers: [784, 784, 256, 10], activation: 'relu' });
    expect(r.init).toEqual({ kind: 'mirroredLecun' });
    expect(r.loss).toBe('softmaxCrossEntropy');
    const update = { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 };
    expect(r.optimizer.groups).toEqual([
      { params: ['W1'], lr: 0.01, update, projection: { kind: 'none' } },
      { params: ['W2'], lr: 0.01, update, projection: { kind: 'frobeniusBall', radius: 0.4 } },
      { params: ['V'], lr: 0.01, update, projection: { kind: 'none' } },
    ]);
    const adam = zhang2021Deep({
      layers: [5, 6, 7, 8, 3],
      radius: 1,
      optimizer: 'adam',
      bias: true,
      vConstraint: 'exact',
      schedule: { kind: 'cosine', tMax: 100 },
    });
    expect(adam.init).toEqual({ kind: 'mirroredLecun', absOuter: true });
    expect(adam.optimizer.groups.map((g) => [g.params, g.projection?.kind, g.lr, g.update])).toEqual([
      [['W1', 'b1', 'W2', 'b2'], 'none', 1e-3, { kind: 'adam', weightDecay: 1e-4 }],
      [['W3', 'b3'], 'frobeniusBall', 1e-3, { kind: 'adam', weightDecay: 1e-4 }],
      [['V'], 'zetaKappa', 1e-3, { kind: 'adam', weightDecay: 1e-4 }],
    ]);
    expect(adam.optimizer.groups[2]!.projection).toEqual({
      kind: 'zetaKappa',
      zeta: 0.001,
      kappa: 1,
      method: 'exact',
      perRow: true,
    });
    expect(adam.optimizer.groups.every((g) => g.schedule?.kind === 'cosine')).toBe(true);
    // one hidden layer: no free group
    expect(zhang2021Deep({ layers: [4, 6, 2], radius: 1 }).optimizer.groups.map((g) => g.params)).toEqual([
      ['W1'],
      ['V'],
    ]);
    expect(() => zhang2021Deep({ layers: [4, 5, 2], radius: 1 })).toThrow(
      /layers\[1\] \(the last hidden width\)/,
    );
    expect(() => zhang2021Deep({ layers: [4, 2], radius: 1 })).toThrow(/H ≥ 1/);
    expect(() => zhang2021Deep({ layers: [4, 6, 2], radius: 0 })).toThrow(/radius/);
    expect(() => zhang2021Deep({ layers: [4, 6, 2], radius: 1, vConstraint: 'yes' as 'exact' })).toThrow(
      /vConstraint/,
    );
  });

  it('regularDeep: the same layers as a plain mlp, LeCun init, one unconstrained group', () => {
    const r = regularDeep({ layers: [784, 784, 256, 10], optimizer: 'adam' });
    expect(r.model).toEqual({ kind: 'mlp', layers: [784, 784, 256, 10], activation: 'relu' });
    expect(r.init).toEqual({ kind: 'lecun' });
    expect(r.optimizer.groups).toEqual([
      {
        params: ['W1', 'W2', 'W3'],
        lr: 1e-3,
        update: { kind: 'adam', weightDecay: 1e-4 },
        projection: { kind: 'none' },
      },
    ]);
    expect(() => regularDeep({ layers: [3, 4, 2], optimizer: 'rmsprop' as 'sgd' })).toThrow(/sgd or adam/);
  });

  it('why V is free by default: with κ = 1 the exact per-row B_{ζ,κ} lets the net predict at most 2 classes', () => {
    const r = zhang2021Deep({ layers: [8, 12, 10, 6], radius: 1, vConstraint: 'exact' });
    const p = initParams(r.model, r.init, createRng(4));
    const W2 = p.W2!.data;
    for (let i = 5 * 12; i < W2.length; i++) W2[i]! += 0.3 * Math.sin(i); // halves differ: f ≠ 0
    const V = p.V!;
    projectOnto(r.optimizer.groups[2]!.projection!, [V.data], undefined, [V.shape]);
    const X = createRng(6).fillNormal(new Float64Array(200 * 8));
    const arrays = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.data]));
    const f = forward64(r.model, arrays, X, 200);
    // Every row of V is now c_c·1, so the logits are c_c·s(x) for one scalar s(x): wherever they
    // are not all equal (s ≠ 0) the argmax is the class of the largest or of the smallest c_c.
    const h = V.shape[1]!;
    const c = Array.from({ length: 6 }, (_, k) => V.data[k * h]!);
    for (let k = 0; k < 6; k++)
      expect(V.data.subarray(k * h, (k + 1) * h).every((x) => x === c[k])).toBe(true);
    expect(new Set(c).size).toBe(6); // distinct levels: the two extreme classes are unique
    const extremes = new Set([c.indexOf(Math.max(...c)), c.indexOf(Math.min(...c))]);
    const predicted = new Set<number>();
    let decided = 0;
    for (let i = 0; i < 200; i++) {
      const row = Array.from(f.subarray(i * 6, i * 6 + 6));
      if (Math.max(...row) === Math.min(...row)) continue;
      decided++;
      predicted.add(row.indexOf(Math.max(...row)));
    }
    expect(decided).toBeGreaterThan(100);
    expect([...predicted].every((k) => extremes.has(k))).toBe(true);
    // the unconstrained head predicts more classes from the same features
    const free = initParams(r.model, { kind: 'mirroredLecun' }, createRng(4));
    free.W2!.data.set(W2);
    const g = forward64(r.model, { ...arrays, V: free.V!.data }, X, 200);
    const more = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const row = Array.from(g.subarray(i * 6, i * 6 + 6));
      more.add(row.indexOf(Math.max(...row)));
    }
    expect(more.size).toBeGreaterThan(2);
  });
});

describe('kawaguchiHuang step 1/(c_z ζ)', () => {
  it('with c_z from the init features, last-layer GD never increases the loss (Lemma 3, eq. 20)', async () => {
    const data = sphereData(40, 6, 9);
    const layers = [6, 12, 12, 1];
    const probe = kawaguchiHuang({ layers, cw: 1, cb: 0.5, cz: 1 });
    const p0 = initParams(probe.model, probe.init, createRng(4));
    const arrays = Object.fromEntries(Object.entries(p0).map(([k, t]) => [k, t.data]));
    const hidden = hiddenOutputs64(probe.model, arrays, data.X, data.n).at(-1)!;
    const cz = kawaguchiHuangCz(hidden, data.n);
    const r = kawaguchiHuang({ layers, cw: 1, cb: 0.5, cz, steps: 30 });
    const losses: number[] = [];
    const res = await train(r, data, {
      createTrainer: tfjsFactory,
      seed: 4,
      evalEvery: 1,
      onMetrics: (m) => losses.push(m.loss),
    });
    expect(losses).toHaveLength(31);
    for (let i = 1; i < losses.length; i++)
      expect(losses[i]!).toBeLessThanOrEqual(losses[i - 1]! * (1 + 1e-6));
    expect(res.finalLoss).toBeLessThan(losses[0]! * 0.9);
    // a step 50× larger than 1/(c_z ζ) is not monotone (the bound is what makes it so)
    const big: number[] = [];
    await train(kawaguchiHuang({ layers, cw: 1, cb: 0.5, cz: cz / 50, steps: 30 }), data, {
      createTrainer: tfjsFactory,
      seed: 4,
      evalEvery: 1,
      onMetrics: (m) => big.push(m.loss),
    });
    expect(big.some((l, i) => i > 0 && !(l <= big[i - 1]!))).toBe(true);
  });
});
