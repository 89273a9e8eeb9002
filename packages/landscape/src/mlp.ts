import {
  type MlpLikeSpec,
  type MlpSpec,
  type ModelSpec,
  activation,
  requireMlpLike,
  validateSpec,
} from '@narrownet/models';
import { gemmNT } from './gemm.js';
import { type ParamsLike, checkMatrix, checkN, toParams64 } from './util.js';

/** An MLP in a normal form with float64 parameters (internal). */
export interface Net {
  spec: MlpSpec;
  /** Layer sizes [d0, m1, …, mH, dy]. */
  sizes: number[];
  /** Number of linear layers L = H + 1. */
  L: number;
  bias: boolean;
  /** W[l-1] is W_l, [m_l, m_{l−1}] row-major. */
  W: Float64Array[];
  /** b[l-1] is b_l (empty arrays without bias). */
  b: Float64Array[];
  /** Scale s_l of hidden layer l (index l−1), 1 unless `scaled`. */
  scale: number[];
  /** Parameter names in flattening order and sizes. */
  names: string[];
  sizesOf: number[];
  /** Total parameter count. */
  P: number;
}

/**
 * Normalises a model to an MLP: `mlp` as is, `shallow` as [d, m, 1] without bias (W1 = W, W2 = v).
 * Paired nets are rejected (their outer weights are tied, so the free-parameter Jacobian differs).
 */
export function toNet(spec: ModelSpec, params: ParamsLike, where: string): Net {
  validateSpec(requireMlpLike(spec, `${where}: spec`));
  let mlp: MlpSpec;
  let p: Record<string, Float64Array>;
  if (spec.kind === 'shallow') {
    const q = toParams64(spec, params, where);
    mlp = { kind: 'mlp', layers: [spec.inputDim, spec.width, 1], activation: spec.activation };
    p = { W1: q.W!, W2: q.v! };
  } else if (spec.kind === 'mlp') {
    mlp = spec;
    p = toParams64(spec, params, where);
  } else {
    throw new RangeError(`${where}: spec.kind must be 'mlp' or 'shallow', got '${spec.kind}'`);
  }
  const sizes = [...mlp.layers];
  const L = sizes.length - 1;
  const bias = mlp.bias === true;
  const W: Float64Array[] = [];
  const b: Float64Array[] = [];
  const scale: number[] = [];
  const names: string[] = [];
  const sizesOf: number[] = [];
  for (let l = 1; l <= L; l++) {
    W.push(p[`W${l}`]!);
    names.push(`W${l}`);
    sizesOf.push(sizes[l]! * sizes[l - 1]!);
    if (bias) {
      b.push(p[`b${l}`]!);
      names.push(`b${l}`);
      sizesOf.push(sizes[l]!);
    } else b.push(new Float64Array(0));
    scale.push(mlp.scaled && l < L ? 1 / Math.sqrt(sizes[l]!) : 1);
  }
  return { spec: mlp, sizes, L, bias, W, b, scale, names, sizesOf, P: sizesOf.reduce((a, c) => a + c, 0) };
}

/** Requires a piecewise-linear activation (relu, leakyRelu, abs, identity). */
export function requirePiecewiseLinear(spec: ModelSpec, where: string): void {
  const act = activation(requireMlpLike(spec, `${where}: spec`).activation);
  if (!act.piecewiseLinear) {
    throw new RangeError(
      `${where}: spec.activation must be piecewise linear (relu, leakyRelu, abs, identity) for ` +
        `Kawaguchi et al.'s projection formula, got '${act.name}'`,
    );
  }
}

/** Forward cache: Φ⁽ˡ⁾ (Φ⁽⁰⁾ = X), the diagonal patterns Λ⁽ˡ⁾ (times s_l) and the output. */
export interface Cache {
  n: number;
  /** phi[l] = Φ⁽ˡ⁾, [n, m_l] row-major, l = 0..H. */
  phi: Float64Array[];
  /** lam[l-1] = s_l·Λ⁽ˡ⁾ as [n, m_l] (σ' where it exists, 0 at a kink, as in Kawaguchi et al. §4.1). */
  lam: Float64Array[];
  /** Ŷ, [n, d_y] row-major. */
  out: Float64Array;
}

/** Derivative as in Kawaguchi et al.'s Λ: σ'(z) where it exists, 0 otherwise (kinks at z = 0). */
export function lambdaOf(spec: MlpLikeSpec): (z: number) => number {
  const act = activation(spec.activation);
  if (act.name === 'identity') return () => 1;
  if (act.piecewiseLinear) return (z) => (z === 0 ? 0 : act.df(z));
  return act.df;
}

/** Row-major C[n, r] = A[n, k] · B[r, k]ᵀ (+ bias row). */
function affine(A: Float64Array, B: Float64Array, bias: Float64Array, n: number, k: number, r: number) {
  const C = new Float64Array(n * r);
  for (let i = 0; i < n; i++) {
    const oi = i * k;
    for (let j = 0; j < r; j++) {
      const oj = j * k;
      let s = bias.length ? bias[j]! : 0;
      for (let t = 0; t < k; t++) s += A[oi + t]! * B[oj + t]!;
      C[i * r + j] = s;
    }
  }
  return C;
}

