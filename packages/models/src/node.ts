/**
 * @narrownet/models/node — the file I/O of @narrownet/models (checkpoints on disk), for Node.
 * The package index re-exports it; this subpath exists for bundles resolved with the `browser`
 * condition that still run in Node (Electron, SSR).
 * @packageDocumentation
 */
export {
  type Checkpoint,
  type CheckpointPaths,
  type LoadedCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
