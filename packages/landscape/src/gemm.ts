import { GEMM_WASM_BASE64 } from './gemmWasm.js';

/**
 * The one matrix kernel of the scaled Kawaguchi route (internal): C += alpha·A·Bᵀ on row-major
 * Float64Arrays with row strides. It runs the WebAssembly SIMD build of wasm/gemm.c (f64x2, about
 * 3-4× the plain-JavaScript kernel per CPU second on the benchmark machine) where WebAssembly with
 * SIMD is available, and {@link gemmNTJs} otherwise; both are exact float64 sums of products, in a
 * different order. Operands are copied block by block into the module's fixed memory, which never
 * grows, so no view of it is ever detached.
 */

/** Which kernel {@link gemmNT} runs: 'wasm-simd' or 'js'. */
export type GemmKernel = 'wasm-simd' | 'js';

/** Block sizes of the copies into WebAssembly memory: rows of A, rows of B, reduction length. */
const MA = 256;
const MC = 256;
const ML = 512;
/** The C kernel's reduction block (KB in wasm/gemm.c): its packed B holds round4(MC)·KB doubles. */
const KB = 256;
/** Below this many multiply-adds a call stays in JavaScript (copies would dominate). */
const SMALL = 4096;
/** Capacity (doubles) of the packed-B buffer, and of the operand region of {@link gramRows}. */
const BP_CAP = 1 << 20;
const G_CAP = 1 << 22;

interface Wasm {
  f64: Float64Array;
  run: (...args: number[]) => void;
  gram: (...args: number[]) => void;
  a: number;
  b: number;
  c: number;
  ap: number;
  bp: number;
  g: number;
}

/** The part of the WebAssembly JS API used here (the package compiles without the DOM library). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}

let wasm: Wasm | null | undefined;
let forced: GemmKernel | null = null;

function load(): Wasm | null {
  try {
    const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (!WA || typeof atob !== 'function') return null;
    const bin = atob(GEMM_WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const doubles = MA * ML + MC * ML + MA * MC + 4 * KB + BP_CAP + G_CAP;
    const memory = new WA.Memory({ initial: Math.ceil((doubles * 8 + (2 << 20)) / 65536) });
    const inst = new WA.Instance(new WA.Module(bytes), { env: { memory } });
    const heapBase = (inst.exports.__heap_base as { value: number }).value;
    const start = Math.ceil(heapBase / 16) * 2; // in doubles, 16-byte aligned
    const need = (start + doubles) * 8;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    const f64 = new Float64Array(memory.buffer);
    const a = start;
    const b = a + MA * ML;
    const c = b + MC * ML;
    const ap = c + MA * MC;
    const bp = ap + 4 * KB;
    const g = bp + BP_CAP;
    const run = inst.exports.gemm_nt as (...args: number[]) => void;
    const gram = inst.exports.gram_rows as (...args: number[]) => void;
    return { f64, run, gram, a, b, c, ap, bp, g };
  } catch {
    return null;
  }
}

function current(): Wasm | null {
  if (forced === 'js') return null;
  if (wasm === undefined) wasm = load();
  return wasm;
}

/** The kernel {@link gemmNT} uses now. */
export function gemmKernel(): GemmKernel {
  return current() ? 'wasm-simd' : 'js';
}

/** Forces the plain-JavaScript kernel ('js') or restores the default ('auto'); for tests and benchmarks. */
export function useGemmKernel(kind: 'auto' | 'js'): void {
  forced = kind === 'js' ? 'js' : null;
}

/**
 * C[cOff + a·ldc + c] += alpha·Σ_{t<len} A[aOff + a·lda + t]·B[bOff + c·ldb + t] for a < na, c < nc:
 * all dot products between rows of A and rows of B (row strides lda, ldb; rows contiguous), i.e.
 * C += alpha·A·Bᵀ.
 */
export function gemmNT(
  na: number,
  nc: number,
  len: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
  alpha = 1,
): void {
  const w = current();
  if (!w || na * nc * len < SMALL) {
    gemmNTJs(na, nc, len, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, alpha);
    return;
  }
  const f = w.f64;
  for (let t0 = 0; t0 < len; t0 += ML) {
    const tl = Math.min(ML, len - t0);
    for (let c0 = 0; c0 < nc; c0 += MC) {
      const cl = Math.min(MC, nc - c0);
      copyRows(B, bOff + c0 * ldb + t0, ldb, cl, tl, f, w.b);
      for (let a0 = 0; a0 < na; a0 += MA) {
        const al = Math.min(MA, na - a0);
        copyRows(A, aOff + a0 * lda + t0, lda, al, tl, f, w.a);
        // C's block goes in, the kernel adds alpha·A·Bᵀ to it, and it comes back out.
        const o = cOff + a0 * ldc + c0;
        copyRows(C, o, ldc, al, cl, f, w.c);
        w.run(al, cl, tl, w.a * 8, tl, w.b * 8, tl, w.c * 8, cl, alpha, w.ap * 8, w.bp * 8);
        for (let a = 0; a < al; a++) C.set(f.subarray(w.c + a * cl, w.c + (a + 1) * cl), o + a * ldc);
      }
    }
  }
}

/** Copies `rows` rows of `cols` entries (row stride ld, from `off`) of M contiguously into f at `to`. */
function copyRows(
  M: Float64Array,
  off: number,
  ld: number,
  rows: number,
  cols: number,
  f: Float64Array,
  to: number,
) {
  if (ld === cols) {
    f.set(M.subarray(off, off + rows * cols), to);
    return;
  }
  for (let r = 0; r < rows; r++) f.set(M.subarray(off + r * ld, off + r * ld + cols), to + r * cols);
}

