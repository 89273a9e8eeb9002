import { readFileSync } from 'node:fs';
import type { ModelSpec } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { hermiteCoefficients, jacobianLambdaMin, kawaguchiLossDense } from '../src/index.js';

// Reference values produced by scripts/torch_reference.py (PyTorch 1.13 autograd Jacobians,
// torch.linalg.svdvals / lstsq(gelsd), NumPy's hermegauss), committed with the script.
const ref = JSON.parse(readFileSync(new URL('./fixtures/torch-reference.json', import.meta.url), 'utf8'));

describe('PyTorch reference values', () => {
  it.each(
    ref.zhang as {
      kind: 'shallow' | 'paired';
      activation: 'tanh' | 'softplus';
      n: number;
      d: number;
      m: number;
      X: number[];
      W: number[];
      v: number[];
      sigmaMin: number;
    }[],
  )('λ_min(J) by the Gram route = torch σ_min of the autograd Jacobian ($kind $activation)', (c) => {
    const spec: ModelSpec = { kind: c.kind, inputDim: c.d, width: c.m, activation: c.activation };
    const got = jacobianLambdaMin(spec, { W: c.W, v: c.v }, c.X, c.n);
    // The Gram route squares the condition number: relative error ≈ ε·κ(J)² (κ ≲ 1e3 here).
    expect(Math.abs(got - c.sigmaMin) / c.sigmaMin).toBeLessThan(1e-8);
  });

  it.each(
    ref.kawaguchi as {
      activation: 'relu' | 'leakyRelu';
      layers: number[];
      bias: boolean;
      n: number;
      X: number[];
      Y: number[];
      params: Record<string, number[]>;
      J: number;
      rank: number;
    }[],
  )('dense J(θ) = ½‖y − Jac β*‖² with torch autograd Jacobian and lstsq ($activation)', (c) => {
    const spec: ModelSpec = { kind: 'mlp', layers: c.layers, activation: c.activation, bias: c.bias };
    const r = kawaguchiLossDense(spec, c.params, c.X, c.Y, c.n);
    expect(r.rank).toBe(c.rank);
    expect(Math.abs(r.J - c.J) / c.J).toBeLessThan(1e-10);
  });

  it('Hermite coefficients of tanh and gelu match NumPy hermegauss(200)', () => {
    for (const name of ['tanh', 'gelu'] as const) {
      const mine = hermiteCoefficients(name, { count: 10, order: 200 }).coefficients;
      const theirs = ref.hermite[name] as number[];
      for (let i = 0; i < 10; i++) expect(Math.abs(mine[i]! - theirs[i]!)).toBeLessThan(1e-12);
    }
  });
});
