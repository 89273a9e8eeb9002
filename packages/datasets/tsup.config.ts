import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup.preset.mjs';

// shims: import.meta.url in the CJS build (mnistSample locates the `mnist` package with it).
export default defineConfig(
  tsupPreset({ shims: true, entry: ['src/index.ts', 'src/browser.ts', 'src/node.ts'] }),
);
