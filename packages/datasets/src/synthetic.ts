import {
  type MlpSpec,
  type ModelSpec,
  type ParamArrays,
  type ParamTree,
  type Rng,
  createRng,
  forward64,
  inputDim,
  outputDim,
} from '@narrownet/models';
import { type Dataset, checkDataset, intParam, oneHot } from './types.js';

/** Options of {@link zhangSynthetic}. */
export interface ZhangSyntheticOptions {
  /** Sample size n. Default 1000. */
  n?: number;
  /** Input dimension d. Default 200. */
  d?: number;
  /** Seed of the generator. Default 0. */
  seed?: number;
}

/**
 * The synthetic regression set of Zhang et al. (2021), App. H.2: x_i ~ N(0, I_d) normalised to
 * ‖x_i‖₂ = 1, and y_i = (1ᵀx_i)². Defaults n = 1000, d = 200 as in the paper. Normalisation is done
 * in float64; the target is then computed in float64 from the stored (float32-rounded) x_i, so
 * `Y` is exactly (1ᵀX_i)² up to one final float32 rounding.
 */
export function zhangSynthetic(options: ZhangSyntheticOptions = {}): Dataset {
  const n = intParam(options.n ?? 1000, 'zhangSynthetic: n', 1);
  const d = intParam(options.d ?? 200, 'zhangSynthetic: d', 1);
  const rng = createRng(intParam(options.seed ?? 0, 'zhangSynthetic: seed', -(2 ** 31)));
  const X = new Float32Array(n * d);
  const Y = new Float32Array(n);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let norm2 = 0;
    do {
      rng.fillNormal(row);
      norm2 = 0;
      for (let j = 0; j < d; j++) norm2 += row[j]! * row[j]!;
    } while (norm2 === 0);
    const inv = 1 / Math.sqrt(norm2);
    let s = 0;
    for (let j = 0; j < d; j++) {
      X[i * d + j] = row[j]! * inv;
      s += X[i * d + j]!;
    }
    Y[i] = s * s;
  }
  return { name: 'zhang-synthetic', X, Y, n, d, k: 1 };
}

/** Options of {@link kawaguchiTeacher}. */
export interface KawaguchiTeacherOptions {
  /** Sample size m (the paper's m = 5000). Default 5000. */
  n?: number;
  /** Seed: weights use `createRng(seed).fork('weights')`, inputs `fork('inputs')`. Default 0. */
  seed?: number;
  /** Number of hidden layers H. Default 7. */
  depth?: number;
  /** Width d_l of every hidden layer. Default 50. */
  width?: number;
  /** Input dimension d_x. Default 10. */
  inputDim?: number;
  /** Output dimension d_y. Default 1 (the paper's y ∈ R). */
  outputDim?: number;
  /**
   * Which width normalises the weight standard deviation 2/√d. `'paper'` (default): d = d_l, the
   * width of layer l, i.e. the output side of W⁽ˡ⁾ ∈ R^{d_{l−1}×d_l} in the paper's notation (so the
   * output layer, d_{H+1} = d_y = 1, gets std 2). `'fan-in'`: d = d_{l−1}.
   */
  stdRule?: 'paper' | 'fan-in';
}

/** A teacher-generated dataset together with the teacher that produced it. */
export interface TeacherDataset extends Dataset {
  /** The ground-truth network: an unbiased, unscaled tanh MLP and its float32 weights. */
  teacher: { spec: MlpSpec; params: ParamTree };
}

/**
 * The synthetic set of Kawaguchi, Huang & Kaelbling (2019), Sec. 4.3 and App. C: a ground-truth
 * fully connected tanh network without biases, H = 7 hidden layers of width 50, x ∈ R^10, y ∈ R,
 * m = 5000 samples. Inputs x ~ N(0, I); each entry of W⁽ˡ⁾ ~ N(0, (2/√d_l)²), i.e. standard
 * deviation 2/√d_l with d_l the width of layer l (see {@link KawaguchiTeacherOptions.stdRule}).
 * The targets are the teacher's float64 forward pass on the stored float32 inputs and weights.
 */
