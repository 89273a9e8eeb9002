/**
 * @narrownet/engine — the one place that starts compute and picks a device: onnxruntime-node
 * for the training hot path, tfjs for the general path. Browser bundles get `./browser.ts`
 * (onnxruntime-web, tfjs's browser backends) through the `browser` export condition.
 * @packageDocumentation
 */
export * from './browser.js';
export * from './node.js';
// Both entries export the starters; the explicit export picks the Node ones (ES module semantics).
export { startOnnx, startTfjs } from './node.js';
