/**
 * Worker-thread entry of {@link runJob} (./parallel.ts), built to dist/worker.js: claims tasks of
 * the job it was started with until none is left, and records how many it ran.
 */
import { workerData } from 'node:worker_threads';
import { useGemmKernel } from './gemm.js';
import { type Job, claimLoop, failJob, signalStarted } from './parallel.js';

const { job, ctl, count, ranBy, slot } = workerData as {
  job: Job;
  ctl: Int32Array;
  count: number;
  ranBy: Int32Array;
  slot: number;
};
try {
  if (job.kernel === 'js') useGemmKernel('js');
  signalStarted(ctl);
  claimLoop(job, ctl, count, ranBy, slot);
} catch {
  failJob(ctl);
}