export function kawaguchiTeacher(options: KawaguchiTeacherOptions = {}): TeacherDataset {
  const n = intParam(options.n ?? 5000, 'kawaguchiTeacher: n', 1);
  const seed = intParam(options.seed ?? 0, 'kawaguchiTeacher: seed', -(2 ** 31));
  const depth = intParam(options.depth ?? 7, 'kawaguchiTeacher: depth', 1);
  const width = intParam(options.width ?? 50, 'kawaguchiTeacher: width', 1);
  const dx = intParam(options.inputDim ?? 10, 'kawaguchiTeacher: inputDim', 1);
  const dy = intParam(options.outputDim ?? 1, 'kawaguchiTeacher: outputDim', 1);
  const rule = options.stdRule ?? 'paper';
  if (rule !== 'paper' && rule !== 'fan-in') {
    throw new RangeError(
      `kawaguchiTeacher: stdRule must be 'paper' or 'fan-in', got ${JSON.stringify(rule)}`,
    );
  }
  const layers = [dx, ...Array.from({ length: depth }, () => width), dy];
  const spec: MlpSpec = { kind: 'mlp', layers, activation: 'tanh', bias: false, scaled: false };
  const root = createRng(seed);
  const wRng = root.fork('weights');
  const params: ParamTree = {};
  for (let l = 1; l < layers.length; l++) {
    const dIn = layers[l - 1]!;
    const dOut = layers[l]!;
    const std = 2 / Math.sqrt(rule === 'paper' ? dOut : dIn);
    params[`W${l}`] = { shape: [dOut, dIn], data: wRng.fillNormal(new Float32Array(dOut * dIn), 0, std) };
  }
  const X = root.fork('inputs').fillNormal(new Float32Array(n * dx));
  const Y = Float32Array.from(forward64(spec, toArrays(params), X, n));
  return { name: 'kawaguchi-teacher', X, Y, n, d: dx, k: dy, teacher: { spec, params } };
}

/** Options of {@link whiteNoise}. */
export interface WhiteNoiseOptions {
  /** Sample size. */
  n: number;
  /** Input dimension d_x. */
  dx: number;
  /** Target dimension d_y. Default 1. */
  dy?: number;
  /** Seed. Default 0. */
  seed?: number;
}

/**
 * Gaussian white noise data of Kawaguchi, Huang & Kaelbling (2019), Prop. 2: every entry of the
 * data matrix [X Y] is i.i.d. N(0, 1). X is drawn first (row-major), then Y, from one stream.
 */
export function whiteNoise(options: WhiteNoiseOptions): Dataset {
  const n = intParam(options?.n, 'whiteNoise: n', 1);
  const dx = intParam(options.dx, 'whiteNoise: dx', 1);
  const dy = intParam(options.dy ?? 1, 'whiteNoise: dy', 1);
  const rng = createRng(intParam(options.seed ?? 0, 'whiteNoise: seed', -(2 ** 31)));
  const X = rng.fillNormal(new Float32Array(n * dx));
  const Y = rng.fillNormal(new Float32Array(n * dy));
  return { name: 'white-noise', X, Y, n, d: dx, k: dy };
}

/**
 * How {@link randomLabels} randomises. `'uniform'`: every label redrawn uniformly from the k
 * classes (Kawaguchi–Huang Sec. V); `'shuffle'`: a random permutation of the existing labels
 * (classification) or of the rows of Y (regression); `'gaussian'`: regression targets redrawn
 * i.i.d. N(μ_j, σ_j²) with the column mean and standard deviation of the original Y.
 */
export type RandomLabelMode = 'uniform' | 'shuffle' | 'gaussian';

/**
 * Replaces the targets by random ones, keeping X. Classification sets (with `labels`) default to
 * `'uniform'` (labels redrawn uniformly at random, Y rebuilt one-hot); regression sets default to
 * `'shuffle'` (rows of Y permuted, so the target distribution is kept). Name gets '+random-labels'.
 */
