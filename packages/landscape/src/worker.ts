/**
 * Worker-thread entry of {@link openPool} (./parallel.ts), built to dist/worker.js: runs the rounds
 * of the job it was started with until the pool is closed, and records how many tasks it ran. It
 * uses the matrix kernel of the calling thread; where that kernel cannot run here it fails the job
 * (the caller throws) rather than sum in another order.
 */
import { workerData } from 'node:worker_threads';
import { gemmKernel, useGemmKernel } from './gemm.js';
import { type Job, failJob, workerLoop } from './parallel.js';

const { job, ctl, ranBy, slot } = workerData as {
  job: Job;
  ctl: Int32Array;
  ranBy: Int32Array;
  slot: number;
};
try {
  if (job.kernel === 'js') useGemmKernel('js');
  if (gemmKernel() !== job.kernel) throw new Error(`kernel ${gemmKernel()} instead of ${job.kernel}`);
  workerLoop(job, ctl, ranBy, slot);
} catch {
  failJob(ctl);
}
