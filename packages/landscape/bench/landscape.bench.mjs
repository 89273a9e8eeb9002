// Benchmark of @narrownet/landscape (run after `npx tsup`; `npm run bench` does both).
// Prints one JSON object per line. Sizes can be reduced with BENCH_QUICK=1 for a smoke run.
import { createRng, forward64 } from '@narrownet/models';
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import {
  hiddenJacobian,
  jacobianLambdaMin,
  kawaguchiLossDense,
  kawaguchiLossMatrixFree,
} from '../dist/index.js';

const quick = process.env.BENCH_QUICK === '1';
const emit = (o) => console.log(JSON.stringify(o));
const time = (f) => {
  const t = performance.now();
  const r = f();
  return { r, ms: performance.now() - t };
};

function zhangCase(n, d, m, seed) {
  const rng = createRng(seed);
  const X = rng.fillNormal(new Float64Array(n * d), 0, 1 / Math.sqrt(d));
  const W = rng.fillNormal(new Float64Array(m * d), 0, 1);
  const v = rng.fillNormal(new Float64Array(m), 0, 1 / Math.sqrt(m));
  return { spec: { kind: 'shallow', inputDim: d, width: m, activation: 'tanh' }, params: { W, v }, X };
}

/** Explicit route 1: form J (n × md) and take its smallest singular value by ml-matrix SVD. */
function explicitSvd({ spec, params, X }, n) {
  const J = hiddenJacobian(spec, params, X, n);
  const M = new Matrix(J.cols, J.rows); // Jᵀ (tall), same singular values
  for (let i = 0; i < J.rows; i++) for (let c = 0; c < J.cols; c++) M.set(c, i, J.data[i * J.cols + c]);
  const svd = new SingularValueDecomposition(M, {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  });
  return Math.min(...svd.diagonal.map(Math.abs));
}

/** Explicit route 2: J Jᵀ accumulated from explicit J blocks of 16 hidden units, then ml-matrix eig. */
function explicitBlockedGram({ spec, params, X }, n) {
  const { inputDim: d, width: m } = spec;
  const G = new Float64Array(n * n);
  const B = 16;
  for (let j0 = 0; j0 < m; j0 += B) {
    const mb = Math.min(B, m - j0);
    const sub = { ...spec, width: mb };
    const J = hiddenJacobian(
      sub,
      { W: params.W.subarray(j0 * d, (j0 + mb) * d), v: params.v.subarray(j0, j0 + mb) },
      X,
      n,
    );
    const k = J.cols;
    for (let a = 0; a < n; a++)
      for (let b = a; b < n; b++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += J.data[a * k + t] * J.data[b * k + t];
        G[a * n + b] += s;
      }
  }
  const M = new Matrix(n, n);
  for (let a = 0; a < n; a++) for (let b = a; b < n; b++) M.set(a, b, G[a * n + b]).set(b, a, G[a * n + b]);
  const ev = new EigenvalueDecomposition(M, { assumeSymmetric: true }).realEigenvalues;
  return Math.sqrt(Math.max(Math.min(...ev), 0));
}

// 1. Zhang et al.: λ_min(J) at n = 1000, d = 200, m = 1200 (tanh) by the Gram route.
{
  const [n, d, m] = quick ? [200, 40, 240] : [1000, 200, 1200];
  const c = zhangCase(n, d, m, 1);
  const { r, ms } = time(() => jacobianLambdaMin(c.spec, c.params, c.X, n));
  emit({ bench: 'zhang.lambdaMin', route: 'gram', n, d, m, lambdaMin: r, ms: Math.round(ms) });
  const bytes = n * d * m * 8;
  emit({
    bench: 'zhang.lambdaMin',
    route: 'explicit',
    n,
    d,
    m,
    skipped: `J would hold ${n}·${m * d} float64 = ${(bytes / 2 ** 30).toFixed(2)} GiB`,
  });
}
// 2. Same quantity at sizes where the explicit routes fit, to compare and extrapolate (n²·m·d work).
for (const [n, d, m] of quick
  ? [[100, 20, 120]]
  : [
      [100, 20, 120],
      [200, 40, 240],
      [300, 60, 360],
    ]) {
  const c = zhangCase(n, d, m, 2);
  const g = time(() => jacobianLambdaMin(c.spec, c.params, c.X, n));
  const s = time(() => explicitSvd(c, n));
  const b = time(() => explicitBlockedGram(c, n));
  emit({
    bench: 'zhang.lambdaMin.small',
    n,
    d,
    m,
    gramMs: Math.round(g.ms),
    explicitSvdMs: Math.round(s.ms),
    explicitBlockedGramMs: Math.round(b.ms),
    lambdaGram: g.r,
    lambdaSvd: s.r,
    lambdaBlocked: b.r,
    relDiffSvd: Math.abs(g.r - s.r) / s.r,
  });
}

// 3. Kawaguchi et al. synthetic setting (§4.3, App. C): m = 5000 samples, d_x = 10, d_y = 1, labels
// from a tanh teacher with H = 7, width 50, weights N(0, (2/√fan_in)²); students are relu MLPs
// without bias, weights N(0, 1/fan_in) (the paper's "initial" heat map).
{
  const nS = quick ? 500 : 5000;
  const rng = createRng(3);
  const teacherLayers = [10, 50, 50, 50, 50, 50, 50, 50, 1];
  const tp = {};
  for (let l = 1; l < teacherLayers.length; l++) {
    tp[`W${l}`] = rng.fillNormal(
      new Float64Array(teacherLayers[l] * teacherLayers[l - 1]),
      0,
      2 / Math.sqrt(teacherLayers[l - 1]),
    );
  }
  const X = rng.fillNormal(new Float64Array(nS * 10));
  const Y = forward64({ kind: 'mlp', layers: teacherLayers, activation: 'tanh' }, tp, X, nS);
  const configs = quick
    ? [
        [1, 10],
        [2, 10],
      ]
    : [
        [1, 10],
        [1, 20],
        [1, 50],
        [2, 10],
        [2, 20],
        [3, 10],
        [2, 50],
        [3, 50],
      ];
  for (const [H, w] of configs) {
    const layers = [10, ...Array(H).fill(w), 1];
    const spec = { kind: 'mlp', layers, activation: 'relu' };
    const p = {};
    for (let l = 1; l < layers.length; l++) {
      p[`W${l}`] = rng.fillNormal(
        new Float64Array(layers[l] * layers[l - 1]),
        0,
        1 / Math.sqrt(layers[l - 1]),
      );
    }
    const P = Object.values(p).reduce((s, a) => s + a.length, 0);
    const row = { bench: 'kawaguchi.J', m: nS, dx: 10, H, width: w, params: P };
    if (P <= 700) {
      const dn = time(() => kawaguchiLossDense(spec, p, X, Y, nS));
      Object.assign(row, { denseMs: Math.round(dn.ms), denseJ: dn.r.J, rank: dn.r.rank });
    } else
      row.dense = `skipped: QR of a ${nS}×${P} matrix (≈${((2 * nS * P * P) / 1e9).toFixed(0)} GFLOP in JS)`;
    const mf = time(() =>
      kawaguchiLossMatrixFree(spec, p, X, Y, nS, { tolerance: 1e-10, maxIterations: quick ? 100 : 400 }),
    );
    Object.assign(row, {
      matrixFreeMs: Math.round(mf.ms),
      matrixFreeJ: mf.r.J,
      iterations: mf.r.iterations,
      converged: mf.r.converged,
    });
    if (row.denseJ !== undefined) row.relDiff = Math.abs(row.denseJ - mf.r.J) / row.denseJ;
    emit(row);
  }
}
