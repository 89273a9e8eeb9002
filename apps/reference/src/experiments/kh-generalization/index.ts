import { prepareMnist } from '../../image-data.js';
import type { Experiment } from '../../sweep/experiment.js';
import { writeKhReport } from './report.js';
import { KH_OPTIONS, KH_SCALES, type KhLabels, type KhSettings, validateKhSettings } from './settings.js';
import { type KhRecord, baseKhRecord, khRuns, trainKh } from './train.js';

/**
 * Kawaguchi & Huang 2019 Fig. 2: the trainable net of Theorem 1's proof (softplus, H = 2,
 * m_1 = 16 log(H n²/δ), m_H = 4n, last layer trained by GD with step 1/(c_z ζ)) on MNIST with
 * natural and with random labels; one run per label kind.
 */
export const khGeneralization: Experiment<KhSettings, KhLabels, KhRecord> = {
  name: 'kh-generalization',
  title:
    'Kawaguchi & Huang 2019 Fig. 2: natural labels generalize, random do not; the weight norm tells them apart',
  help: `Reproduces Kawaguchi & Huang 2019 Fig. 2: the net of Theorem 1's proof (softplus, H = 2,
m_1 = 16 log(H n²/δ), m_H = 4n, 1/√m-scaled with biases, Gaussian init) with only its last layer
trained by gradient descent with step 1/(c_z ζ), on MNIST with natural and with random labels.
The fixed hidden layers' features are computed once (chunked, on the engine). Writes runs.jsonl,
the four panels (training / test accuracy, generalization gap, weight norm), Theorem 1's side
conditions at the chosen n and report.html.`,
  options: KH_OPTIONS,
  scales: KH_SCALES,
  validate: validateKhSettings,
  prepare: prepareMnist,
  expand: khRuns,
  // full-batch GD steps fused into one engine call between evaluations
  stepsPerCall: (s) => (s.evalEvery % 50 === 0 ? 50 : s.evalEvery % 10 === 0 ? 10 : 1),
  train: (runs, ctx) => trainKh(runs[0]!, ctx),
  failedRecord: (run, s, error, attempts) => ({
    ...baseKhRecord(s, run.key),
    status: 'failed',
    error,
    attempts,
    conditions: null,
    curve: [],
    finalLoss: null,
    lastLayer: s.lastLayer,
    featureSeconds: 0,
    featureBytes: 0,
    trainSeconds: 0,
    steps: 0,
    data: '',
    wallMs: 0,
    engine: { engine: 'none', backend: 'none', device: 'none' },
    finishedAt: new Date().toISOString(),
  }),
  report: writeKhReport,
};
