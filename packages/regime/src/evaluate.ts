import { type LossName, classificationMetrics, labelsFromTargets, loss64 } from '@narrownet/models';
import { readRows, rowRange } from './data.js';
import type { RowSource, Trainer } from './trainer.js';

/** Loss and (for k ≥ 2 outputs) classification counts of the model on one split. */
export interface SplitMetrics {
  /** Samples scored. */
  n: number;
  /** The regime's loss on the split (loss64 of the float32 predictions, in float64). */
  loss: number;
  /** Fraction of samples whose arg-max output is the arg-max target (k ≥ 2 only). */
  accuracy?: number;
  /** Correctly classified samples (k ≥ 2 only). */
  correct?: number;
  /** Correct samples per true class, length k (k ≥ 2 only). */
  perClassCorrect?: number[];
  /** Samples per true class, length k (k ≥ 2 only). */
  perClassTotal?: number[];
}

/** One evaluation of a run (see `TrainOptions.evaluation`). */
export interface EpochEvaluation {
  /** Epochs completed at the evaluated iterate (step / steps per epoch; fractional at an early stop). */
  epoch: number;
  /** Optimizer steps taken at the evaluated iterate. */
  step: number;
  /** The training split. */
  train: SplitMetrics;
  /** The held-out split, when one was given. */
  test?: SplitMetrics;
}

/** Default rows per `predict` call of {@link evaluateSplit}. */
export const EVAL_CHUNK_ROWS = 4096;

/**
 * Scores the trainer's current iterate on a split: `trainer.predict` on chunks of `chunkRows`
 * rows (so the engine never holds the split's activations at once; the model is the trainer's
 * own parameter tensors), then the loss in float64 (`loss64`, the regime's loss: a mean loss is
 * the mean over the split, a sum loss the sum) and, for k ≥ 2 outputs, `classificationMetrics`
 * against the arg-max of the targets (`labelsFromTargets`).
 *
 * @param trainer - any trainer (tfjs or ONNX)
 * @param loss - the loss to report
 * @param data - the split: X [n, d], Y [n, k]; or X empty and `rows`, whose evaluation rows
 *   (`rows(indices)`, no batch) are read chunk by chunk
 * @param k - output dimension
 * @param chunkRows - rows per predict call (default {@link EVAL_CHUNK_ROWS})
 */
export async function evaluateSplit(
  trainer: Trainer,
  loss: LossName,
  data: { X: Float32Array; Y: Float32Array; n: number; rows?: RowSource },
  k: number,
  chunkRows = EVAL_CHUNK_ROWS,
): Promise<SplitMetrics> {
  if (!Number.isInteger(chunkRows) || chunkRows < 1)
    throw new RangeError(`evaluateSplit: chunkRows must be an integer ≥ 1, got ${chunkRows}`);
  const { n } = data;
  const source = data.rows;
  const d = source ? source.d : data.X.length / n;
  const pred = new Float32Array(n * k);
  for (let r = 0; r < n; r += chunkRows) {
    const rows = Math.min(chunkRows, n - r);
    const X = source
      ? await readRows(source, rowRange(r, rows), undefined, 'evaluateSplit: data.rows')
      : data.X.slice(r * d, (r + rows) * d);
    pred.set(await trainer.predict(X, rows), r * k);
  }
  // a non-finite prediction makes the loss non-finite (loss64 is exact arithmetic on it)
  const out: SplitMetrics = { n, loss: loss64(loss, pred, data.Y, k).value };
  if (k >= 2) {
    const m = classificationMetrics(pred, labelsFromTargets(data.Y, k), k);
    out.accuracy = m.accuracy;
    out.correct = m.correct;
    out.perClassCorrect = Array.from(m.perClassCorrect);
    out.perClassTotal = Array.from(m.perClassTotal);
  }
  return out;
}
