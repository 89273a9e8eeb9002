/**
 * Loss functions between predictions P [n, k] and targets Y [n, k]:
 * - `halfSse`: ½ Σ_{i,c} (Y_ic − P_ic)², the papers' ℓ(θ) (Zhang eq. 2; Kawaguchi et al.);
 * - `mse`: the mean of (Y − P)² over all n·k entries (PyTorch `MSELoss()`);
 * - `softmaxCrossEntropy`: mean over samples of −Σ_c Y_ic log softmax(P_i)_c, Y one-hot or
 *   probabilities (PyTorch `CrossEntropyLoss()` on one-hot targets).
 */
export type LossName = 'halfSse' | 'mse' | 'softmaxCrossEntropy';

/** The loss names, for validation and help texts. */
export const LOSS_NAMES: readonly LossName[] = ['halfSse', 'mse', 'softmaxCrossEntropy'];

/** Loss value and its gradient with respect to the predictions, in float64. */
export interface LossResult {
  value: number;
  /** ∂loss/∂P, same layout as P. */
  grad: Float64Array;
}

/**
 * Evaluates a loss in float64. `pred` and `target` are row-major [n, k] with `k` columns.
 */
export function loss64(
  name: LossName,
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  k: number,
): LossResult {
  if (pred.length !== target.length) {
    throw new RangeError(`loss64: predictions have ${pred.length} entries but targets have ${target.length}`);
  }
  if (!Number.isInteger(k) || k <= 0 || pred.length % k !== 0) {
    throw new RangeError(`loss64: k = ${k} does not divide the ${pred.length} entries`);
  }
  const n = pred.length / k;
  const grad = new Float64Array(pred.length);
  let value = 0;
  if (name === 'halfSse' || name === 'mse') {
    const scale = name === 'halfSse' ? 1 : 2 / pred.length;
    for (let i = 0; i < pred.length; i++) {
      const r = pred[i]! - target[i]!;
      value += r * r;
      grad[i] = scale * r;
    }
    value *= name === 'halfSse' ? 0.5 : 1 / pred.length;
    return { value, grad };
  }
  if (name === 'softmaxCrossEntropy') {
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let c = 0; c < k; c++) mx = Math.max(mx, pred[i * k + c]!);
      let z = 0;
      for (let c = 0; c < k; c++) z += Math.exp(pred[i * k + c]! - mx);
      const logZ = mx + Math.log(z);
      let ysum = 0;
      for (let c = 0; c < k; c++) {
        const y = target[i * k + c]!;
        ysum += y;
        value -= y * (pred[i * k + c]! - logZ);
      }
      for (let c = 0; c < k; c++)
        grad[i * k + c] = (Math.exp(pred[i * k + c]! - logZ) * ysum - target[i * k + c]!) / n;
    }
    return { value: value / n, grad };
  }
  throw new RangeError(
    `loss64: unknown loss ${JSON.stringify(name)}; expected one of ${LOSS_NAMES.join(', ')}`,
  );
}
