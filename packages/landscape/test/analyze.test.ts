import type { ModelSpec } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { analyzeModel, jacobianLambdaMin, kawaguchiLossDense } from '../src/index.js';
import { gaussian } from './helpers.js';

function noNonFinite(v: unknown): void {
  if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
  else if (Array.isArray(v)) v.forEach(noNonFinite);
  else if (v && typeof v === 'object') Object.values(v).forEach(noNonFinite);
}

describe('analyzeModel', () => {
  it('shallow tanh: Zhang and Song sections, Kawaguchi skipped with a reason; JSON round-trips', () => {
    const spec: ModelSpec = { kind: 'shallow', inputDim: 4, width: 6, activation: 'tanh' };
    const params = { W: gaussian(1, 24), v: gaussian(2, 6) };
    const X = gaussian(3, 40);
    const r = analyzeModel({ spec, params, X, Y: gaussian(4, 10), n: 10 });
    const z = r.zhang as { jacobianLambdaMin: { value: number } };
    expect(z.jacobianLambdaMin.value).toBe(jacobianLambdaMin(spec, params, X, 10));
    expect((r.kawaguchi as { reason: string }).reason).toMatch(/piecewise-linear/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    noNonFinite(r);
  });

  it('pairedMlp: every one-hidden-layer or free-MLP diagnostic is skipped with a reason, none throws', () => {
    const spec: ModelSpec = { kind: 'pairedMlp', layers: [3, 5, 4, 2], activation: 'relu' };
    const params = { W1: gaussian(1, 15), W2: gaussian(3, 20), V: gaussian(5, 4) };
    const r = analyzeModel({ spec, params, X: gaussian(7, 30), Y: gaussian(8, 20), n: 10 });
    expect((r.zhang as { reason: string }).reason).toMatch(/'shallow' and 'paired'/);
    expect((r.kawaguchi as { reason: string }).reason).toMatch(/tie their outer weights/);
    expect((r.kawaguchiHuang as { reason: string }).reason).toMatch(
      /not in the Kawaguchi–Huang model family/,
    );
    expect((r.song as { lemma3: { reason: string } }).lemma3.reason).toBeTypeOf('string');
    expect(() => jacobianLambdaMin(spec, params, gaussian(7, 30), 10)).toThrow(
      /must be 'shallow' or 'paired'/,
    );
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('relu MLP: dense J(θ) when small, the scaled route beyond the dense limit, matrix-free beyond its Gram limit', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [3, 5, 4, 1], activation: 'relu', bias: true };
    const params = {
      W1: gaussian(1, 15),
      b1: gaussian(2, 5),
      W2: gaussian(3, 20),
      b2: gaussian(4, 4),
      W3: gaussian(5, 4),
      b3: gaussian(6, 1),
    };
    const X = gaussian(7, 90);
    const Y = gaussian(8, 30);
    const dense = analyzeModel({ spec, params, X, Y, n: 30 });
    const Jd = (dense.kawaguchi as { J: { route: string; J: number } }).J;
    expect(Jd.route).toBe('dense');
    expect(Jd.J).toBe(kawaguchiLossDense(spec, params, X, Y, 30).J);
    const scaled = analyzeModel({ spec, params, X, Y, n: 30, limits: { maxDenseEntries: 10 } });
    const Js = (scaled.kawaguchi as { J: { route: string; J: number; converged: boolean } }).J;
    expect(Js.route).toBe('scaled');
    expect(Js.converged).toBe(true);
    expect(Math.abs(Js.J - Jd.J)).toBeLessThanOrEqual(1e-10 * Jd.J);
    const free = analyzeModel({
      spec,
      params,
      X,
      Y,
      n: 30,
      limits: { maxDenseEntries: 10, maxGramEntries: 10 },
    });
    const Jf = (free.kawaguchi as { J: { route: string; J: number } }).J;
    expect(Jf.route).toBe('matrixFree');
    expect(Math.abs(Jf.J - Jd.J) / Jd.J).toBeLessThan(1e-6);
    expect((dense.zhang as { reason: string }).reason).toMatch(/shallow/);
    expect((dense.song as { lemma3: { reason: string } }).lemma3.reason).toMatch(/one-hidden-layer/);
    noNonFinite(dense);
    expect(() => analyzeModel({ spec, params, X, n: 0 })).toThrow(/n must/);
  });
});
