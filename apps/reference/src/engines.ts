import { type Engine, engineInfo, startEngine } from '@narrownet/engine';
import {
  type GridTrainer,
  type TrainerConfig,
  type TrainerFactory,
  createOnnxGridTrainer,
  createOnnxTrainer,
  createTfjsTrainer,
} from '@narrownet/regime';

/** A started engine with a trainer factory on it. */
export interface TrainerEngine {
  engine: Engine;
  /** e.g. `onnx cpu (onnxruntime-node 1.30.0)`. */
  label: string;
  info: ReturnType<typeof engineInfo>;
  /** Makes a trainer for a config; `stepsPerCall` fuses that many ONNX steps into one call. */
  factory(stepsPerCall?: number): TrainerFactory;
  /**
   * On onnxruntime: trains many configurations of one architecture together in one fused graph
   * (`createOnnxGridTrainer`); undefined on tfjs.
   */
  grid?: (configs: TrainerConfig[], stepsPerCall?: number) => Promise<GridTrainer>;
}

/** Starts the engine the flags ask for and wraps its trainer. */
export async function startTrainerEngine(opts: {
  engine: 'onnx' | 'tfjs' | 'auto';
  device: 'cpu' | 'gpu' | 'auto';
  threads: number;
}): Promise<TrainerEngine> {
  const engine = await startEngine({ engine: opts.engine, device: opts.device, threads: opts.threads });
  const info = engineInfo(engine);
  const label = `${info.engine} ${info.backend} on ${info.device} (${info.engine === 'onnx' ? 'onnxruntime-node' : 'tfjs'} ${info.version})`;
  return {
    engine,
    label,
    info,
    factory(stepsPerCall = 1): TrainerFactory {
      if (engine.kind === 'onnx') return (c) => createOnnxTrainer(engine, c, { stepsPerCall });
      return (c) => createTfjsTrainer(engine.tf, c);
    },
    ...(engine.kind === 'onnx'
      ? { grid: (configs, stepsPerCall = 1) => createOnnxGridTrainer(engine, configs, { stepsPerCall }) }
      : {}),
  };
}
