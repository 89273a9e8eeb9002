import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type LossName,
  type MlpLikeSpec,
  type ModelSpec,
  forward64,
  hiddenOutputs64,
  loss64,
  lossAndGrad64,
  outputDim,
} from '../src/index.js';
import { FAMILIES, problem } from './helpers.js';

interface TorchCase {
  spec: MlpLikeSpec;
  loss: LossName;
  n: number;
  params: Record<string, number[]>;
  X: number[];
  Y: number[];
  pred: number[];
  value: number;
  grads: Record<string, number[]>;
}
const TORCH: { cases: TorchCase[] } = JSON.parse(
  readFileSync(new URL('./fixtures/reference_torch.json', import.meta.url), 'utf8'),
);

describe('forward64', () => {
  it.each(FAMILIES.map((s) => [s.kind, s] as const))('%s: output shape [n, outputDim]', (_k, spec) => {
    const n = 7;
    const { params, X } = problem(spec, n, 1);
    const y = forward64(spec, params, X, n);
    expect(y.length).toBe(n * outputDim(spec));
    expect(y.every(Number.isFinite)).toBe(true);
    const hidden = hiddenOutputs64(spec, params, X, n);
    const widths = 'layers' in spec ? spec.layers.slice(1, -1) : [spec.width];
    expect(hidden.map((h) => h.length)).toEqual(widths.map((m) => n * m));
  });

  it('paired net with equal halves (mirrored init, Zhang Alg. 1) outputs exactly 0', () => {
    for (const act of ['tanh', 'relu', 'gelu', 'softplus'] as const) {
      const spec: ModelSpec = { kind: 'paired', inputDim: 5, width: 8, activation: act };
      const { params, X } = problem(spec, 9, 2);
      params.W!.copyWithin(4 * 5, 0, 4 * 5); // rows 4..7 := rows 0..3
      expect(Array.from(forward64(spec, params, X, 9))).toEqual(new Array(9).fill(0));
    }
  });

  it('pairedMlp with equal halves of the last hidden layer outputs exactly 0 (depth 2-3, k = 1, 3, 10)', () => {
    for (const hidden of [[6], [5, 8], [4, 7, 6]])
      for (const k of [1, 3, 10])
        for (const act of ['tanh', 'relu'] as const) {
          const layers = [4, ...hidden, k];
          const spec: ModelSpec = { kind: 'pairedMlp', layers, activation: act, bias: true };
          const { params, X } = problem(spec, 9, 2);
          const H = hidden.length;
          const mH = hidden[H - 1]!;
          const cols = layers[H - 1]!;
          params[`W${H}`]!.copyWithin((mH / 2) * cols, 0, (mH / 2) * cols);
          params[`b${H}`]!.copyWithin(mH / 2, 0, mH / 2);
          expect(Array.from(forward64(spec, params, X, 9))).toEqual(new Array(9 * k).fill(0));
          params[`b${H}`]![mH - 1]! += 0.5; // the halves differ: no longer 0
          expect(forward64(spec, params, X, 9).some((x) => x !== 0)).toBe(true);
        }
  });

  it('pairedMlp [d, m, 1] is the paired net with V = vᵀ, and its k outputs are k paired nets', () => {
    const paired: ModelSpec = { kind: 'paired', inputDim: 5, width: 8, activation: 'gelu' };
    const deep: ModelSpec = { kind: 'pairedMlp', layers: [5, 8, 3], activation: 'gelu' };
    const { params, X, Y } = problem(deep, 6, 4);
    const out = forward64(deep, params, X, 6);
    for (let c = 0; c < 3; c++) {
      const v = params.V!.subarray(c * 4, (c + 1) * 4);
      const one = forward64(paired, { W: params.W1!, v }, X, 6);
      for (let i = 0; i < 6; i++) expect(out[i * 3 + c]).toBeCloseTo(one[i]!, 14);
    }
    const single: ModelSpec = { kind: 'pairedMlp', layers: [5, 8, 1], activation: 'gelu' };
    const v = params.V!.subarray(0, 4);
    const y1 = Y.subarray(0, 6);
    const a = lossAndGrad64(single, { W1: params.W1!, V: v }, X, y1, 6);
    const b = lossAndGrad64(paired, { W: params.W1!, v }, X, y1, 6);
    expect(a.loss).toBeCloseTo(b.loss, 13);
    for (let i = 0; i < 4; i++) expect(a.grads.V![i]).toBeCloseTo(b.grads.v![i]!, 13);
    for (let i = 0; i < 40; i++) expect(a.grads.W1![i]).toBeCloseTo(b.grads.W![i]!, 13);
  });

  it('shallow net equals Σ_j v_j σ(w_jᵀx) computed directly', () => {
    const spec: ModelSpec = { kind: 'shallow', inputDim: 2, width: 2, activation: 'tanh' };
    const W = [1, 2, -0.5, 0.25];
    const v = [3, -1];
    const x = [0.3, -0.7];
    const want = 3 * Math.tanh(0.3 - 1.4) - Math.tanh(-0.15 - 0.175);
    expect(forward64(spec, { W, v }, x, 1)[0]).toBeCloseTo(want, 15);
  });

  it('names the missing or mis-sized parameter and bad X', () => {
    const spec = FAMILIES[2]!;
    const { params, X } = problem(spec, 3, 3);
    const { b2: _b2, ...rest } = params;
    expect(() => forward64(spec, rest, X, 3)).toThrow(/missing tensor "b2"/);
    expect(() => forward64(spec, { ...params, W1: new Float64Array(5) }, X, 3)).toThrow(
      /"W1" has 5 entries, expected 12/,
    );
    expect(() => forward64(spec, params, X, 4)).toThrow(/X has 9 entries, expected n·d = 4·3/);
  });
});