export function randomLabels(ds: Dataset, seed: number, mode?: RandomLabelMode): Dataset {
  checkDataset(ds, 'randomLabels');
  const rng = createRng(intParam(seed, 'randomLabels: seed', -(2 ** 31)));
  const classification = ds.labels !== undefined;
  const m = mode ?? (classification ? 'uniform' : 'shuffle');
  const name = `${ds.name}+random-labels`;
  if (classification) {
    const labels = new Int32Array(ds.n);
    if (m === 'uniform') for (let i = 0; i < ds.n; i++) labels[i] = rng.int(ds.k);
    else if (m === 'shuffle') {
      const perm = permutation(ds.n, rng);
      for (let i = 0; i < ds.n; i++) labels[i] = ds.labels![perm[i]!]!;
    } else {
      throw new RangeError(`randomLabels: mode '${m}' applies to regression sets; ${ds.name} has labels`);
    }
    return { ...ds, name, labels, Y: oneHot(labels, ds.k, 'randomLabels') };
  }
  const { n, k } = ds;
  const Y = new Float32Array(n * k);
  if (m === 'shuffle') {
    const perm = permutation(n, rng);
    for (let i = 0; i < n; i++) Y.set(ds.Y.subarray(perm[i]! * k, perm[i]! * k + k), i * k);
  } else if (m === 'gaussian') {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += ds.Y[i * k + j]!;
      const mu = s / n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (ds.Y[i * k + j]! - mu) ** 2;
      const sd = Math.sqrt(v / n);
      for (let i = 0; i < n; i++) Y[i * k + j] = mu + sd * rng.normal();
    }
  } else {
    throw new RangeError(
      `randomLabels: mode '${m}' applies to classification sets; ${ds.name} has no labels`,
    );
  }
  return { ...ds, name, Y };
}

/** Options of {@link relabelByTeacher}. */
export interface RelabelOptions {
  /**
   * `'argmax'`: labels ← argmax of the teacher's outputs, Y ← one-hot (Song et al. App. G);
   * `'values'`: Y ← the teacher's outputs (regression); `'auto'` (default): 'argmax' when the set
   * has labels, 'values' otherwise.
   */
  mode?: 'auto' | 'argmax' | 'values';
}

/**
 * Teacher–student relabelling (Song et al. 2021, App. G): replaces the targets by those of a
 * teacher network, computed with the float64 reference forward pass `forward64` on X. The
 * teacher's input dimension must equal d; its output dimension becomes k.
 */
export function relabelByTeacher(
  ds: Dataset,
  spec: ModelSpec,
  params: ParamTree | ParamArrays,
  options: RelabelOptions = {},
): Dataset {
  checkDataset(ds, 'relabelByTeacher');
  if (inputDim(spec) !== ds.d) {
    throw new RangeError(`relabelByTeacher: teacher input dimension ${inputDim(spec)} ≠ dataset d = ${ds.d}`);
  }
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'argmax' && mode !== 'values') {
    throw new RangeError(
      `relabelByTeacher: mode must be 'auto', 'argmax' or 'values', got ${JSON.stringify(mode)}`,
    );
  }
  const k = outputDim(spec);
  const out = forward64(spec, toArrays(params), ds.X, ds.n);
  const name = `${ds.name}+teacher`;
  const argmax = mode === 'argmax' || (mode === 'auto' && ds.labels !== undefined);
  if (!argmax) {
    const { labels: _l, classes: _c, ...rest } = ds;
    return { ...rest, name, Y: Float32Array.from(out), k };
  }
  const labels = new Int32Array(ds.n);
  for (let i = 0; i < ds.n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (out[i * k + j]! > out[i * k + best]!) best = j;
    labels[i] = best;
  }
  const result: Dataset = { ...ds, name, k, labels, Y: oneHot(labels, k, 'relabelByTeacher') };
  if (ds.classes !== undefined && ds.classes.length !== k) delete result.classes;
  return result;
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates with `rng`). */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

function toArrays(params: ParamTree | ParamArrays): ParamArrays {
  const out: ParamArrays = {};
  for (const [key, v] of Object.entries(params)) {
    out[key] = v !== null && typeof v === 'object' && 'data' in v ? (v as { data: Float32Array }).data : v;
  }
  return out;
}
