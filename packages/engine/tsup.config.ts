import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup.preset.mjs';

// tfjs-core ships its gradient functions only as extensionless ESM (dist/register_all_gradients.js),
// which plain Node cannot import. Bundling that module into the engine's dist makes tf.grads work in
// Node: the gradients register into tfjs's global registry and run on the global engine.
export default defineConfig(tsupPreset({ noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients/] }));
