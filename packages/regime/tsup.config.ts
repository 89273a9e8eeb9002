import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup.preset.mjs';

// tfjs-core's Node bundle (dist/tf-core.node.js) registers no gradients, and its ESM gradient
// files use extension-less imports that Node cannot load: bundle them into dist. They run on the
// one global tfjs engine and gradient registry, whatever copy of tfjs-core registers them.
export default defineConfig(
  tsupPreset({
    entry: ['src/index.ts', 'src/browser.ts', 'src/node.ts'],
    noExternal: [/tfjs-core\/dist\/register_all_gradients/],
  }),
);
