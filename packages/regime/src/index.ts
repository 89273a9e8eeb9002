/**
 * @narrownet/regime — the training loop and the papers' regimes as composable presets. Browser
 * bundles get `./browser.ts` (the same, with a `train` that writes no checkpoint files) through
 * the `browser` export condition.
 * @packageDocumentation
 */
export * from './browser.js';
// An explicit export shadows the browser entry's `train` of the same name (ES module semantics).
export { train, saveTrainCheckpoint, loadTrainCheckpoint } from './node.js';
