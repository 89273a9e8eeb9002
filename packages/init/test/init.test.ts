import { type ModelSpec, createRng, erf, forward64, hiddenOutputs64 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  type InitSpec,
  TRUNCATED_NORMAL_STD,
  fans,
  initParams,
  songRatioOf,
  validateInit,
  varianceScaling,
} from '../src/index.js';

/**
 * Statistical tolerance. For N i.i.d. draws x with mean 0 and variance σ², the sample mean has
 * standard error σ/√N and the sample second moment s² = Σx²/N has standard error
 * √(Var(x²)/N) = σ²√((k − 1)/N) with k = E x⁴/σ⁴ the kurtosis: k = 3 (normal), 9/5 (uniform),
 * < 3 (normal truncated at ±2). So √(2/N)·σ² bounds the standard error of s² for all three, and
 * we accept |mean| ≤ 5σ/√N and |s² − σ²| ≤ 5σ²√(2/N) (a false alarm has probability < 1e-6 per
 * check under the normal approximation; seeds are fixed, so the tests are deterministic anyway).
 */
function expectMoments(x: ArrayLike<number>, variance: number): void {
  const n = x.length;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    s += x[i]!;
    s2 += x[i]! * x[i]!;
  }
  const sd = Math.sqrt(variance);
  expect(Math.abs(s / n)).toBeLessThanOrEqual((5 * sd) / Math.sqrt(n));
  expect(Math.abs(s2 / n - variance)).toBeLessThanOrEqual(5 * variance * Math.sqrt(2 / n));
}

describe('varianceScaling (jax.nn.initializers semantics)', () => {
  const shape = [200, 300];
  const f = fans(shape);
  it('fans in the [out, in, ...receptive] layout', () => {
    expect(f).toEqual({ fanIn: 300, fanOut: 200 });
    expect(fans([8, 3, 5, 5])).toEqual({ fanIn: 75, fanOut: 200 });
    expect(fans([7])).toEqual({ fanIn: 7, fanOut: 1 });
    expect(() => fans([])).toThrow(/shape/);
  });
  for (const distribution of ['normal', 'truncatedNormal', 'uniform'] as const) {
    for (const [mode, fan] of [
      ['fanIn', 300],
      ['fanOut', 200],
      ['fanAvg', 250],
    ] as const) {
      it(`${distribution} ${mode}: variance scale/fan`, () => {
        const x = varianceScaling(shape, { scale: 2, mode, distribution }, createRng(1));
        expect(x.length).toBe(60000);
        expectMoments(x, 2 / fan);
        const sd = Math.sqrt(2 / fan);
        const max = Math.max(...Array.from(x, Math.abs));
        if (distribution === 'uniform') expect(max).toBeLessThanOrEqual(Math.sqrt(3) * sd);
        if (distribution === 'truncatedNormal')
          expect(max).toBeLessThanOrEqual((2 * sd) / TRUNCATED_NORMAL_STD);
        if (distribution === 'normal') expect(max).toBeGreaterThan((2 * sd) / TRUNCATED_NORMAL_STD);
      });
    }
  }
  it('TRUNCATED_NORMAL_STD is the std of N(0,1) truncated to [−2, 2]', () => {
    // Var = 1 − 2·2·φ(2)/(Φ(2) − Φ(−2)) for the standard normal truncated at ±2.
    const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
    const mass = erf(2 / Math.SQRT2);
    expect(TRUNCATED_NORMAL_STD).toBeCloseTo(Math.sqrt(1 - (4 * phi2) / mass), 7);
  });
  it('rejects bad options naming them', () => {
    const r = createRng(0);
    expect(() => varianceScaling([2, 2], { scale: 0, mode: 'fanIn', distribution: 'normal' }, r)).toThrow(
      /scale/,
    );
    expect(() =>
      varianceScaling([2, 2], { scale: 1, mode: 'fan' as 'fanIn', distribution: 'normal' }, r),
    ).toThrow(/mode/);
    expect(() =>
      varianceScaling([2, 2], { scale: 1, mode: 'fanIn', distribution: 'cauchy' as 'normal' }, r),
    ).toThrow(/distribution/);
  });
});

