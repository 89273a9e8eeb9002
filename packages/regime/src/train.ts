import { initParams } from '@narrownet/init';
import { jacobianLambdaMin } from '@narrownet/landscape';
import {
  type HostTensor,
  type ParamTree,
  cloneParams,
  createRng,
  inputDim,
  outputDim,
} from '@narrownet/models';
import { kktResidual, stepsPerEpoch } from '@narrownet/optim';
import { checkFiniteData, checkRowSource } from './data.js';
import { EVAL_CHUNK_ROWS, type EpochEvaluation, evaluateSplit } from './evaluate.js';
import { type RegimeSpec, validateRegime } from './regime.js';
import type { RowSource, Trainer, TrainerConfig, TrainerInfo, TrainerState } from './trainer.js';

/**
 * Training data, row-major: X [n, inputDim], Y [n, outputDim]; or, for a set too large to hold
 * as float32, X empty (length 0) and the input rows from `rows` (a {@link RowSource}: the trainer
 * reads each batch from it, and the evaluations read its evaluation rows chunk by chunk).
 */
export interface TrainData {
  X: Float32Array;
  Y: Float32Array;
  n: number;
  rows?: RowSource;
}

/** Makes a trainer for a configuration (e.g. `(c) => createTfjsTrainer(tf, c)`). */
export type TrainerFactory = (config: TrainerConfig) => Promise<Trainer>;

/** Per-group stationarity and constraint status at one evaluation. */
export interface GroupMetrics {
  params: string[];
  /** Projected-gradient mapping norm of the group (see {@link StepMetrics.kktResidual}). */
  residual: number;
  /** Whether the group's iterate lies on the boundary of its constraint set. */
  active: boolean;
  /** For Frobenius balls: ‖θ − θ0‖_F. */
  distance?: number;
}

/** What the loop records every `evalEvery` steps. */
export interface StepMetrics {
  step: number;
  /** Training loss (the regime's loss) at the iterate. */
  loss: number;
  /** ‖θ_p − θ0_p‖_F per parameter (θ0 = initial parameters / projection anchors). */
  distance: Record<string, number>;
  /**
   * KKT residual of the constrained problem: ‖θ − P(θ − η∇ℓ)‖/η over all groups (optim's
   * kktResidual; with no constraints this is ‖∇ℓ‖). NaN (and no `groups`) when the gradient has a
   * non-finite entry.
   */
  kktResidual: number;
  groups: GroupMetrics[];
  /** λ_min(J) of Zhang et al. eq. (3) when asked for at this step (one-hidden-layer nets). */
  lambdaMin?: number;
  /** Wall time since the start of this call of {@link train}, ms. */
  wallMs: number;
}

/**
 * Evaluation of the iterate on the training split and a held-out split at chosen epochs (an
 * epoch is `stepsPerEpoch(n, batchSize)` = ⌊n/b⌋ optimizer steps): loss, and for k ≥ 2 outputs
 * accuracy and per-class counts (see `evaluateSplit`). Read from the trainer's own parameters.
 */
export interface EvaluationOptions {
  /** Held-out split, X [n_test, inputDim], Y [n_test, outputDim]. */
  test?: TrainData;
  /** Epochs after which to evaluate (0 = the initial iterate). */
  atEpochs?: readonly number[];
  /** Also evaluate every this many epochs. */
  everyEpochs?: number;
  /** Also evaluate the final iterate of the run (default true; skipped when aborted). */
  atEnd?: boolean;
  /** Rows per predict call (default 4096). */
  chunkRows?: number;
  /** Called with each evaluation as it is made. */
  onEvaluation?: (e: EpochEvaluation) => void;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Makes the trainer (tfjs or ONNX). */
  createTrainer: TrainerFactory;
  /** Step budget; default the regime's `stopping.maxSteps`. Exclusive with `epochs`. */
  steps?: number;
  /** Budget in epochs: steps = epochs · ⌊n / batchSize⌋ (one step per epoch at full batch). */
  epochs?: number;
  /** Held-out evaluation at chosen epochs (results in `TrainResult.evaluations`). */
  evaluation?: EvaluationOptions;
  /** Record metrics (and test the stopping rules) every this many steps. Default 100. */
  evalEvery?: number;
  /** Stop as converged once the loss is ≤ this; default the regime's `stopping.lossTolerance`. */
  lossTolerance?: number;
  /**
   * Compute λ_min(J) every this many steps (a multiple of `evalEvery` is sensible; 0 = never
   * during the run). Default 0. See also `lambdaMinAtEnd`.
   */
  lambdaMinEvery?: number;
  /** Compute λ_min(J) at the final iterate (one-hidden-layer nets only). Default false. */
  lambdaMinAtEnd?: boolean;
  /**
   * Compute the full-data gradient at each metrics record (KKT residual, active constraints).
   * Default true; false records the loss and distances only (kktResidual NaN, no groups), which
   * saves a full forward + backward pass over the data per record (mini-batch classification).
   */
  stationarity?: boolean;
  /** η of the KKT residual ‖θ − P(θ − η∇ℓ)‖/η. Default 1. */
  kktEta?: number;
  /** Save a checkpoint every this many steps (and at the end) to `checkpointPath`. */
  checkpointEvery?: number;
  /**
   * Checkpoint base path (`<base>.json` + `<base>.safetensors`). Its folder is created (with its
   * parents) before training starts; a path that cannot be created fails then, not after training.
   */
  checkpointPath?: string;
  /** Continue exactly from a checkpoint written by this loop (parameters, slots, anchors, step). */
  resumeFrom?: string;
  /** Seed of the initialization (and of the mini-batch order). Default 0. */
  seed?: number;
  /** Start from these parameters instead of drawing the regime's init. */
  params?: ParamTree;
  /** Mini-batch size; default full batch. */
  batchSize?: number;
  /** Called with each metrics record. */
  onMetrics?: (m: StepMetrics) => void;
  /** Called after every chunk of steps with the step reached and its loss. */
  onStep?: (step: number, loss: number) => void;
  /** Stops the run (status `aborted`) at the next chunk boundary. */
  signal?: AbortSignal;
}

