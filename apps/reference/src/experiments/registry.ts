import { UsageError } from '../options.js';
import type { AnyExperiment } from '../sweep/experiment.js';
import { kawaguchiDepthWidthExperiment } from './kawaguchi-depth-width/index.js';
import { khGeneralization } from './kh-generalization/index.js';
import { mnistWidthsExperiment } from './mnist-widths/index.js';
import { randomLabelsExperiment } from './random-labels/index.js';
import { resnetWidthsExperiment } from './resnet-widths/index.js';
import { songRatio } from './song-ratio/index.js';
import { synthetic } from './synthetic/index.js';

/** Every experiment of the app: adding one is its folder plus one line here. */
export const EXPERIMENTS: readonly AnyExperiment[] = [
  synthetic,
  kawaguchiDepthWidthExperiment,
  mnistWidthsExperiment,
  randomLabelsExperiment,
  khGeneralization,
  songRatio,
  resnetWidthsExperiment,
];

/** The experiment of that name, or a UsageError listing the available ones. */
export function experimentNamed(name: string): AnyExperiment {
  const exp = EXPERIMENTS.find((e) => e.name === name);
  if (!exp)
    throw new UsageError(
      `unknown experiment "${name}" (available: ${EXPERIMENTS.map((e) => e.name).join(', ')}; see narrownet list)`,
    );
  return exp;
}
