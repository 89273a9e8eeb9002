/**
 * The trailing updates of the pivoted Cholesky factor of the scaled Kawaguchi route as independent
 * tasks (internal): after each pivot block [t0, t1) the calling thread packs the block's rows
 * ({@link packPanel}) and task s is strip s of the update ({@link syrkStrip}: 64 rows of the
 * trailing matrix, one matrix-kernel call). The strips are those of the single-thread update, each
 * reads only the packed panel and writes only its own rows, so the factor is the same bit for bit
 * whichever thread runs which strip.
 */
import { syrkStrip } from './blocked.js';

/** Everything a factor task reads and writes (plain data: it is posted to the worker threads once). */
export interface FactorContext {
  /** The n×n matrix being factored in place (row-major, upper storage). */
  G: Float64Array;
  n: number;
  /** The packed panel of the current pivot block ((n − t1)·(t1 − t0) entries used). */
  pos: Float64Array;
  /** [t0, t1] of the current pivot block (set by the calling thread before each update). */
  panel: Int32Array;
}

/** Runs task s: strip s of the trailing update after the current pivot block. */
export function factorTask(ctx: FactorContext, s: number): void {
  syrkStrip(ctx.G, ctx.n, ctx.panel[0]!, ctx.panel[1]!, ctx.pos, s);
}
