/** Classification counts of predictions against labels (see {@link classificationMetrics}). */
export interface ClassificationMetrics {
  /** Number of samples scored. */
  readonly n: number;
  /** Samples whose arg-max prediction equals the label. */
  readonly correct: number;
  /** `correct / n` (a fraction in [0, 1]; multiply by 100 for the papers' percentages). */
  readonly accuracy: number;
  /** Samples per true class, length k. */
  readonly perClassTotal: Int32Array;
  /** Correctly classified samples per true class, length k. */
  readonly perClassCorrect: Int32Array;
  /**
   * Confusion counts, row-major [k, k]: entry (t, p) counts samples of true class t predicted as p.
   */
  readonly confusion: Int32Array;
}

/**
 * Integer labels of row-major targets Y [n, k]: the arg-max of each row (one-hot or probability
 * rows; ties go to the lowest class, as `argmax` in PyTorch and NumPy).
 */
export function labelsFromTargets(Y: ArrayLike<number>, k: number): Int32Array {
  checkK(Y.length, k, 'labelsFromTargets', 'targets');
  return argmaxRows(Y, k);
}

/**
 * Accuracy, per-class counts and the confusion matrix of predictions P [n, k] (row-major scores
 * or logits; the predicted class is the row's arg-max, ties to the lowest class) against integer
 * labels in [0, k). For k = 1 (a scalar output) the prediction is the sign: class 1 when the
 * score is > 0, class 0 otherwise, and labels must be 0 or 1. A non-finite score counts as wrong
 * (it is never the arg-max of a row that has a finite entry, and a row with no finite entry has
 * no prediction), so a diverged model cannot score by accident.
 */
export function classificationMetrics(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): ClassificationMetrics {
  checkK(pred.length, k, 'classificationMetrics', 'predictions');
  const n = pred.length / k;
  if (labels.length !== n)
    throw new RangeError(`classificationMetrics: ${n} prediction rows but ${labels.length} labels`);
  const classes = k === 1 ? 2 : k;
  const predicted = k === 1 ? signClasses(pred) : argmaxRows(pred, k);
  const perClassTotal = new Int32Array(classes);
  const perClassCorrect = new Int32Array(classes);
  const confusion = new Int32Array(classes * classes);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = labels[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= classes)
      throw new RangeError(`classificationMetrics: labels[${i}] = ${t} is not a class in [0, ${classes})`);
    perClassTotal[t]!++;
    const p = predicted[i]!;
    if (p < 0) continue;
    confusion[t * classes + p]!++;
    if (p === t) {
      correct++;
      perClassCorrect[t]!++;
    }
  }
  return {
    n,
    correct,
    accuracy: n === 0 ? Number.NaN : correct / n,
    perClassTotal,
    perClassCorrect,
    confusion,
  };
}

function checkK(length: number, k: number, where: string, what: string): void {
  if (!Number.isInteger(k) || k <= 0 || length % k !== 0)
    throw new RangeError(`${where}: k = ${k} must be a positive integer dividing the ${length} ${what}`);
}

/** Arg-max of each row over finite entries; −1 for a row with none. */
function argmaxRows(A: ArrayLike<number>, k: number): Int32Array {
  const n = A.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const v = A[i * k + c]!;
      if (Number.isFinite(v) && (best < 0 || v > bestValue)) {
        best = c;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}

function signClasses(pred: ArrayLike<number>): Int32Array {
  const out = new Int32Array(pred.length);
  for (let i = 0; i < pred.length; i++) {
    const v = pred[i]!;
    out[i] = Number.isFinite(v) ? (v > 0 ? 1 : 0) : -1;
  }
  return out;
}
