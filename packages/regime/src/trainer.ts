import type { ParamTree } from '@narrownet/models';

/** Where a trainer runs. */
export interface TrainerInfo {
  /** `onnx` (fused step graph) or `tfjs` (autodiff reference / general path). */
  engine: 'onnx' | 'tfjs';
  /** onnxruntime execution provider or tfjs backend. */
  backend: string;
  device: 'cpu' | 'gpu';
}

/** Everything needed to resume a run exactly: parameters, optimizer slots, anchors, step. */
export interface TrainerState {
  /** Number of optimizer steps taken. */
  step: number;
  params: ParamTree;
  /** Optimizer slots (momentum buffers, Adam moments), keyed `<slot>.<param>`. */
  slots: ParamTree;
  /** Projection anchors θ0 (Frobenius balls), keyed by parameter name. */
  anchors: ParamTree;
  /**
   * Batch-norm running statistics of a conv net (`<bn>.running_mean`, `<bn>.running_var`), which
   * train-mode steps update and eval-mode predictions read; absent for nets without batch norm.
   */
  buffers?: ParamTree;
}

/**
 * A training engine for one configuration: owns parameters, optimizer state and data on its
 * device and advances them by full-batch (or mini-batch) steps. Implemented by the tfjs
 * reference trainer and the fused ONNX trainer; both give the same iterates to float32 tolerance.
 */
export interface Trainer {
  readonly info: TrainerInfo;
  /**
   * Runs `steps` optimizer steps (forward, gradient, update, projection each) and resolves to
   * the training loss at the iterate reached (evaluated on the trainer's loss).
   */
  run(steps: number): Promise<number>;
  /** Loss and per-parameter gradient at the current iterate (no step taken). */
  evaluate(): Promise<{ loss: number; grads: ParamTree }>;
  /**
   * The model's outputs [rows, outputDim] (row-major) on inputs X [rows, inputDim] at the current
   * iterate, read from the trainer's own parameter tensors (no second copy of the model on the
   * engine). Any number of rows; callers chunk large splits (see `evaluateSplit`).
   */
  predict(X: Float32Array, rows: number): Promise<Float32Array>;
  /** A copy of the current state (for metrics, checkpoints, resume). */
  state(): Promise<TrainerState>;
  /** Replaces the current state (resume). */
  setState(state: TrainerState): Promise<void>;
  /** Releases engine resources. */
  dispose(): Promise<void>;
}

/** Which optimizer step a training batch is for: {@link RowSource.rows}' second argument. */
export interface BatchContext {
  /** Seed of the run (of its batch order). */
  readonly seed: number;
  /** Epoch of the step: ⌊step / steps per epoch⌋. */
  readonly epoch: number;
  /** The optimizer step (0-based, counted over the whole run). */
  readonly step: number;
}

/**
 * The input rows of a training set that is not held as one float array (e.g. 8-bit images
 * cropped and standardised per batch): the trainer asks for the rows each step needs.
 */
export interface RowSource {
  /** Number of rows (= the data's n). */
  readonly n: number;
  /** Entries per row (= the model's input dimension). */
  readonly d: number;
  /**
   * Rows `indices` (each in 0..n−1, repeats allowed) as a new float32 [indices.length, d] array.
   * With `batch`: the training batch of that optimizer step, which may be augmented but must be a
   * pure function of (indices, batch) so that a resumed run sees the same batches. Without: the
   * evaluation rows (no randomness; what the training loss of `run(0)` and accuracies are scored on).
   */
  rows(indices: Int32Array, batch?: BatchContext): Float32Array | Promise<Float32Array>;
}

/** What a trainer needs: the model, loss, optimizer, starting point and data. */
export interface TrainerConfig {
  spec: import('@narrownet/models').ModelSpec;
  loss: import('@narrownet/models').LossName;
  /** Optimizer groups (update rule, step size, schedule, projection per group). */
  optimizer: import('@narrownet/optim').OptimizerSpec;
  /** Initial parameters (copied). */
  params: ParamTree;
  /** Anchors θ0 of Frobenius-ball projections; default: the initial parameters. */
  anchors?: ParamTree;
  /**
   * Training data, row-major: X [n, inputDim], Y [n, outputDim] (a conv net's rows are NCHW
   * images). With `rows` (a {@link RowSource}; the ResNet trainer only) the inputs come from it
   * batch by batch and X must be empty (length 0): a set too large to hold as float32.
   */
  data: { X: Float32Array; Y: Float32Array; n: number; rows?: RowSource };
  /** Initial batch-norm running statistics of a conv net; default PyTorch's fresh ones (means 0, variances 1). */
  buffers?: ParamTree;
  /** Mini-batch size; default (and undefined) = full batch. */
  batchSize?: number;
  /** Seed of the mini-batch order. */
  seed?: number;
}
