import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup.preset.mjs';

// dist/worker.js is the worker-thread entry of the scaled Kawaguchi route (src/parallel.ts finds it
// next to the bundle that starts it); only the index has type declarations.
export default defineConfig(
  tsupPreset({ entry: ['src/index.ts', 'src/worker.ts'], dts: { entry: 'src/index.ts' } }),
);