describe('initParams: LeCun / He / Glorot', () => {
  const shallow: ModelSpec = { kind: 'shallow', inputDim: 50, width: 400, activation: 'tanh' };
  const paired: ModelSpec = { kind: 'paired', inputDim: 50, width: 800, activation: 'tanh' };
  const mlp: ModelSpec = { kind: 'mlp', layers: [40, 300, 200, 3], activation: 'relu', bias: true };
  it('lecun: W ~ N(0, 1/d), v ~ N(0, 1/m) (Alg. 1; v of the paired net too)', () => {
    const s = initParams(shallow, { kind: 'lecun' }, createRng(2));
    expectMoments(s.W!.data, 1 / 50);
    expectMoments(s.v!.data, 1 / 400);
    const p = initParams(paired, { kind: 'lecun' }, createRng(3));
    expect(p.v!.shape).toEqual([400]);
    expectMoments(p.v!.data, 1 / 800);
  });
  it('lecun/he/glorot on an mlp: weights by fan, biases 0', () => {
    for (const [kind, varOf] of [
      ['lecun', (o: number, i: number) => 1 / i + 0 * o],
      ['he', (o: number, i: number) => 2 / i + 0 * o],
      ['glorot', (o: number, i: number) => 2 / (i + o)],
    ] as const) {
      const p = initParams(mlp, { kind }, createRng(4));
      expectMoments(p.W1!.data, varOf(300, 40));
      expectMoments(p.W2!.data, varOf(200, 300));
      expectMoments(p.W3!.data, varOf(3, 200));
      for (const b of ['b1', 'b2', 'b3']) expect(p[b]!.data.every((x) => x === 0)).toBe(true);
    }
  });
  it('is deterministic per seed and draws each parameter from its own stream', () => {
    const a = initParams(shallow, { kind: 'he', distribution: 'uniform' }, createRng(5));
    const b = initParams(shallow, { kind: 'he', distribution: 'uniform' }, createRng(5));
    expect(Array.from(a.W!.data)).toEqual(Array.from(b.W!.data));
    const wider = initParams(
      { ...shallow, width: 401 },
      { kind: 'he', distribution: 'uniform' },
      createRng(5),
    );
    expect(Array.from(wider.W!.data.subarray(0, 10))).toEqual(Array.from(a.W!.data.subarray(0, 10)));
  });
});

