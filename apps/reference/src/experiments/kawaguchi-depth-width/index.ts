import type { Experiment } from '../../sweep/experiment.js';
import { prepareKawaguchiData } from './data.js';
import { writeKawaguchiReport } from './report.js';
import {
  KAWAGUCHI_OPTIONS,
  KAWAGUCHI_SCALES,
  type KawaguchiSweepSettings,
  validateKawaguchiSettings,
} from './settings.js';
import {
  type KawaguchiKey,
  type KawaguchiRecord,
  baseKawaguchiRecord,
  kawaguchiRuns,
  trainKawaguchiCell,
} from './train.js';

/**
 * Kawaguchi, Huang & Kaelbling 2019 Fig. 1: √J(θ) at init and after training over depth × width,
 * on the teacher set of App. C and on MNIST at 8 × 8; one run = one (data set, depth, width) cell.
 */
export const kawaguchiDepthWidthExperiment: Experiment<
  KawaguchiSweepSettings,
  KawaguchiKey,
  KawaguchiRecord
> = {
  name: 'kawaguchi-depth-width',
  title:
    'Kawaguchi et al. 2019 Fig. 1: √J(θ) falls with depth and width (synthetic teacher, MNIST 8×8; CIFAR-10, SVHN from files)',
  help: `Reproduces Kawaguchi, Huang & Kaelbling 2019 Fig. 1: for every data set × depth × width cell a
bias-free ReLU MLP is evaluated (√J by Theorem 1's projection, √L) at init, trained with SGD with
momentum, and evaluated again. Writes runs.jsonl, two heat maps per data set and report.html.
CIFAR-10 and SVHN (--datasets cifar10,svhn) are read from --data-dir, or downloaded there
with MD5 checks by --fetch.`,
  options: KAWAGUCHI_OPTIONS,
  scales: KAWAGUCHI_SCALES,
  validate: validateKawaguchiSettings,
  prepare: prepareKawaguchiData,
  expand: kawaguchiRuns,
  train: (runs, ctx) => trainKawaguchiCell(runs[0]!, ctx),
  failedRecord: (run, s, error, attempts) => ({
    ...baseKawaguchiRecord(s, run.key),
    status: 'failed',
    error,
    attempts,
    params: 0,
    sqrtJInit: null,
    sqrtJTrained: null,
    sqrtLInit: null,
    sqrtLTrained: null,
    jInit: null,
    jTrained: null,
    wallMs: 0,
    engine: { engine: 'none', backend: 'none', device: 'none' },
    finishedAt: new Date().toISOString(),
  }),
  report: writeKawaguchiReport,
};