/** Float64 forward pass keeping what the Jacobian products need. */
export function forwardCache(net: Net, X: ArrayLike<number>, n: number, where: string): Cache {
  checkN(n, where);
  const X64 = checkMatrix(X, n, net.sizes[0]!, 'X', where);
  const act = activation(net.spec.activation);
  const lamFn = lambdaOf(net.spec);
  const phi: Float64Array[] = [X64];
  const lam: Float64Array[] = [];
  let cur = X64;
  for (let l = 1; l <= net.L; l++) {
    const z = affine(cur, net.W[l - 1]!, net.b[l - 1]!, n, net.sizes[l - 1]!, net.sizes[l]!);
    if (l === net.L) return { n, phi, lam, out: z };
    const s = net.scale[l - 1]!;
    const h = new Float64Array(z.length);
    const lm = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) {
      h[i] = s * act.f(z[i]!);
      lm[i] = s * lamFn(z[i]!);
    }
    phi.push(h);
    lam.push(lm);
    cur = h;
  }
  throw new Error('unreachable');
}

/**
 * Jacobian-vector product: d vec(Ŷ) for a parameter tangent `t` (flattened in `net.names`
 * order). Returns vec(dŶ) (column-major: index j·n + i).
 */
export function jvp(net: Net, c: Cache, t: Float64Array): Float64Array {
  const n = c.n;
  let off = 0;
  let dphi: Float64Array | null = null; // dΦ⁽⁰⁾ = 0
  for (let l = 1; l <= net.L; l++) {
    const mi = net.sizes[l - 1]!;
    const mo = net.sizes[l]!;
    const W = net.W[l - 1]!;
    const dW = t.subarray(off, off + mo * mi);
    off += mo * mi;
    let db: Float64Array | null = null;
    if (net.bias) {
      db = t.subarray(off, off + mo);
      off += mo;
    }
    const phiPrev = c.phi[l - 1]!;
    const dz = new Float64Array(n * mo);
    for (let i = 0; i < n; i++) {
      const oi = i * mi;
      for (let j = 0; j < mo; j++) {
        const oj = j * mi;
        let s = db ? db[j]! : 0;
        for (let k = 0; k < mi; k++) s += phiPrev[oi + k]! * dW[oj + k]!;
        if (dphi) for (let k = 0; k < mi; k++) s += dphi[oi + k]! * W[oj + k]!;
        dz[i * mo + j] = s;
      }
    }
    if (l === net.L) {
      const out = new Float64Array(n * mo);
      for (let i = 0; i < n; i++) for (let j = 0; j < mo; j++) out[j * n + i] = dz[i * mo + j]!;
      return out;
    }
    const lm = c.lam[l - 1]!;
    for (let i = 0; i < dz.length; i++) dz[i] = dz[i]! * lm[i]!;
    dphi = dz;
  }
  throw new Error('unreachable');
}

/** Vector-Jacobian product: Jacᵀ r for r = vec(R) (column-major, length n·d_y), flattened parameters. */
export function vjp(net: Net, c: Cache, r: Float64Array): Float64Array {
  const n = c.n;
  const g = new Float64Array(net.P);
  const dy = net.sizes[net.L]!;
  let delta = new Float64Array(n * dy);
  for (let i = 0; i < n; i++) for (let j = 0; j < dy; j++) delta[i * dy + j] = r[j * n + i]!;
  const offsets: number[] = [];
  let off = 0;
  for (let l = 1; l <= net.L; l++) {
    offsets.push(off);
    off += net.sizes[l]! * net.sizes[l - 1]! + (net.bias ? net.sizes[l]! : 0);
  }
  for (let l = net.L; l >= 1; l--) {
    const mi = net.sizes[l - 1]!;
    const mo = net.sizes[l]!;
    const a = c.phi[l - 1]!;
    const o = offsets[l - 1]!;
    for (let i = 0; i < n; i++) {
      const oi = i * mi;
      for (let j = 0; j < mo; j++) {
        const s = delta[i * mo + j]!;
        if (s === 0) continue;
        const oj = o + j * mi;
        for (let k = 0; k < mi; k++) g[oj + k]! += s * a[oi + k]!;
        if (net.bias) g[o + mo * mi + j]! += s;
      }
    }
    if (l === 1) break;
    const W = net.W[l - 1]!;
    const lm = c.lam[l - 2]!;
    const next = new Float64Array(n * mi);
    for (let i = 0; i < n; i++) {
      const oi = i * mi;
      for (let j = 0; j < mo; j++) {
        const s = delta[i * mo + j]!;
        if (s === 0) continue;
        const oj = j * mi;
        for (let k = 0; k < mi; k++) next[oi + k]! += s * W[oj + k]!;
      }
      for (let k = 0; k < mi; k++) next[oi + k] = next[oi + k]! * lm[oi + k]!;
    }
    delta = next;
  }
  return g;
}

