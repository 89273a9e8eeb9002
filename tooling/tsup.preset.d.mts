import type { Options } from 'tsup';
/** Shared tsup options (ESM + CJS + .d.ts from src/index.ts), merged with `overrides`. */
export declare function tsupPreset(overrides?: Partial<Options>): Options;