describe('forward64 and lossAndGrad64 vs PyTorch float64 autograd (scripts/make_reference_fixture.py)', () => {
  it.each(TORCH.cases.map((c) => [c.spec.kind, JSON.stringify(c.spec.activation), c.loss, c] as const))(
    '%s %s %s',
    (_k, _a, _l, c) => {
      const pred = forward64(c.spec, c.params, c.X, c.n);
      for (const [i, p] of pred.entries()) expect(Math.abs(p - c.pred[i]!)).toBeLessThan(1e-12);
      const r = lossAndGrad64(c.spec, c.params, c.X, c.Y, c.n, c.loss);
      expect(Math.abs(r.loss - c.value)).toBeLessThan(1e-12 * Math.max(1, Math.abs(c.value)));
      expect(Object.keys(r.grads).sort()).toEqual(Object.keys(c.grads).sort());
      for (const [name, g] of Object.entries(c.grads)) {
        const mine = r.grads[name]!;
        for (const [i, x] of g.entries()) expect(Math.abs(mine[i]! - x), `${name}[${i}]`).toBeLessThan(1e-12);
      }
    },
  );
});

describe('lossAndGrad64 vs central finite differences of forward64 + loss64', () => {
  // float64 central differences with h = 1e-6: truncation h²·|ℓ'''|/6 ≈ 1e-13 and rounding
  // ε·|ℓ|/h ≈ 1e-10·|ℓ| for these O(1)..O(10) losses; tolerance 1e-7·(1 + max|∇ℓ|) leaves ≥ 10× margin.
  const h = 1e-6;
  const losses: LossName[] = ['halfSse', 'mse', 'softmaxCrossEntropy'];
  const cases = FAMILIES.flatMap((spec) => losses.map((loss) => [spec.kind, loss, spec] as const));
  it.each(cases)('%s / %s', (_kind, loss, spec) => {
    const n = 5;
    const k = outputDim(spec);
    const { params, X, Y } = problem(spec, n, 11, loss);
    const value = (p: typeof params) => loss64(loss, forward64(spec, p, X, n), Y, k).value;
    const r = lossAndGrad64(spec, params, X, Y, n, loss);
    expect(r.loss).toBeCloseTo(value(params), 14);
    let scale = 1;
    for (const g of Object.values(r.grads)) for (const x of g) scale = Math.max(scale, Math.abs(x));
    for (const [name, p] of Object.entries(params)) {
      for (let i = 0; i < p.length; i++) {
        const keep = p[i]!;
        p[i] = keep + h;
        const up = value(params);
        p[i] = keep - h;
        const down = value(params);
        p[i] = keep;
        const fd = (up - down) / (2 * h);
        expect(Math.abs(r.grads[name]![i]! - fd), `${name}[${i}]`).toBeLessThan(1e-7 * scale);
      }
    }
    // With one output the softmax is constant, so CE is identically 0 with zero gradient.
    if (k === 1 && loss === 'softmaxCrossEntropy') expect(r.loss).toBe(0);
  });
});
