import { activation } from './activations.js';
import { type LossName, loss64 } from './losses.js';
import {
  type MlpLikeSpec,
  type MlpSpec,
  type ModelSpec,
  type PairedMlpSpec,
  inputDim,
  outputDim,
  paramShapes,
  requireMlpLike,
  validateSpec,
} from './spec.js';

/** Parameters as float64 or float32 arrays keyed by name (shapes from {@link paramShapes}). */
export type ParamArrays = Record<string, ArrayLike<number>>;

function need(params: ParamArrays, name: string, size: number): ArrayLike<number> {
  const p = params[name];
  if (!p) throw new RangeError(`model parameters: missing tensor "${name}"`);
  if (p.length !== size)
    throw new RangeError(`model parameters: "${name}" has ${p.length} entries, expected ${size}`);
  return p;
}

/** Row-major C[n, r] = A[n, k] · B[r, k]ᵀ in float64. */
function matmulNT(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, r: number): Float64Array {
  const c = new Float64Array(n * r);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t]! * b[j * k + t]!;
      c[i * r + j] = s;
    }
  }
  return c;
}

/**
 * The weight matrix of every layer l = 1…L of an mlp or pairedMlp, [m_l, m_{l−1}] row-major; for
 * a pairedMlp the output layer is the full [V, −V] of shape [k, m_H] (what backpropagation reads).
 */
function denseWeights(spec: MlpSpec | PairedMlpSpec, params: ParamArrays): ArrayLike<number>[] {
  const L = spec.layers.length - 1;
  const out: ArrayLike<number>[] = [];
  for (let l = 1; l <= L; l++) {
    const mi = spec.layers[l - 1]!;
    const mo = spec.layers[l]!;
    if (spec.kind === 'mlp' || l < L) {
      out.push(need(params, `W${l}`, mo * mi));
      continue;
    }
    const h = mi / 2;
    const V = need(params, 'V', mo * h);
    const U = new Float64Array(mo * mi);
    for (let c = 0; c < mo; c++)
      for (let j = 0; j < h; j++) {
        U[c * mi + j] = V[c * h + j]!;
        U[c * mi + h + j] = -V[c * h + j]!;
      }
    out.push(U);
  }
  return out;
}

/** D [n, m/2] = H[:, :m/2] − H[:, m/2:] of a row-major H [n, m]. */
function halfDifference(H: Float64Array, n: number, m: number): Float64Array {
  const h = m / 2;
  const D = new Float64Array(n * h);
  for (let i = 0; i < n; i++) for (let j = 0; j < h; j++) D[i * h + j] = H[i * m + j]! - H[i * m + h + j]!;
  return D;
}

interface Layers {
  /** Pre-activations per hidden layer (n × m_l), and for shallow/paired the single hidden layer. */
  pre: Float64Array[];
  /** Inputs of every linear layer: X, then the (scaled) hidden outputs. */
  acts: Float64Array[];
  out: Float64Array;
}

function run(spec: MlpLikeSpec, params: ParamArrays, X: ArrayLike<number>, n: number): Layers {
  validateSpec(spec);
  const d = inputDim(spec);
  if (X.length !== n * d)
    throw new RangeError(`forward64: X has ${X.length} entries, expected n·d = ${n}·${d}`);
  const act = activation(spec.activation);
  const shapes = paramShapes(spec);
  const xs = Float64Array.from(X);
  if (spec.kind === 'shallow' || spec.kind === 'paired') {
    const m = spec.width;
    const W = need(params, 'W', m * d);
    const v = need(params, 'v', shapes.v![0]!);
    const z = matmulNT(xs, W, n, d, m);
    const h = z.map(act.f);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      if (spec.kind === 'shallow') for (let j = 0; j < m; j++) s += v[j]! * h[i * m + j]!;
      else for (let j = 0; j < m / 2; j++) s += v[j]! * (h[i * m + j]! - h[i * m + j + m / 2]!);
      out[i] = s;
    }
    return { pre: [z], acts: [xs, h], out };
  }
  const L = spec.layers.length - 1;
  const w = denseWeights(spec, params);
  const pre: Float64Array[] = [];
  const acts: Float64Array[] = [xs];
  let cur = xs;
  for (let l = 1; l <= L; l++) {
    const mi = spec.layers[l - 1]!;
    const mo = spec.layers[l]!;
    // A pairedMlp's head takes the difference of the halves first, f = V (σ(z_top) − σ(z_bot)),
    // so that equal halves give exactly 0 (summing V σ(z_top) and −V σ(z_bot) need not).
    const z =
      spec.kind === 'pairedMlp' && l === L
        ? matmulNT(halfDifference(cur, n, mi), need(params, 'V', (mo * mi) / 2), n, mi / 2, mo)
        : matmulNT(cur, w[l - 1]!, n, mi, mo);
    if (spec.bias && !(spec.kind === 'pairedMlp' && l === L)) {
      const b = need(params, `b${l}`, mo);
      for (let i = 0; i < n; i++) for (let j = 0; j < mo; j++) z[i * mo + j]! += b[j]!;
    }
    if (l === L) return { pre, acts, out: z };
    pre.push(z);
    const s = spec.kind === 'mlp' && spec.scaled ? 1 / Math.sqrt(mo) : 1;
    cur = z.map((x) => s * act.f(x));
    acts.push(cur);
  }
  throw new Error('unreachable');
}

