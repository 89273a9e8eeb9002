/**
 * @narrownet/regime — the training loop and the papers' regimes as composable presets.
 * @packageDocumentation
 */
export type { Trainer, TrainerConfig, TrainerInfo, TrainerState } from './trainer.js';
