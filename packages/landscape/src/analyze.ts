import {
  type ModelSpec,
  activation,
  inputDim,
  outputDim,
  paramCount,
  requireMlpLike,
  validateSpec,
} from '@narrownet/models';
import { hermiteCoefficients } from './hermite.js';
import { kawaguchiLossDense, kawaguchiLossMatrixFree, whiteNoisePrediction } from './kawaguchi.js';
import { kawaguchiLoss } from './kawaguchiScaled.js';
import { featureRankM, kawaguchiHuangSizeBounds, lastLayerLipschitz, weightNorm } from './kawaguchiHuang.js';
import { songQuantities, songWidthCondition } from './song.js';
import { type ParamsLike, checkN } from './util.js';
import { featureMatrixSpectrum, jacobianLambdaMin, zhangWidthCondition } from './zhang.js';

/** Size limits of {@link analyzeModel}; above them a quantity is skipped (null with a reason). */
export interface AnalyzeLimits {
  /** Largest n for the O(n³) eigen step of λ_min(J) (default 2000). */
  maxGramN?: number;
  /** Largest min(rows, cols)·rows·cols for a dense SVD (default 3e8). */
  maxSvdWork?: number;
  /** Largest rows·params for dense Kawaguchi J(θ) (default 4e6) and QR work 2·rows·params² (default 4e9). */
  maxDenseEntries?: number;
  maxDenseWork?: number;
  /**
   * Largest Gram matrix (entries, min(rows, params)², default 1e8) for the scaled route
   * ({@link kawaguchiLoss}: exact, converged or saying it is not) beyond the dense limits.
   */
  maxGramEntries?: number;
  /** Largest rows·params for matrix-free J(θ) (default 2e8) and its iteration cap (default 300). */
  maxMatrixFreeEntries?: number;
  matrixFreeIterations?: number;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function clean(value: unknown): Json {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (x) => clean(x));
  if (Array.isArray(value)) return value.map(clean);
  if (typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = clean(v);
    return out;
  }
  return String(value);
}

function na(reason: string): { value: null; reason: string } {
  return { value: null, reason };
}

function attempt(f: () => unknown): Json {
  try {
    return clean(f());
  } catch (e) {
    return { value: null, reason: `error: ${(e as Error).message}` };
  }
}

/**
 * Every applicable landscape quantity of a model on a data set, as plain JSON (finite numbers,
 * strings, booleans, arrays, objects; never NaN or Infinity). A quantity that does not apply, or
 * whose size exceeds `limits`, is `{ value: null, reason }`. Sections: `model`, `zhang` (shallow
 * and paired nets: λ_min(J) by the Gram route, Φ(w)'s rank, width condition), `kawaguchi`
 * (piecewise-linear MLP/shallow nets and labels Y: J(θ) dense when it fits, else the scaled
 * route `kawaguchiLoss` while its Gram matrix fits, else matrix-free LSQR (an upper bound when its
 * cap stops it); Prop. 2's white-noise prediction), `kawaguchiHuang` (rank of M, Lemma 3's Lipschitz
 * bound and step, weight norm, size bounds), `song` (Lemma 3's μ_Φ, ν_Φ, β_Φ for one-hidden-layer
 * nets, width condition, Hermite coefficients of the activation). Used by `narrownet analyze`.
 */