/**
 * Float64 reference forward pass: returns the outputs as a row-major [n, outputDim] array.
 * Slow (plain loops) and exact; the engines are tested against it.
 */
export function forward64(
  spec: ModelSpec,
  params: ParamArrays,
  X: ArrayLike<number>,
  n: number,
): Float64Array {
  return run(requireMlpLike(spec, 'forward64: spec'), params, X, n).out;
}

/** Hidden-layer outputs x⁽ˡ⁾ (l = 1..H) of the float64 reference pass, each row-major [n, m_l]. */
export function hiddenOutputs64(
  spec: ModelSpec,
  params: ParamArrays,
  X: ArrayLike<number>,
  n: number,
): Float64Array[] {
  return run(requireMlpLike(spec, 'hiddenOutputs64: spec'), params, X, n).acts.slice(1);
}

/**
 * Float64 reference loss and gradient with respect to every parameter, by hand-written
 * backpropagation. Y is row-major [n, outputDim].
 */
export function lossAndGrad64(
  specIn: ModelSpec,
  params: ParamArrays,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  n: number,
  loss: LossName = 'halfSse',
): { loss: number; pred: Float64Array; grads: Record<string, Float64Array> } {
  const spec = requireMlpLike(specIn, 'lossAndGrad64: spec');
  const k = outputDim(spec);
  const { pre, acts, out } = run(spec, params, X, n);
  if (Y.length !== n * k)
    throw new RangeError(`lossAndGrad64: Y has ${Y.length} entries, expected n·k = ${n}·${k}`);
  const { value, grad: g } = loss64(loss, out, Y, k);
  const act = activation(spec.activation);
  const grads: Record<string, Float64Array> = {};
  if (spec.kind === 'shallow' || spec.kind === 'paired') {
    const m = spec.width;
    const d = spec.inputDim;
    const v = params.v!;
    const h = acts[1]!;
    const z = pre[0]!;
    const gv = new Float64Array(v.length);
    const gz = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const paired = spec.kind === 'paired';
        const jj = paired ? j % (m / 2) : j;
        const sign = paired && j >= m / 2 ? -1 : 1;
        gv[jj]! += g[i]! * sign * h[i * m + j]!;
        gz[i * m + j] = g[i]! * sign * v[jj]! * act.df(z[i * m + j]!);
      }
    }
    const gW = new Float64Array(m * d);
    for (let j = 0; j < m; j++)
      for (let i = 0; i < n; i++) {
        const s = gz[i * m + j]!;
        if (s !== 0) for (let t = 0; t < d; t++) gW[j * d + t]! += s * acts[0]![i * d + t]!;
      }
    grads.W = gW;
    grads.v = gv;
    return { loss: value, pred: out, grads };
  }
  const L = spec.layers.length - 1;
  const w = denseWeights(spec, params);
  const paired = spec.kind === 'pairedMlp';
  let delta = g; // ∂loss/∂(pre-activation of layer l), n × m_l
  for (let l = L; l >= 1; l--) {
    const mi = spec.layers[l - 1]!;
    const mo = spec.layers[l]!;
    const a = acts[l - 1]!;
    const gW = new Float64Array(mo * mi);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < mo; j++) {
        const s = delta[i * mo + j]!;
        if (s !== 0) for (let t = 0; t < mi; t++) gW[j * mi + t]! += s * a[i * mi + t]!;
      }
    if (paired && l === L) {
      // ∂/∂V = ∂/∂U[:, :h] − ∂/∂U[:, h:] for the full output weight U = [V, −V].
      const h = mi / 2;
      const gV = new Float64Array(mo * h);
      for (let c = 0; c < mo; c++)
        for (let j = 0; j < h; j++) gV[c * h + j] = gW[c * mi + j]! - gW[c * mi + h + j]!;
      grads.V = gV;
    } else grads[`W${l}`] = gW;
    if (spec.bias && !(paired && l === L)) {
      const gb = new Float64Array(mo);
      for (let i = 0; i < n; i++) for (let j = 0; j < mo; j++) gb[j]! += delta[i * mo + j]!;
      grads[`b${l}`] = gb;
    }
    if (l === 1) break;
    const W = w[l - 1]!;
    const z = pre[l - 2]!;
    const s = spec.kind === 'mlp' && spec.scaled ? 1 / Math.sqrt(mi) : 1;
    const next = new Float64Array(n * mi);
    for (let i = 0; i < n; i++)
      for (let t = 0; t < mi; t++) {
        let acc = 0;
        for (let j = 0; j < mo; j++) acc += delta[i * mo + j]! * W[j * mi + t]!;
        next[i * mi + t] = acc * s * act.df(z[i * mi + t]!);
      }
    delta = next;
  }
  return { loss: value, pred: out, grads };
}
