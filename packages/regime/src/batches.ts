import { createRng } from '@narrownet/models';
import { stepsPerEpoch } from '@narrownet/optim';

/** The seeded permutation of epoch `epoch`: Fisher–Yates with `createRng(seed).fork('epoch<e>')`. */
function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = createRng(seed).fork(`epoch${epoch}`);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}

function checkOrder(n: number, batchSize: number, step: number, where: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${where}: n must be an integer ≥ 1, got ${n}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n)
    throw new RangeError(`${where}: batchSize must be an integer in [1, n = ${n}], got ${batchSize}`);
  if (!Number.isInteger(step) || step < 0)
    throw new RangeError(`${where}: step must be an integer ≥ 0, got ${step}`);
}

/**
 * Indices of the mini-batch taken at optimizer step `step` (0-based): the samples are visited
 * epoch by epoch in the order of a seeded permutation per epoch (`createRng(seed).fork(epoch)`,
 * Fisher–Yates), in consecutive batches of `batchSize`; a last partial batch is dropped, so an
 * epoch is `stepsPerEpoch(n, batchSize)` = ⌊n/b⌋ steps. The order depends only on (seed, step),
 * so a resumed run sees the same batches. This is the definition (O(n) per call); trainers use
 * {@link createBatchOrder}, which gives the same indices with one permutation per epoch.
 */
export function batchIndices(n: number, batchSize: number, seed: number, step: number): Int32Array {
  checkOrder(n, batchSize, step, 'batchIndices');
  const perEpoch = stepsPerEpoch(n, batchSize);
  const b = step % perEpoch;
  return epochPermutation(n, seed, Math.floor(step / perEpoch)).slice(b * batchSize, (b + 1) * batchSize);
}

/** The mini-batch order of a trainer (see {@link createBatchOrder}). */
export interface BatchOrder {
  /** Optimizer steps per epoch, ⌊n / batchSize⌋. */
  readonly stepsPerEpoch: number;
  /**
   * The rows of step `step` — equal to `batchIndices(n, batchSize, seed, step)` — as a view into
   * the cached permutation of its epoch (valid until the next call for another epoch; copy to keep).
   */
  indices(step: number): Int32Array;
}

/**
 * The order of {@link batchIndices} with the permutation of the current epoch cached: one O(n)
 * shuffle per epoch instead of per step, and O(b) per step after that. Any step may be asked for
 * in any order (a resume mid-epoch recomputes that epoch's permutation from (seed, epoch)).
 */
export function createBatchOrder(n: number, batchSize: number, seed: number): BatchOrder {
  checkOrder(n, batchSize, 0, 'createBatchOrder');
  const perEpoch = stepsPerEpoch(n, batchSize);
  let epoch = -1;
  let perm: Int32Array = new Int32Array(0);
  return {
    stepsPerEpoch: perEpoch,
    indices(step: number): Int32Array {
      if (!Number.isInteger(step) || step < 0)
        throw new RangeError(`BatchOrder.indices: step must be an integer ≥ 0, got ${step}`);
      const e = Math.floor(step / perEpoch);
      if (e !== epoch) {
        perm = epochPermutation(n, seed, e);
        epoch = e;
      }
      const b = step % perEpoch;
      return perm.subarray(b * batchSize, (b + 1) * batchSize);
    },
  };
}
