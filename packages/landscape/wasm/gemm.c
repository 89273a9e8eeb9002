/*
 * The float64 matrix kernel of @narrownet/landscape's scaled Kawaguchi route, compiled to
 * WebAssembly with 128-bit SIMD (f64x2) by scripts/build-wasm.mjs into src/gemmWasm.ts.
 *
 * gemm_nt: C[a*ldc + c] += alpha * sum_{t < len} A[a*lda + t] * B[c*ldb + t]  for a < na, c < nc
 * gram_rows: C += A diag(S[kk]) B^T for each weight row kk, side by side (see below).
 * All indices in doubles, all pointers into the module's memory. B is packed per strip of four
 * rows into bp (room for round4(nc) * KB doubles), A per strip of four rows into ap (4 * KB).
 * Micro-kernel: a 4 x 4 tile of C in eight f64x2 registers, one rank-1 update per t.
 */
#include <wasm_simd128.h>

#define KB 256

static void pack_rows(const double* src, int ld, int rows, int have, int t0, int kb, double* dst) {
  for (int i = 0; i < rows; i++) {
    double* d = dst + i;
    if (i < have) {
      const double* s = src + (long)i * ld + t0;
      for (int t = 0; t < kb; t++) d[4 * t] = s[t];
    } else {
      for (int t = 0; t < kb; t++) d[4 * t] = 0;
    }
  }
}

/* Packs rows [0, nc) of B (row stride ldb), reduction columns [t0, t0 + kb), in strips of four. */
static void pack_b(const double* B, int ldb, int nc, int t0, int kb, double* bp) {
  for (int s = 0; s < nc; s += 4) {
    const int have = nc - s < 4 ? nc - s : 4;
    pack_rows(B + (long)s * ldb, ldb, 4, have, t0, kb, bp + (long)s * kb);
  }
}

/* r[16] = the 4 x 4 tile sum_t ap[4t + i] * bp[4t + j] (packed strips of kb columns). */
static void micro(int kb, const double* ap, const double* b, double* r) {
  v128_t c00 = wasm_f64x2_splat(0), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int t = 0; t < kb; t++) {
    const v128_t b0 = wasm_v128_load(b + 4 * t);
    const v128_t b1 = wasm_v128_load(b + 4 * t + 2);
    const v128_t x0 = wasm_v128_load64_splat(ap + 4 * t);
    const v128_t x1 = wasm_v128_load64_splat(ap + 4 * t + 1);
    c00 = wasm_f64x2_add(c00, wasm_f64x2_mul(x0, b0));
    c01 = wasm_f64x2_add(c01, wasm_f64x2_mul(x0, b1));
    c10 = wasm_f64x2_add(c10, wasm_f64x2_mul(x1, b0));
    c11 = wasm_f64x2_add(c11, wasm_f64x2_mul(x1, b1));
    const v128_t x2 = wasm_v128_load64_splat(ap + 4 * t + 2);
    const v128_t x3 = wasm_v128_load64_splat(ap + 4 * t + 3);
    c20 = wasm_f64x2_add(c20, wasm_f64x2_mul(x2, b0));
    c21 = wasm_f64x2_add(c21, wasm_f64x2_mul(x2, b1));
    c30 = wasm_f64x2_add(c30, wasm_f64x2_mul(x3, b0));
    c31 = wasm_f64x2_add(c31, wasm_f64x2_mul(x3, b1));
  }
  wasm_v128_store(r, c00);
  wasm_v128_store(r + 2, c01);
  wasm_v128_store(r + 4, c10);
  wasm_v128_store(r + 6, c11);
  wasm_v128_store(r + 8, c20);
  wasm_v128_store(r + 10, c21);
  wasm_v128_store(r + 12, c30);
  wasm_v128_store(r + 14, c31);
}

/* C[a0 + i][c0 + j] += alpha * r[4i + j] for the valid part of a 4 x 4 tile. */
static void add_tile(double* C, int ldc, int nra, int ncs, double alpha, const double* r) {
  for (int i = 0; i < nra; i++) {
    double* cr = C + (long)i * ldc;
    for (int j = 0; j < ncs; j++) cr[j] += alpha * r[i * 4 + j];
  }
}

void gemm_nt(int na, int nc, int len, const double* A, int lda, const double* B, int ldb, double* C,
             int ldc, double alpha, double* ap, double* bp) {
  const int nc4 = (nc + 3) & ~3;
  double r[16] __attribute__((aligned(16)));
  for (int t0 = 0; t0 < len; t0 += KB) {
    const int kb = len - t0 < KB ? len - t0 : KB;
    pack_b(B, ldb, nc, t0, kb, bp);
    for (int a0 = 0; a0 < na; a0 += 4) {
      const int nra = na - a0 < 4 ? na - a0 : 4;
      pack_rows(A + (long)a0 * lda, lda, 4, nra, t0, kb, ap);
      for (int s = 0; s < nc4; s += 4) {
        micro(kb, ap, bp + (long)s * kb, r);
        add_tile(C + (long)a0 * ldc + s, ldc, nra, nc - s < 4 ? nc - s : 4, alpha, r);
      }
    }
  }
}

/*
 * Rows of a Gram matrix with a per-sample weight between its two factors:
 * C[a*ldc + kk*nc + c] += sum_{t < len} A[a*len + t] * S[kk*len + t] * B[c*len + t]
 * for a < na, kk < nk, c < nc (A [na, len], S [nk, len], B [nc, len], all contiguous rows).
 * B is packed once per reduction block; each A strip is packed with the weights of row kk folded in.
 */
void gram_rows(int na, int nk, int nc, int len, const double* A, const double* S, const double* B, double* C,
               int ldc, double* ap, double* bp) {
  const int nc4 = (nc + 3) & ~3;
  double r[16] __attribute__((aligned(16)));
  for (int t0 = 0; t0 < len; t0 += KB) {
    const int kb = len - t0 < KB ? len - t0 : KB;
    pack_b(B, len, nc, t0, kb, bp);
    for (int kk = 0; kk < nk; kk++) {
      const double* w = S + (long)kk * len + t0;
      for (int a0 = 0; a0 < na; a0 += 4) {
        const int nra = na - a0 < 4 ? na - a0 : 4;
        pack_rows(A + (long)a0 * len, len, 4, nra, t0, kb, ap);
        for (int t = 0; t < kb; t++) {
          const double wt = w[t];
          ap[4 * t] *= wt;
          ap[4 * t + 1] *= wt;
          ap[4 * t + 2] *= wt;
          ap[4 * t + 3] *= wt;
        }
        for (int s = 0; s < nc4; s += 4) {
          micro(kb, ap, bp + (long)s * kb, r);
          add_tile(C + (long)a0 * ldc + (long)kk * nc + s, ldc, nra, nc - s < 4 ? nc - s : 4, 1.0, r);
        }
      }
    }
  }
}