describe('mirroredLecun (Zhang et al. Alg. 1, App. G)', () => {
  const X = createRng(77).fillNormal(new Float64Array(20 * 6));
  it('paired net: W halves equal, output exactly 0', () => {
    const spec: ModelSpec = { kind: 'paired', inputDim: 6, width: 20, activation: 'tanh' };
    const p = initParams(spec, { kind: 'mirroredLecun' }, createRng(8));
    expect(Array.from(p.W!.data.subarray(60))).toEqual(Array.from(p.W!.data.subarray(0, 60)));
    const out = forward64(spec, { W: p.W!.data, v: p.v!.data }, X, 20);
    expect(out.every((y) => y === 0)).toBe(true);
    expect(p.v!.data.some((x) => x < 0)).toBe(true);
    const abs = initParams(spec, { kind: 'mirroredLecun', absOuter: true }, createRng(8));
    expect(Array.from(abs.v!.data)).toEqual(Array.from(p.v!.data, Math.abs));
  });
  /**
   * For the shallow net and the mlp, f = Σ_j v_j h_j over j < m with v_{j+m/2} h_{j+m/2} = −v_j h_j
   * BITWISE (identical rows give identical h; negation is exact), so f = 0 exactly in real
   * arithmetic and when summed pairwise. forward64 sums left to right (a_1 + … + a_h − a_1 − … − a_h),
   * which is exactly 0 only for m = 2: the float64 rounding of the running sum leaves at most
   * γ_m·Σ|a_j| with γ_m = mε/(1 − mε), ε = 2⁻⁵³ (Higham, Accuracy and Stability, eq. 4.4).
   */
  function checkMirroredSum(terms: number[], fwd: number): void {
    const h = terms.length / 2;
    let pairwise = 0;
    for (let j = 0; j < h; j++) {
      expect(terms[j + h]).toBe(-terms[j]!);
      pairwise += terms[j]! + terms[j + h]!;
    }
    expect(pairwise).toBe(0);
    const eps = 2 ** -53;
    const gamma = (terms.length * eps) / (1 - terms.length * eps);
    const bound = gamma * terms.reduce((acc, t) => acc + Math.abs(t), 0);
    expect(Math.abs(fwd)).toBeLessThanOrEqual(bound);
    if (terms.length === 2) expect(fwd).toBe(0);
  }
  it('shallow net: rows copied, v second half = −first half, output 0 (exact pairwise)', () => {
    for (const width of [2, 4, 8, 16]) {
      const spec: ModelSpec = { kind: 'shallow', inputDim: 6, width, activation: 'tanh' };
      const p = initParams(spec, { kind: 'mirroredLecun' }, createRng(width));
      const h = width / 2;
      expect(Array.from(p.W!.data.subarray(h * 6))).toEqual(Array.from(p.W!.data.subarray(0, h * 6)));
      expect(Array.from(p.v!.data.subarray(h))).toEqual(Array.from(p.v!.data.subarray(0, h), (x) => -x));
      const arrays = { W: p.W!.data, v: p.v!.data };
      const out = forward64(spec, arrays, X, 20);
      const [hid] = hiddenOutputs64(spec, arrays, X, 20);
      for (let i = 0; i < 20; i++) {
        checkMirroredSum(
          Array.from({ length: width }, (_, j) => p.v!.data[j]! * hid![i * width + j]!),
          out[i]!,
        );
      }
    }
  });
  it('mlp: LeCun below, last two layers mirrored, output 0 (exact pairwise; App. G)', () => {
    const spec: ModelSpec = { kind: 'mlp', layers: [6, 12, 8, 3], activation: 'tanh', bias: true };
    const p = initParams(spec, { kind: 'mirroredLecun' }, createRng(9));
    expect(Array.from(p.W2!.data.subarray(4 * 12))).toEqual(Array.from(p.W2!.data.subarray(0, 4 * 12)));
    expect(Array.from(p.b2!.data.subarray(4))).toEqual(Array.from(p.b2!.data.subarray(0, 4)));
    expect(p.b3!.data.every((x) => x === 0)).toBe(true);
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 4; j++) expect(p.W3!.data[k * 8 + j + 4]).toBe(-p.W3!.data[k * 8 + j]!);
    }
    expectMoments(p.W1!.data, 1 / 6);
    const arrays = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.data]));
    const out = forward64(spec, arrays, X, 20);
    const hid = hiddenOutputs64(spec, arrays, X, 20)[1]!;
    for (let i = 0; i < 20; i++) {
      for (let k = 0; k < 3; k++) {
        checkMirroredSum(
          Array.from({ length: 8 }, (_, j) => hid[i * 8 + j]! * p.W3!.data[k * 8 + j]!),
          out[i * 3 + k]!,
        );
      }
    }
  });
  it('pairedMlp (App. G): LeCun below, last hidden layer mirrored, V ~ N(0, 1/m_H), output exactly 0', () => {
    const X40 = createRng(1).fillNormal(new Float64Array(20 * 40));
    for (const hidden of [[64], [60, 64], [50, 60, 64]])
      for (const k of [1, 3, 10]) {
        const spec: ModelSpec = {
          kind: 'pairedMlp',
          layers: [40, ...hidden, k],
          activation: 'relu',
          bias: true,
        };
        const p = initParams(spec, { kind: 'mirroredLecun' }, createRng(11));
        const H = hidden.length;
        const cols = H === 1 ? 40 : hidden[H - 2]!;
        const WH = p[`W${H}`]!.data;
        expect(Array.from(WH.subarray(32 * cols))).toEqual(Array.from(WH.subarray(0, 32 * cols)));
        for (let l = 1; l <= H; l++) expect(p[`b${l}`]!.data.every((x) => x === 0)).toBe(true);
        expectMoments(WH.subarray(0, 32 * cols), 1 / cols);
        if (H > 1) expectMoments(p.W1!.data, 1 / 40);
        expect(p.V!.shape).toEqual([k, 32]);
        const arrays = Object.fromEntries(Object.entries(p).map(([n, t]) => [n, t.data]));
        expect(Array.from(forward64(spec, arrays, X40, 20))).toEqual(new Array(20 * k).fill(0));
      }
    const big: ModelSpec = { kind: 'pairedMlp', layers: [10, 1000, 20], activation: 'tanh' };
    const q = initParams(big, { kind: 'mirroredLecun' }, createRng(12));
    expectMoments(q.V!.data, 1 / 1000); // fan_in = m_H, as v of Alg. 1 (not m_H/2)
    const abs = initParams(big, { kind: 'mirroredLecun', absOuter: true }, createRng(12));
    expect(Array.from(abs.V!.data)).toEqual(Array.from(q.V!.data, Math.abs));
    expect(Array.from(abs.W1!.data)).toEqual(Array.from(q.W1!.data));
    // LeCun (regular) init of the same spec: no mirroring, the same V variance.
    const lecun = initParams(big, { kind: 'lecun' }, createRng(12));
    expect(lecun.W1!.data.subarray(500 * 10).some((x, i) => x !== lecun.W1!.data[i])).toBe(true);
    expectMoments(lecun.V!.data, 1 / 1000);
    expect(() => initParams(big, { kind: 'song', ratio: 1 }, createRng(0))).toThrow(
      /one hidden layer.*pairedMlp/,
    );
  });
  it('first-half statistics are LeCun: W ~ N(0, 1/d), v ~ N(0, 1/m)', () => {
    const spec: ModelSpec = { kind: 'paired', inputDim: 100, width: 1000, activation: 'tanh' };
    const p = initParams(spec, { kind: 'mirroredLecun' }, createRng(10));
    expectMoments(p.W!.data.subarray(0, 500 * 100), 1 / 100);
    expectMoments(p.v!.data, 1 / 1000);
  });
  it('odd widths are errors naming the width', () => {
    expect(() =>
      initParams(
        { kind: 'shallow', inputDim: 3, width: 5, activation: 'tanh' },
        { kind: 'mirroredLecun' },
        createRng(0),
      ),
    ).toThrow(/width 5/);
    expect(() =>
      initParams(
        { kind: 'mlp', layers: [3, 4, 7, 1], activation: 'tanh' },
        { kind: 'mirroredLecun' },
        createRng(0),
      ),
    ).toThrow(/layers\[2\] = 7/);
    expect(() =>
      initParams(
        { kind: 'mlp', layers: [3, 1], activation: 'tanh' },
        { kind: 'mirroredLecun' },
        createRng(0),
      ),
    ).toThrow(/hidden layer/);
  });
});