/**
 * Rows of a Gram matrix with per-sample weights between its factors:
 * C[cOff + a·ldc + kk·nc + c] += Σ_{t<len} A[a·len + t]·S[kk·len + t]·B[c·len + t] for a < na,
 * kk < nk, c < nc (A [na, len], S [nk, len], B [nc, len], rows contiguous): the nk blocks
 * A·diag(S_kk)·Bᵀ side by side. On WebAssembly the weights are folded into A while it is packed.
 */
export function gramRows(
  na: number,
  nk: number,
  nc: number,
  len: number,
  A: Float64Array,
  S: Float64Array,
  B: Float64Array,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  const w = current();
  const fixed = (na + nc) * len;
  const per = len + na * nc; // a weight row and its C block
  const fits = w && Math.ceil(nc / 4) * 4 * KB <= BP_CAP && fixed + per <= G_CAP;
  if (!w || !fits) {
    const As = new Float64Array(na * len);
    for (let kk = 0; kk < nk; kk++) {
      for (let a = 0; a < na; a++)
        for (let t = 0; t < len; t++) As[a * len + t] = A[a * len + t]! * S[kk * len + t]!;
      gemmNTJs(na, nc, len, As, 0, len, B, 0, len, C, cOff + kk * nc, ldc);
    }
    return;
  }
  const f = w.f64;
  const step = Math.max(1, Math.floor((G_CAP - fixed) / per));
  const oA = w.g;
  const oB = oA + na * len;
  const oS = oB + nc * len;
  f.set(A.subarray(0, na * len), oA);
  f.set(B.subarray(0, nc * len), oB);
  for (let k0 = 0; k0 < nk; k0 += step) {
    const kn = Math.min(step, nk - k0);
    const oC = oS + kn * len;
    const ldw = kn * nc;
    f.set(S.subarray(k0 * len, (k0 + kn) * len), oS);
    f.fill(0, oC, oC + na * ldw);
    w.gram(na, kn, nc, len, oA * 8, oS * 8, oB * 8, oC * 8, ldw, w.ap * 8, w.bp * 8);
    for (let a = 0; a < na; a++) {
      const o = cOff + a * ldc + k0 * nc;
      const src = oC + a * ldw;
      for (let c = 0; c < ldw; c++) C[o + c]! += f[src + c]!;
    }
  }
}

/** Reduction-dimension block of {@link gemmNTJs}: long dot products are cut so the tiles' rows stay in cache. */
const KB_JS = 512;

/** {@link gemmNT} in plain JavaScript: 4×4 register tiles, the reduction in blocks of 512. */
export function gemmNTJs(
  na: number,
  nc: number,
  len: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
  alpha = 1,
): void {
  for (let t0 = 0; t0 < len; t0 += KB_JS) {
    const t1 = Math.min(t0 + KB_JS, len);
    tileNT(na, nc, t0, t1, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, alpha);
  }
}

function tileNT(
  na: number,
  nc: number,
  t0: number,
  t1: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
  alpha: number,
): void {
  const a4 = na - (na % 4);
  const c4 = nc - (nc % 4);
  for (let a = 0; a < a4; a += 4) {
    const p0 = aOff + a * lda;
    const p1 = p0 + lda;
    const p2 = p1 + lda;
    const p3 = p2 + lda;
    for (let c = 0; c < c4; c += 4) {
      const q0 = bOff + c * ldb;
      const q1 = q0 + ldb;
      const q2 = q1 + ldb;
      const q3 = q2 + ldb;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      let s20 = 0;
      let s21 = 0;
      let s22 = 0;
      let s23 = 0;
      let s30 = 0;
      let s31 = 0;
      let s32 = 0;
      let s33 = 0;
      for (let t = t0; t < t1; t++) {
        const x0 = A[p0 + t]!;
        const x1 = A[p1 + t]!;
        const x2 = A[p2 + t]!;
        const x3 = A[p3 + t]!;
        const y0 = B[q0 + t]!;
        const y1 = B[q1 + t]!;
        const y2 = B[q2 + t]!;
        const y3 = B[q3 + t]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      const o0 = cOff + a * ldc + c;
      const o1 = o0 + ldc;
      const o2 = o1 + ldc;
      const o3 = o2 + ldc;
      C[o0]! += alpha * s00;
      C[o0 + 1]! += alpha * s01;
      C[o0 + 2]! += alpha * s02;
      C[o0 + 3]! += alpha * s03;
      C[o1]! += alpha * s10;
      C[o1 + 1]! += alpha * s11;
      C[o1 + 2]! += alpha * s12;
      C[o1 + 3]! += alpha * s13;
      C[o2]! += alpha * s20;
      C[o2 + 1]! += alpha * s21;
      C[o2 + 2]! += alpha * s22;
      C[o2 + 3]! += alpha * s23;
      C[o3]! += alpha * s30;
      C[o3 + 1]! += alpha * s31;
      C[o3 + 2]! += alpha * s32;
      C[o3 + 3]! += alpha * s33;
    }
  }
  // Edges: remaining rows of A against all of B, and the first a4 rows against the remaining B rows.
  for (let a = 0; a < na; a++) {
    const c0 = a < a4 ? c4 : 0;
    const p = aOff + a * lda;
    for (let c = c0; c < nc; c++) {
      const q = bOff + c * ldb;
      let s = 0;
      for (let t = t0; t < t1; t++) s += A[p + t]! * B[q + t]!;
      C[cOff + a * ldc + c]! += alpha * s;
    }
  }
}