/** Outcome of {@link train}. */
export interface TrainResult {
  /**
   * `converged`: loss ≤ tolerance; `budget`: step budget used up; `diverged`: a non-finite loss
   * (at step `divergedAt`); `aborted`: the signal fired.
   */
  status: 'converged' | 'budget' | 'diverged' | 'aborted';
  /** Steps taken in total (including those before a resume). */
  steps: number;
  /** Loss at the final iterate (non-finite when diverged). */
  finalLoss: number;
  /** First step whose iterate has a non-finite loss. */
  divergedAt?: number;
  /** λ_min(J) at the final iterate, when `lambdaMinAtEnd`. */
  lambdaMin?: number;
  metrics: StepMetrics[];
  /** The evaluations asked for by `options.evaluation`, in order (empty without it). */
  evaluations: EpochEvaluation[];
  /** Final parameters. */
  params: ParamTree;
  wallMs: number;
  engine: TrainerInfo;
}

function frob(a: HostTensor, b: HostTensor | undefined): number {
  if (!b) return 0;
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i]! - b.data[i]!) ** 2;
  return Math.sqrt(s);
}

function positiveInt(v: number | undefined, name: string, allowZero = false): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1))
    throw new RangeError(`train: ${name} must be an integer ≥ ${allowZero ? 0 : 1}, got ${v}`);
}

/** The steps at which `evaluation` asks for an evaluation (before the end), sorted; checks the options. */
function evaluationSteps(ev: EvaluationOptions | undefined, perEpoch: number, budget: number): number[] {
  if (ev === undefined) return [];
  if (ev === null || typeof ev !== 'object') throw new TypeError('train: evaluation must be an object');
  positiveInt(ev.everyEpochs, 'evaluation.everyEpochs');
  positiveInt(ev.chunkRows, 'evaluation.chunkRows');
  const steps = new Set<number>();
  if (ev.atEpochs !== undefined) {
    if (!Array.isArray(ev.atEpochs))
      throw new TypeError('train: evaluation.atEpochs must be an array of epochs');
    ev.atEpochs.forEach((e, i) => {
      positiveInt(e, `evaluation.atEpochs[${i}]`, true);
      if (e * perEpoch <= budget) steps.add(e * perEpoch);
    });
  }
  if (ev.everyEpochs !== undefined)
    for (let e = ev.everyEpochs; e * perEpoch <= budget; e += ev.everyEpochs) steps.add(e * perEpoch);
  return [...steps].sort((a, b) => a - b);
}

/** Shapes and finiteness of the training data against the regime's model (errors name the array). */
function checkTrainData(regime: RegimeSpec, data: TrainData, what = 'data'): void {
  if (data === null || typeof data !== 'object') throw new TypeError(`train: ${what} must be { X, Y, n }`);
  const cols = { X: inputDim(regime.model), Y: outputDim(regime.model) };
  if (!Number.isInteger(data.n) || data.n <= 0)
    throw new RangeError(`train: ${what}.n must be a positive integer, got ${data.n}`);
  if (data.rows !== undefined) checkRowSource({ ...data, rows: data.rows }, cols.X, 'train', what);
  for (const name of data.rows !== undefined ? (['Y'] as const) : (['X', 'Y'] as const))
    if (!(data[name] instanceof Float32Array) || data[name].length !== data.n * cols[name])
      throw new RangeError(
        `train: ${what}.${name} must be a Float32Array of n·${cols[name]} = ${data.n * cols[name]} entries, got ${data[name]?.length}`,
      );
  checkFiniteData(data, cols, what === 'data' ? 'train' : `train: ${what}`);
}