describe('song (Song et al. 2021 eq. 17, Sec. 6)', () => {
  it('ω1·ω2 = c/√(d0·d1) and ω2/ω1 = ratio, by sample statistics', () => {
    const spec: ModelSpec = { kind: 'shallow', inputDim: 64, width: 1024, activation: 'gelu' };
    for (const [ratio, c] of [
      [0.25, 1],
      [4, 2],
    ]) {
      const p = initParams(spec, { kind: 'song', ratio, c }, createRng(11));
      const w1 = Math.sqrt(c / (ratio * Math.sqrt(64 * 1024)));
      expectMoments(p.W!.data, w1 * w1);
      expectMoments(p.v!.data, (ratio * w1) ** 2);
    }
  });
  it('songRatioOf: LeCun and He are members of the family', () => {
    const d0 = 784;
    const d1 = 200;
    const l = songRatioOf('lecun', d0, d1);
    const w1 = Math.sqrt(l.c / (l.ratio * Math.sqrt(d0 * d1)));
    expect(w1).toBeCloseTo(1 / Math.sqrt(d0), 14);
    expect(l.ratio * w1).toBeCloseTo(1 / Math.sqrt(d1), 14);
    expect(l.c).toBeCloseTo(1, 14);
    const h = songRatioOf('he', d0, d1);
    expect(h.c).toBeCloseTo(2, 14);
    expect(h.omega1).toBeCloseTo(Math.sqrt(2 / d0), 14);
    expect(() => songRatioOf('he', 0, 3)).toThrow(/d0/);
  });
  it('mlp with one hidden layer: W1 ~ ω1, W2 ~ ω2, biases 0; deeper is an error', () => {
    const p = initParams(
      { kind: 'mlp', layers: [50, 400, 10], activation: 'gelu', bias: true },
      { kind: 'song', ratio: 2 },
      createRng(12),
    );
    const w1 = Math.sqrt(1 / (2 * Math.sqrt(50 * 400)));
    expectMoments(p.W1!.data, w1 * w1);
    expectMoments(p.W2!.data, 4 * w1 * w1);
    expect(p.b1!.data.every((x) => x === 0)).toBe(true);
    expect(() =>
      initParams(
        { kind: 'mlp', layers: [5, 4, 4, 1], activation: 'gelu' },
        { kind: 'song', ratio: 1 },
        createRng(0),
      ),
    ).toThrow(/one hidden layer/);
    expect(() =>
      initParams(
        { kind: 'shallow', inputDim: 2, width: 2, activation: 'gelu' },
        { kind: 'song', ratio: 0 },
        createRng(0),
      ),
    ).toThrow(/ratio/);
  });
});

