import type { UserConfig } from 'vitest/config';
/** Shared vitest config; `overrides` are merged into its `test` options. */
export declare function vitestPreset(overrides?: Record<string, unknown>): UserConfig;
