import { defineConfig } from 'vitest/config';
import { vitestPreset } from '../../tooling/vitest.preset.mjs';

export default defineConfig(vitestPreset());