describe('kawaguchiHuang (c_w, c_b are variances)', () => {
  it('W ~ N(0, c_w), b ~ N(0, c_b) on every layer', () => {
    const spec: ModelSpec = {
      kind: 'mlp',
      layers: [30, 400, 400, 2],
      activation: 'relu',
      bias: true,
      scaled: true,
    };
    const p = initParams(spec, { kind: 'kawaguchiHuang', cw: 2, cb: 0.5 }, createRng(13));
    expectMoments(p.W1!.data, 2);
    expectMoments(p.W2!.data, 2);
    expectMoments(Float32Array.from([...p.b1!.data, ...p.b2!.data]), 0.5);
    const z = initParams(spec, { kind: 'kawaguchiHuang', cw: 1, cb: 0 }, createRng(13));
    expect(z.b1!.data.every((x) => x === 0)).toBe(true);
    expect(() => initParams(spec, { kind: 'kawaguchiHuang', cw: -1, cb: 0 }, createRng(0))).toThrow(/cw/);
  });
});

describe('initParams errors', () => {
  const spec: ModelSpec = { kind: 'shallow', inputDim: 2, width: 2, activation: 'tanh' };
  it('names the field', () => {
    expect(() => initParams(spec, { kind: 'xavier' } as never, createRng(0))).toThrow(
      /unknown init kind "xavier"/,
    );
    expect(() =>
      initParams(
        spec,
        { kind: 'varianceScaling', scale: -1, mode: 'fanIn', distribution: 'normal' },
        createRng(0),
      ),
    ).toThrow(/scale/);
    expect(() =>
      initParams(spec, { kind: 'lecun', distribution: 'laplace' as 'normal' }, createRng(0)),
    ).toThrow(/distribution/);
  });
});

describe('validateInit', () => {
  it('checks every field against its range and names it by its path', () => {
    const cases: [unknown, string][] = [
      [{ kind: 'xavier' }, 'init.kind: unknown init kind "xavier"'],
      [
        { kind: 'lecun', distribution: 'laplace' },
        'init.distribution: must be one of normal, truncatedNormal, uniform',
      ],
      [
        { kind: 'varianceScaling', scale: 1, mode: 'fanMid', distribution: 'normal' },
        'init.mode: must be one of',
      ],
      [
        { kind: 'varianceScaling', scale: 0, mode: 'fanIn', distribution: 'normal' },
        'init.scale: must be a finite number > 0, got 0',
      ],
      [{ kind: 'song', ratio: 2, c: -1 }, 'init.c: must be a finite number > 0, got -1'],
      [{ kind: 'kawaguchiHuang', cw: 1, cb: '0' }, 'init.cb: must be a finite number ≥ 0, got "0"'],
      [{ kind: 'mirroredLecun', absOuter: 1 }, 'init.absOuter: must be a boolean, got 1'],
      [null, 'init: must be an init spec object'],
    ];
    for (const [spec, msg] of cases) expect(() => validateInit(spec as InitSpec), msg).toThrow(msg);
    const ok: InitSpec = { kind: 'song', ratio: 2 };
    expect(validateInit(ok)).toBe(ok);
  });
});
