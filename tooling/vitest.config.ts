import { defineConfig } from 'vitest/config';
import { vitestPreset } from './vitest.preset.mjs';

export default defineConfig(vitestPreset());