export function analyzeModel(args: {
  spec: ModelSpec;
  params: ParamsLike;
  X: ArrayLike<number>;
  Y?: ArrayLike<number>;
  n: number;
  limits?: AnalyzeLimits;
}): Record<string, unknown> {
  if (args === null || typeof args !== 'object')
    throw new TypeError('analyzeModel: expected { spec, params, X, n }');
  const { params, X, Y } = args;
  const spec = validateSpec(requireMlpLike(args.spec, 'analyzeModel: args.spec'));
  const n = checkN(args.n, 'analyzeModel');
  const lim = args.limits ?? {};
  const maxGramN = lim.maxGramN ?? 2000;
  const maxSvdWork = lim.maxSvdWork ?? 3e8;
  const maxDenseEntries = lim.maxDenseEntries ?? 4e6;
  const maxDenseWork = lim.maxDenseWork ?? 4e9;
  const maxGram = lim.maxGramEntries ?? 1e8;
  const maxMfEntries = lim.maxMatrixFreeEntries ?? 2e8;
  const mfIterations = lim.matrixFreeIterations ?? 300;
  const d = inputDim(spec);
  const k = outputDim(spec);
  const act = activation(spec.activation);
  const P = paramCount(spec);
  const out: Record<string, unknown> = {
    model: { kind: spec.kind, activation: act.name, inputDim: d, outputDim: k, params: P, n },
  };
  const svdOk = (r: number, c: number) => Math.min(r, c) * r * c <= maxSvdWork;

  // Zhang et al. 2021 (one hidden layer).
  if (spec.kind === 'shallow' || spec.kind === 'paired') {
    const m = spec.width;
    out.zhang = {
      widthCondition: attempt(() => zhangWidthCondition({ n, d, m })),
      jacobianLambdaMin:
        n <= maxGramN
          ? attempt(() => ({
              value: jacobianLambdaMin(spec, params, X, n),
              route: 'gram',
              nLeMd: n <= m * d,
            }))
          : na(`n = ${n} > limits.maxGramN = ${maxGramN}`),
      featureMatrix: svdOk(n, m)
        ? attempt(() => {
            const s = featureMatrixSpectrum(spec, params, X, n);
            return {
              rank: s.rank,
              sigmaMax: s.singularValues[0],
              sigmaMin: s.singularValues[s.singularValues.length - 1],
              tolerance: s.tolerance,
            };
          })
        : na(`SVD of a ${n}×${m} matrix exceeds limits.maxSvdWork`),
    };
  } else out.zhang = na("Zhang et al.'s quantities are defined for 'shallow' and 'paired' nets");

  // Kawaguchi, Huang & Kaelbling 2019.
  if (spec.kind === 'paired' || spec.kind === 'pairedMlp')
    out.kawaguchi = na('paired nets tie their outer weights; the theorem is for free MLPs');
  else if (!act.piecewiseLinear)
    out.kawaguchi = na(
      `J(θ) needs a piecewise-linear activation (relu, leakyRelu, abs, identity), got ${act.name}`,
    );
  else if (Y === undefined) out.kawaguchi = na('J(θ) needs labels Y');
  else {
    const N = n * k;
    let J: Json;
    if (N * P <= maxDenseEntries && 2 * Math.max(N, P) * Math.min(N, P) ** 2 <= maxDenseWork) {
      J = attempt(() => ({ route: 'dense', ...kawaguchiLossDense(spec, params, X, Y, n) }));
    } else if (P * P <= maxGram) {
      J = attempt(() => ({
        route: 'scaled',
        ...kawaguchiLoss(spec, params, X, Y, n, { maxGramEntries: maxGram }),
      }));
    } else if (N * P <= maxMfEntries) {
      J = attempt(() => ({
        route: 'matrixFree',
        ...kawaguchiLossMatrixFree(spec, params, X, Y, n, { maxIterations: mfIterations, tolerance: 1e-10 }),
      }));
    } else J = na(`${N}·${P} Jacobian entries exceed limits.maxMatrixFreeEntries`);
    let yNorm2 = 0;
    for (let i = 0; i < Y.length; i++) yNorm2 += Y[i]! ** 2;
    const shallowScalar =
      (spec.kind === 'shallow' || (spec.kind === 'mlp' && spec.layers.length === 3 && !spec.bias)) && k === 1;
    out.kawaguchi = {
      J,
      whiteNoisePrediction: shallowScalar
        ? attempt(() =>
            whiteNoisePrediction({
              m: n,
              dx: d,
              d: spec.kind === 'shallow' ? spec.width : (spec as { layers: readonly number[] }).layers[1]!,
              yNorm2,
            }),
          )
        : na('Proposition 2 is for one hidden layer, no bias, scalar output'),
    };
  }

  // Kawaguchi & Huang 2019.
  if (spec.kind === 'paired' || spec.kind === 'pairedMlp')
    out.kawaguchiHuang = na('paired nets are not in the Kawaguchi–Huang model family');
  else if (spec.kind === 'mlp' && spec.layers.length < 3)
    out.kawaguchiHuang = na('needs at least one hidden layer');
  else {
    const mH = spec.kind === 'shallow' ? spec.width : spec.layers[spec.layers.length - 2]!;
    const H = spec.kind === 'shallow' ? 1 : spec.layers.length - 2;
    out.kawaguchiHuang = {
      rankM: svdOk(n, mH + 1)
        ? attempt(() => {
            const r = featureRankM(spec, params, X, n);
            return { rank: r.rank, fullRowRank: r.fullRowRank, tolerance: r.tolerance };
          })
        : na(`SVD of a ${n}×${mH + 1} matrix exceeds limits.maxSvdWork`),
      lipschitz: attempt(() => lastLayerLipschitz(spec, params, X, n)),
      weightNorm: attempt(() => weightNorm(spec, params)),
      sizeBounds: attempt(() =>
        kawaguchiHuangSizeBounds({
          n,
          mx: d,
          my: k,
          H,
          delta: 0.01,
          ...(spec.kind === 'mlp' && spec.bias ? { layers: spec.layers } : {}),
        }),
      ),
    };
  }

  // Song et al. 2021.
  const oneHidden =
    spec.kind === 'shallow' ||
    (spec.kind === 'mlp' && spec.layers.length === 3 && !spec.bias && !spec.scaled);
  const d1 = 'layers' in spec ? spec.layers[1] : spec.width;
  out.song = {
    widthCondition: d1 === undefined ? null : attempt(() => songWidthCondition({ n, d0: d, d1 })),
    hermite: attempt(() => {
      const h = hermiteCoefficients(spec.activation, { count: 6, order: 120 });
      return { coefficients: h.coefficients, norm: h.norm };
    }),
    lemma3:
      oneHidden && d1 !== undefined && svdOk(n, d1) && svdOk(n, d)
        ? attempt(() => songQuantities(spec, params, X, n))
        : na(
            oneHidden
              ? 'SVD too large for limits.maxSvdWork'
              : 'Lemma 3 is for free one-hidden-layer nets Vφ(WX) (shallow, or mlp without bias and scaling)',
          ),
  };
  return clean(out) as Record<string, unknown>;
}
