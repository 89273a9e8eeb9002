/**
 * @narrownet/models — architectures as data, parameter trees, pure forward functions,
 * activations, losses, ONNX graphs with analytic gradients, and checkpoints. Browser bundles get
 * `./browser.ts` (the same minus file I/O) through the `browser` export condition.
 * @packageDocumentation
 */
export * from './browser.js';
export * from './node.js';
