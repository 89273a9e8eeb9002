import type { Engine } from '@narrownet/engine';
import type { GridTrainer, TrainerConfig, TrainerFactory } from '@narrownet/regime';
import type { OptionDef } from '../options.js';

/** The scales every experiment has: `smoke` (seconds, for tests), `default` (≈ 10 min on 2 cores), `paper`. */
export const SCALE_NAMES = ['smoke', 'default', 'paper'] as const;
/** One of {@link SCALE_NAMES}. */
export type ScaleName = (typeof SCALE_NAMES)[number];

/** The `scale` flag every experiment has: the preset its other settings override. */
export const SCALE_OPTION: OptionDef = {
  key: 'scale',
  kind: 'string',
  values: SCALE_NAMES,
  help: 'preset of all settings below',
  defaultText: 'default',
};

/** One run of a sweep, as the experiment expands its settings. */
export interface RunPlan<K = unknown> {
  /** Stable id derived from the run's settings (the resume and result key). */
  id: string;
  /** The run's own settings (e.g. regime, width, radius, step sizes). */
  key: K;
  /** Relative cost (progress and ETA weights). */
  cost: number;
}

/** What every stored record has, whatever the experiment. */
export interface SweepRecord {
  id: string;
  /** `failed`: training threw on every attempt (see `error`). */
  status: 'converged' | 'budget' | 'diverged' | 'failed';
  wallMs: number;
  engine: { engine: string; backend: string; device: string; version?: string };
  finishedAt: string;
  /** Message of the last error of a failed run. */
  error?: string;
  /** Attempts it took (absent = 1). */
  attempts?: number;
  /** `host:pid` of the process that trained it. */
  worker?: string;
}

/** How runs execute: the started engine (one trainer per run, and optionally a fused batch trainer). */
export interface ExecEngine {
  /** One line naming engine, backend, device, version. */
  label: string;
  /** Trainer of one run. */
  createTrainer: TrainerFactory;
  /** A fused trainer of many configurations of one architecture (onnxruntime grid mode). */
  grid?: (configs: TrainerConfig[]) => Promise<GridTrainer>;
  /** The started engine itself, for forward passes outside training (evaluation, features). */
  runtime?: Engine;
}

/**
 * A unit's checkpoint in the store: a local directory holding its files (restored from the store
 * when the store keeps them elsewhere) and `commit`, which makes the files written there the
 * unit's checkpoint in the store.
 */
export interface CheckpointSlot {
  dir: string;
  commit(): Promise<void>;
}

/** What a unit of work (one run, or a batch of runs sharing one trainer) gets to train. */
export interface UnitContext<S, R extends SweepRecord> {
  settings: S;
  engine: ExecEngine;
  /** Whether the unit is a batch on the engine's fused trainer. */
  batched: boolean;
  /** Records stored when the unit started (and, in one process, those stored since). */
  records: readonly R[];
  /** The unit's checkpoint slot, or undefined when the settings ask for no checkpoints. */
  checkpoint: CheckpointSlot | undefined;
  /** Reports finished work in units of {@link RunPlan.cost} × fraction done. */
  progress(units: number, note: string): void;
  signal?: AbortSignal;
  /** Called after each committed checkpoint with its directory and step. */
  onCheckpoint?: (dir: string, step: number) => void;
}

/** What a report gets besides the records. */
export interface ReportInfo<S> {
  settings: S;
  /** Engines that trained the stored runs (one label per session that recorded runs). */
  engine: string;
  wallSeconds: number;
  command: string;
  complete: boolean;
  totalRuns: number;
}

/**
 * An experiment as data: settings schema and scales, the runs it expands to, how a unit of runs
 * trains, and how records become figures, tables and claim verdicts. The sweep engine
 * (`sweep/engine.ts`) schedules, batches, checkpoints, resumes, stores and reports the same way
 * for every experiment.
 */
export interface Experiment<S extends object = object, K = unknown, R extends SweepRecord = SweepRecord> {
  /** Name on the command line (`narrownet run <name>`). */
  name: string;
  /** One line for `narrownet list`. */
  title: string;
  /** Longer help of `narrownet run <name> --help`. */
  help: string;
  /** Flags / config fields of the settings (camelCase keys = settings fields). */
  options: OptionDef[];
  scales: Record<ScaleName, S>;
  /** Checks cross-field constraints; throws a UsageError naming the field. */
  validate(settings: S): S;
  /**
   * Makes sure what training needs is on this machine before any run starts or anything is written
   * (e.g. data files, downloaded when the settings ask for it); throws a UsageError naming the flag
   * and what is missing. Kept apart from `validate`, so that a scale stays valid on a machine
   * without its data. Absent = nothing to do.
   */
  prepare?(settings: S, log: (line: string) => void): void | Promise<void>;
  /** Every run of the sweep, in the order they run. */
  expand(settings: S): RunPlan<K>[];
  /** Splits runs into batches that share one fused trainer (grid mode); absent = no batching. */
  batches?(settings: S, runs: RunPlan<K>[]): RunPlan<K>[][];
  /** Optimizer steps fused into one engine call (default 1; a divisor of the evaluation interval). */
  stepsPerCall?(settings: S): number;
  /** Trains one unit (a batch or one run) and returns one record per run, in order; undefined when aborted. */
  train(runs: RunPlan<K>[], ctx: UnitContext<S, R>): Promise<R[] | undefined>;
  /** The record of a run whose training threw on every attempt. */
  failedRecord(run: RunPlan<K>, settings: S, error: string, attempts: number): R;
  /** Writes figures, tables and report.html into `dir`; returns lines for the console (claim verdicts). */
  report(dir: string, records: readonly R[], info: ReportInfo<S>): Promise<string[]>;
}

/** An experiment of any settings type (what the registry holds). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds experiments of different settings types
export type AnyExperiment = Experiment<any, any, any>;