/** Reads and writes the checkpoints of {@link trainLoop} (Node: `train-node.ts`; none in browsers). */
export interface TrainCheckpointIO {
  save(path: string, regime: RegimeSpec, state: TrainerState, seed: number): void;
  load(path: string): { state: TrainerState; regime: RegimeSpec; seed: number };
  /** Makes the checkpoint folder before training, so an unwritable path fails before the first step. */
  prepare(path: string): void;
}

/** The loop behind both builds' `train`; `io` undefined refuses the checkpoint options. */
export async function trainLoop(
  regime: RegimeSpec,
  data: TrainData,
  options: TrainOptions,
  io: TrainCheckpointIO | undefined,
): Promise<TrainResult> {
  validateRegime(regime);
  if (!io && (options.checkpointPath || options.resumeFrom))
    throw new RangeError(
      'train: checkpointPath and resumeFrom need file I/O, which the browser build of @narrownet/regime lacks; keep the state with trainer.state() instead',
    );
  checkTrainData(regime, data);
  const t0 = performance.now();
  positiveInt(options.batchSize, 'batchSize');
  if (options.batchSize !== undefined && options.batchSize > data.n)
    throw new RangeError(`train: batchSize must be at most n = ${data.n}, got ${options.batchSize}`);
  const perEpoch = stepsPerEpoch(data.n, options.batchSize);
  if (options.steps !== undefined && options.epochs !== undefined)
    throw new RangeError('train: give steps or epochs, not both');
  positiveInt(options.epochs, 'epochs', true);
  const budget =
    options.epochs !== undefined ? options.epochs * perEpoch : (options.steps ?? regime.stopping.maxSteps);
  const evalSteps = evaluationSteps(options.evaluation, perEpoch, budget);
  if (options.evaluation?.test) checkTrainData(regime, options.evaluation.test, 'evaluation.test');
  const evalEvery = options.evalEvery ?? 100;
  const tol = options.lossTolerance ?? regime.stopping.lossTolerance ?? 0;
  positiveInt(budget, 'steps', true);
  positiveInt(evalEvery, 'evalEvery');
  positiveInt(options.lambdaMinEvery, 'lambdaMinEvery', true);
  positiveInt(options.checkpointEvery, 'checkpointEvery', true);
  if (options.checkpointEvery && !options.checkpointPath)
    throw new RangeError('train: checkpointEvery needs checkpointPath');
  // The checkpoint folder is made now, so that an unwritable path fails before training, not after.
  if (options.checkpointPath) io!.prepare(options.checkpointPath);
  if (regime.model.kind === 'resnet' && options.stationarity !== false)
    throw new RangeError(
      "train: options.stationarity must be false for a ResNet (regime.model.kind 'resnet'): batch norm couples the samples of a batch, so the trainer has no full-data gradient for the KKT residual",
    );
  const eta = options.kktEta ?? 1;
  let seed = options.seed ?? 0;
  let resumed: TrainerState | undefined;
  if (options.resumeFrom) {
    const ck = io!.load(options.resumeFrom);
    if (JSON.stringify(ck.regime.model) !== JSON.stringify(regime.model))
      throw new RangeError(`train: checkpoint ${options.resumeFrom} holds a different model than the regime`);
    resumed = ck.state;
    seed = ck.seed;
  }
  const params0 = options.params ?? initParams(regime.model, regime.init, createRng(seed));
  const anchors = resumed ? resumed.anchors : cloneParams(params0);
  const trainer = await options.createTrainer({
    spec: regime.model,
    loss: regime.loss,
    optimizer: regime.optimizer,
    params: resumed ? resumed.params : params0,
    anchors,
    data,
    batchSize: options.batchSize,
    seed,
  });
  const oneHidden = regime.model.kind === 'shallow' || regime.model.kind === 'paired';
  const lambdaMin = (p: ParamTree) => jacobianLambdaMin(regime.model, p, data.X, data.n);
  const metrics: StepMetrics[] = [];
  try {
    if (resumed) await trainer.setState(resumed);
    let step = resumed?.step ?? 0;

    const record = async (state: TrainerState): Promise<StepMetrics> => {
      // without stationarity: the loss only (run(0) evaluates it without stepping)
      const { loss, grads } =
        options.stationarity === false
          ? { loss: await trainer.run(0), grads: undefined }
          : await trainer.evaluate();
      // a finite iterate can have a non-finite gradient (the run then diverges on the next step)
      const finiteGrads =
        grads !== undefined && Object.values(grads).every((g) => g.data.every(Number.isFinite));
      const kkt = finiteGrads
        ? kktResidual(regime.optimizer, state.params, grads, state.anchors, eta)
        : { residual: Number.NaN, groups: [] };
      const distance: Record<string, number> = {};
      for (const [k, p] of Object.entries(state.params)) distance[k] = frob(p, state.anchors[k]);
      const m: StepMetrics = {
        step: state.step,
        loss,
        distance,
        kktResidual: kkt.residual,
        groups: kkt.groups.map((g) => ({
          params: [...g.params],
          residual: g.residual,
          active: g.active,
          ...(g.distance !== undefined ? { distance: g.distance } : {}),
        })),
        wallMs: performance.now() - t0,
      };
      const every = options.lambdaMinEvery ?? 0;
      if (oneHidden && every > 0 && state.step % every === 0) m.lambdaMin = lambdaMin(state.params);
      metrics.push(m);
      options.onMetrics?.(m);
      return m;
    };

    const evaluations: EpochEvaluation[] = [];
    const k = outputDim(regime.model);
    const chunk = options.evaluation?.chunkRows ?? EVAL_CHUNK_ROWS;
    const evaluateAt = async (at: number): Promise<void> => {
      const ev = options.evaluation!;
      const e: EpochEvaluation = {
        epoch: at / perEpoch,
        step: at,
        train: await evaluateSplit(trainer, regime.loss, data, k, chunk),
      };
      if (ev.test) e.test = await evaluateSplit(trainer, regime.loss, ev.test, k, chunk);
      evaluations.push(e);
      ev.onEvaluation?.(e);
    };
    let nextEval = evalSteps.findIndex((s) => s >= step);
    if (nextEval < 0) nextEval = evalSteps.length;
    if (evalSteps[nextEval] === step && !resumed) await evaluateAt(step);
    if (evalSteps[nextEval] === step) nextEval++;

    let state = await trainer.state();
    const lossNow = async () =>
      options.stationarity === false ? trainer.run(0) : (await trainer.evaluate()).loss;
    let loss = resumed ? await lossNow() : (await record(state)).loss;
    let status: TrainResult['status'] = 'budget';
    let divergedAt: number | undefined;
    if (!Number.isFinite(loss)) {
      status = 'diverged';
      divergedAt = step;
    } else if (loss <= tol) status = 'converged';
    while (status === 'budget' && step < budget) {
      if (options.signal?.aborted) {
        status = 'aborted';
        break;
      }
      const chunkSteps = Math.min(
        evalEvery - (step % evalEvery),
        budget - step,
        (evalSteps[nextEval] ?? Number.POSITIVE_INFINITY) - step,
      );
      loss = await trainer.run(chunkSteps);
      if (!Number.isFinite(loss)) {
        // Find the first non-finite iterate: back to the last good state, then one step at a time.
        await trainer.setState(state);
        let l = 0;
        for (let i = 0; i < chunkSteps; i++) {
          l = await trainer.run(1);
          if (!Number.isFinite(l)) break;
        }
        const s = (await trainer.state()).step;
        step = s;
        loss = l;
        status = 'diverged';
        divergedAt = s;
        options.onStep?.(step, loss);
        break;
      }
      step += chunkSteps;
      options.onStep?.(step, loss);
      if (evalSteps[nextEval] === step) {
        await evaluateAt(step);
        nextEval++;
      }
      state = await trainer.state();
      if (step % evalEvery === 0 || step === budget) loss = (await record(state)).loss;
      if (options.checkpointEvery && step % options.checkpointEvery === 0)
        io!.save(options.checkpointPath!, regime, state, seed);
      if (loss <= tol) status = 'converged';
    }
    const finalState = status === 'diverged' ? await trainer.state() : state;
    const evaluatedLast = evaluations.at(-1)?.step === finalState.step;
    if (options.evaluation && (options.evaluation.atEnd ?? true) && status !== 'aborted' && !evaluatedLast)
      await evaluateAt(finalState.step);
    if (options.checkpointPath && status !== 'diverged')
      io!.save(options.checkpointPath, regime, finalState, seed);
    const result: TrainResult = {
      status,
      steps: step,
      finalLoss: loss,
      metrics,
      evaluations,
      params: finalState.params,
      wallMs: performance.now() - t0,
      engine: trainer.info,
    };
    if (divergedAt !== undefined) result.divergedAt = divergedAt;
    if (options.lambdaMinAtEnd && oneHidden && status !== 'diverged')
      result.lambdaMin = lambdaMin(finalState.params);
    return result;
  } finally {
    await trainer.dispose();
  }
}
