/**
 * @narrownet/regime/node — the training loop with checkpoint files, for Node. The package index
 * re-exports it (its `train` writes and resumes checkpoints; the browser build's refuses to).
 * @packageDocumentation
 */
export { train, saveTrainCheckpoint, loadTrainCheckpoint } from './train-node.js';
