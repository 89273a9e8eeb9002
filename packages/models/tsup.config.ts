import { defineConfig } from 'tsup';
import { tsupPreset } from '../../tooling/tsup.preset.mjs';

export default defineConfig(tsupPreset({ entry: ['src/index.ts', 'src/browser.ts', 'src/node.ts'] }));
