import { prepareMnist } from '../../image-data.js';
import type { Experiment } from '../../sweep/experiment.js';
import { writeSongReport } from './report.js';
import { SONG_OPTIONS, SONG_SCALES, type SongSettings, validateSongSettings } from './settings.js';
import { type SongKey, type SongRecord, baseSongRecord, songRuns, trainSong } from './train.js';

/**
 * Song et al. 2021 Fig. 1 / App. G: teacher–student on MNIST, two-layer GeLU students with
 * W ~ N(0, ω₁²), V ~ N(0, ω₂²) at He's ω₁ω₂, over an ω₂ grid × seeds; one run = one (ω₂, seed).
 */
export const songRatio: Experiment<SongSettings, SongKey, SongRecord> = {
  name: 'song-ratio',
  title: 'Song et al. 2021 Fig. 1: test error falls as ω₂/ω₁ grows; He sits at the edge of the good region',
  help: `Reproduces Song et al. 2021 Fig. 1 (App. G): a teacher (two-layer net, cross-entropy, He init)
is trained on MNIST until zero training error and relabels the training and test digits; students
[784, width, 10] with GeLU and mean squared loss start from W ~ N(0, ω₁²), V ~ N(0, ω₂²) with ω₁ω₂
at He's value 2/√(784·width), for every ω₂ of the grid and every seed, and train by SGD. Writes
runs.jsonl, training and test error vs ω₂ with 95% confidence intervals (He marked), the
lazy-training distance and μ_Φ, ν_Φ, β_Φ per run, the claims and report.html.`,
  options: SONG_OPTIONS,
  scales: SONG_SCALES,
  validate: validateSongSettings,
  prepare: prepareMnist,
  expand: songRuns,
  stepsPerCall: (s) => {
    // one engine call per epoch when it is short, else fused in tens
    const per = Math.floor(s.n / s.batchSize);
    return per <= 50 ? per : per % 10 === 0 ? 10 : 1;
  },
  train: (runs, ctx) => trainSong(runs[0]!, ctx),
  failedRecord: (run, s, error, attempts) => ({
    ...baseSongRecord(s, run.key),
    status: 'failed',
    error,
    attempts,
    trainError: null,
    testError: null,
    finalLoss: null,
    curve: [],
    relMoveW: null,
    relMoveV: null,
    lazy: null,
    quantities: null,
    teacher: null,
    data: '',
    wallMs: 0,
    engine: { engine: 'none', backend: 'none', device: 'none' },
    finishedAt: new Date().toISOString(),
  }),
  report: writeSongReport,
};