/** Offset of each layer's parameters (W_l then b_l) in the flattened `net.names` order. */
function layerOffsets(net: Net): number[] {
  const offsets: number[] = [];
  let off = 0;
  for (let l = 1; l <= net.L; l++) {
    offsets.push(off);
    off += net.sizes[l]! * net.sizes[l - 1]! + (net.bias ? net.sizes[l]! : 0);
  }
  return offsets;
}

/**
 * {@link jvp} for several tangents at once, every product a {@link gemmNT} call (the tangents'
 * layer blocks against Φ⁽ˡ⁻¹⁾, the stacked dΦ⁽ˡ⁻¹⁾ of all tangents against W_l).
 */
export function jvpMany(net: Net, c: Cache, T: readonly Float64Array[]): Float64Array[] {
  const n = c.n;
  const R = T.length;
  const offsets = layerOffsets(net);
  let dphi: Float64Array | null = null; // [R][n][m_{l−1}]
  for (let l = 1; l <= net.L; l++) {
    const mi = net.sizes[l - 1]!;
    const mo = net.sizes[l]!;
    const off = offsets[l - 1]!;
    const dz = new Float64Array(R * n * mo);
    for (let r = 0; r < R; r++) {
      gemmNT(n, mo, mi, c.phi[l - 1]!, 0, mi, T[r]!, off, mi, dz, r * n * mo, mo);
      if (net.bias) {
        const db = T[r]!.subarray(off + mo * mi, off + mo * mi + mo);
        const o = r * n * mo;
        for (let i = 0; i < n; i++) for (let j = 0; j < mo; j++) dz[o + i * mo + j]! += db[j]!;
      }
    }
    if (dphi) gemmNT(R * n, mo, mi, dphi, 0, mi, net.W[l - 1]!, 0, mi, dz, 0, mo);
    if (l === net.L) {
      return T.map((_, r) => {
        const out = new Float64Array(n * mo);
        const o = r * n * mo;
        for (let i = 0; i < n; i++) for (let j = 0; j < mo; j++) out[j * n + i] = dz[o + i * mo + j]!;
        return out;
      });
    }
    const lm = c.lam[l - 1]!;
    const len = n * mo;
    for (let r = 0; r < R; r++) {
      const o = r * len;
      for (let i = 0; i < len; i++) dz[o + i] = dz[o + i]! * lm[i]!;
    }
    dphi = dz;
  }
  throw new Error('unreachable');
}

/** [cols, rows] transpose of a row-major [rows, cols] block starting at `off`. */
function transpose(A: Float64Array, off: number, rows: number, cols: number): Float64Array {
  const T = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = off + i * cols;
    for (let j = 0; j < cols; j++) T[j * rows + i] = A[o + j]!;
  }
  return T;
}

/**
 * {@link vjp} for several residuals at once: the gradient blocks are Δᵀ·Φ⁽ˡ⁻¹⁾ (reduction over the
 * samples) and the backward step the stacked Δ of all residuals against W_l, both by {@link gemmNT}.
 */
export function vjpMany(net: Net, c: Cache, E: readonly Float64Array[]): Float64Array[] {
  const n = c.n;
  const R = E.length;
  const dy = net.sizes[net.L]!;
  const offsets = layerOffsets(net);
  const G = E.map(() => new Float64Array(net.P));
  let delta = new Float64Array(R * n * dy); // [R][n][m_l]
  for (let r = 0; r < R; r++) {
    const e = E[r]!;
    const o = r * n * dy;
    for (let i = 0; i < n; i++) for (let j = 0; j < dy; j++) delta[o + i * dy + j] = e[j * n + i]!;
  }
  for (let l = net.L; l >= 1; l--) {
    const mi = net.sizes[l - 1]!;
    const mo = net.sizes[l]!;
    const off = offsets[l - 1]!;
    const phiT = transpose(c.phi[l - 1]!, 0, n, mi);
    for (let r = 0; r < R; r++) {
      const dT = transpose(delta, r * n * mo, n, mo);
      gemmNT(mo, mi, n, dT, 0, n, phiT, 0, n, G[r]!, off, mi);
      if (net.bias) {
        const g = G[r]!;
        for (let j = 0; j < mo; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += dT[j * n + i]!;
          g[off + mo * mi + j] = s;
        }
      }
    }
    if (l === 1) break;
    const WT = transpose(net.W[l - 1]!, 0, mo, mi);
    const next = new Float64Array(R * n * mi);
    gemmNT(R * n, mi, mo, delta, 0, mo, WT, 0, mo, next, 0, mi);
    const lm = c.lam[l - 2]!;
    const len = n * mi;
    for (let r = 0; r < R; r++) {
      const o = r * len;
      for (let i = 0; i < len; i++) next[o + i] = next[o + i]! * lm[i]!;
    }
    delta = next;
  }
  return G;
}

/** vec(Y) (column-major, index j·n + i) of a row-major [n, k] matrix. */
export function vecColumnMajor(Y: Float64Array, n: number, k: number): Float64Array {
  const y = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) y[j * n + i] = Y[i * k + j]!;
  return y;
}
