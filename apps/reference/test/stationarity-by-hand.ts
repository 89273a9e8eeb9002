import { type ModelSpec, type ParamTree, forward64 } from '@narrownet/models';

/**
 * ‖P_T(−∇ℓ)‖ / ‖∇ℓ‖ of ½Σ(y − f)² at `params` for a Frobenius ball ‖W − W0‖_F ≤ radius on W and
 * a free v, computed independently of the app and of @narrownet/optim: the gradient by float64
 * central differences of the forward pass, the tangent cone of the ball in closed form (on the
 * sphere an outward gradient loses its radial component; inside the ball nothing is blocked). A
 * point within relative 1e-5 of the sphere counts as on it (float32 iterates sit a few ulps off).
 */
export function stationarityByHand(
  spec: ModelSpec,
  params: ParamTree,
  anchors: ParamTree,
  data: { X: Float32Array; Y: Float32Array; n: number },
  radius: number,
): number {
  const W = Float64Array.from(params.W!.data);
  const v = Float64Array.from(params.v!.data);
  const loss = () => {
    const f = forward64(spec, { W, v }, data.X, data.n);
    let s = 0;
    for (let i = 0; i < data.n; i++) s += 0.5 * (data.Y[i]! - f[i]!) ** 2;
    return s;
  };
  const grad = (x: Float64Array) =>
    Float64Array.from(x, (_, j) => {
      const keep = x[j]!;
      const h = 1e-6 * Math.max(1, Math.abs(keep));
      x[j] = keep + h;
      const up = loss();
      x[j] = keep - h;
      const down = loss();
      x[j] = keep;
      return (up - down) / (2 * h);
    });
  const gW = grad(W);
  const gv = grad(v);
  const W0 = anchors.W!.data;
  const d = Float64Array.from(W, (w, j) => w - W0[j]!);
  const dist = Math.hypot(...d);
  const sq = (a: Float64Array) => a.reduce((s, x) => s + x * x, 0);
  let pW = sq(gW);
  if (dist >= radius * (1 - 1e-5)) {
    // radial component of the descent direction −g along u = d/‖d‖; outward (> 0) is blocked
    const out = -gW.reduce((s, g, j) => s + g * d[j]!, 0) / dist;
    if (out > 0) pW -= out * out;
  }
  return Math.sqrt(pW + sq(gv)) / Math.sqrt(sq(gW) + sq(gv));
}
