/**
 * @narrownet/datasets — the synthetic sets of the narrow-network papers, real-data loaders and
 * small composable transforms. Every dataset is a plain {@link Dataset}: row-major Float32Array
 * X [n, d] and Y [n, k].
 * @packageDocumentation
 */
export * from './browser.js';
export * from './node.js';
