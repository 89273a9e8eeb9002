import {
  type LossName,
  type MlpLikeSpec,
  type ParamTree,
  cloneParams,
  inputDim,
  OnnxGraph,
  lowerModelOnnx,
  outputDim,
  paramShapes,
  requireMlpLike,
  sizeOf,
} from '@narrownet/models';
import { type OptimizerSpec, lowerOptimizerOnnx, onnxSlotShapes } from '@narrownet/optim';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { createBatchOrder } from '../batches.js';
import { checkFiniteData, checkPredictInput } from '../data.js';
import type { Trainer, TrainerConfig, TrainerState } from '../trainer.js';
import { type OnnxEngineLike, checkEngine, onnxTrainerInfo } from './engine.js';
import { type FusedDesc, buildFusedEval, buildFusedStep } from './fused.js';
import { type PlacementOptions, type StateTransfer, createTransfer, resolvePlacement } from './placement.js';

/** Options of {@link createOnnxTrainer}. */
export interface OnnxTrainerOptions extends PlacementOptions {
  /**
   * Optimizer steps fused into one session call, through an ONNX Loop or unrolled (`loop`) (default 1). Larger values
   * amortise the per-call overhead where one step is cheap (small widths); `run(k)` makes
   * ⌊k/K⌋ fused calls and k mod K single-step calls, so iterates do not depend on K.
   */
  stepsPerCall?: number;
  /** Extra onnxruntime session options (e.g. `enableProfiling`), merged over the engine's. */
  sessionOptions?: InferenceSession.SessionOptions;
  /**
   * Write each call's new parameters and slots into preallocated output tensors (two sets used
   * in turn) instead of letting onnxruntime allocate fresh outputs per call. Default false;
   * host-resident state only (`resident: false`).
   */
  preallocate?: boolean;
}

/** Everything the graphs are built from, checked once. */
export interface StepPlan {
  spec: MlpLikeSpec;
  loss: LossName;
  optimizer: OptimizerSpec;
  shapes: Record<string, number[]>;
  slotShapes: Record<string, number[]>;
  /** Parameters whose group projects onto a Frobenius ball (the graph reads their anchors). */
  anchorNames: string[];
  n: number;
  d: number;
  k: number;
  /** Mini-batch size, undefined for full batch. */
  batchSize?: number;
}

/** `options.stepsPerCall` (default 1), checked to be a positive integer. */
export function stepsPerCallOf(options: { stepsPerCall?: number }, where: string): number {
  const K = options.stepsPerCall ?? 1;
  if (!Number.isInteger(K) || K < 1)
    throw new RangeError(
      `${where}: options.stepsPerCall must be a positive integer, got ${options.stepsPerCall}`,
    );
  return K;
}

/** Validates a trainer config (errors name the field) and derives the plan of the step graphs. */
export function planStep(config: TrainerConfig, where: string): StepPlan {
  if (config === null || typeof config !== 'object')
    throw new TypeError(`${where}: config must be an object`);
  const { loss, optimizer } = config;
  const spec = requireMlpLike(
    config.spec,
    `${where}: config.spec (a ResNet trains with createOnnxResNetTrainer)`,
  );
  const shapes = paramShapes(spec);
  const d = inputDim(spec);
  const k = outputDim(spec);
  const n = config.data?.n;
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`${where}: data.n must be a positive integer, got ${n}`);
  if (!(config.data.X instanceof Float32Array) || config.data.X.length !== n * d)
    throw new RangeError(`${where}: data.X must be a Float32Array of n·d = ${n}·${d} entries`);
  if (!(config.data.Y instanceof Float32Array) || config.data.Y.length !== n * k)
    throw new RangeError(`${where}: data.Y must be a Float32Array of n·k = ${n}·${k} entries`);
  checkFiniteData(config.data, { X: d, Y: k }, where);
  const b = config.batchSize;
  if (b !== undefined && (!Number.isInteger(b) || b <= 0 || b > n))
    throw new RangeError(`${where}: batchSize must be an integer in [1, n = ${n}], got ${b}`);
  checkTree(config.params, shapes, `${where}: config.params`);
  if (config.anchors !== undefined) checkTree(config.anchors, shapes, `${where}: config.anchors`);
  const slotShapes = onnxSlotShapes(optimizer, shapes);
  const anchorNames: string[] = [];
  for (const g of optimizer.groups)
    if (g.lr > 0 && g.projection?.kind === 'frobeniusBall') anchorNames.push(...g.params);
  return {
    spec,
    loss,
    optimizer,
    shapes,
    slotShapes,
    anchorNames,
    n,
    d,
    k,
    batchSize: b !== undefined && b < n ? b : undefined,
  };
}

/** Checks that a tree has every name of `shapes` with that shape; `what` names it in errors. */
export function checkTree(tree: ParamTree, shapes: Record<string, readonly number[]>, what: string): void {
  if (tree === null || typeof tree !== 'object') throw new TypeError(`${what} must be a parameter tree`);
  for (const [name, shape] of Object.entries(shapes)) {
    const t = tree[name];
    if (!t) throw new RangeError(`${what} lacks "${name}"`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]) || t.data.length !== size)
      throw new RangeError(
        `${what}: "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
  }
}

/** The fused-graph description of one configuration (see {@link FusedDesc}). */
export function singleDesc(plan: StepPlan): FusedDesc {
  const anchorShapes: Record<string, number[]> = {};
  for (const name of plan.anchorNames) anchorShapes[name] = plan.shapes[name]!;
  return {
    d: plan.d,
    k: plan.k,
    paramShapes: plan.shapes,
    slotShapes: plan.slotShapes,
    anchorShapes,
    hyperShapes: {},
    lossShape: [],
    batchSize: plan.batchSize,
    emitModel: (g, X, Y, params, gradients) =>
      lowerModelOnnx(g, plan.spec, { X, Y, params }, plan.loss, { gradients }),
    emitUpdate: (g, io) => lowerOptimizerOnnx(g, plan.optimizer, plan.shapes, io),
  };
}

/**
 * The forward graph of a plan: inputs `X` [rows, d], `Y` [rows, k] (unused by the output) and
 * `p.<param>`; output `pred` [rows, k]. Fed the trainer's current parameter tensors.
 */
export function buildPredictModel(plan: StepPlan): Uint8Array {
  const g = new OnnxGraph('predict');
  const X = g.input('X', 'float32', ['rows', plan.d]);
  const Y = g.input('Y', 'float32', ['rows', plan.k]);
  const params: Record<string, string> = {};
  for (const [name, shape] of Object.entries(plan.shapes))
    params[name] = g.input(`p.${name}`, 'float32', shape);
  const out = lowerModelOnnx(g, plan.spec, { X, Y, params }, plan.loss, { gradients: false });
  g.output(out.pred, 'float32', ['rows', plan.k], 'pred');
  return g.toModel();
}

/**
 * Advances `steps` optimizer steps as ⌊steps/K⌋ calls of the fused K-step session (when there
 * is one) followed by single-step calls, and resolves to the last K-step call's result when the
 * run ended on one (its outputs then already hold the loss at the iterate reached), else
 * undefined. `advance` is told whether its result is that final one (`wantLoss`), so that
 * other calls need not bring their loss to the host.
 */
export async function advanceInChunks<T>(
  steps: number,
  K: number,
  loopSession: InferenceSession | undefined,
  stepSession: InferenceSession,
  advance: (session: InferenceSession, count: number, wantLoss: boolean) => Promise<T>,
): Promise<T | undefined> {
  let remaining = steps;
  let final: T | undefined;
  while (loopSession && remaining >= K) {
    remaining -= K;
    final = await advance(loopSession, K, remaining === 0);
  }
  while (remaining > 0) {
    await advance(stepSession, 1, false);
    final = undefined;
    remaining--;
  }
  return final;
}

/**
 * Creates the single-step and (for K > 1) the K-step session of a fused description, built as
 * Loop or unrolled and with their state outputs placed as `transfer` says.
 */
export async function createStepSessions(
  engine: OnnxEngineLike,
  desc: FusedDesc,
  K: number,
  loop: boolean,
  transfer: StateTransfer,
  so: InferenceSession.SessionOptions,
): Promise<[InferenceSession, InferenceSession | undefined]> {
  const opts = transfer.stepOptions(so);
  return Promise.all([
    engine.createSession(buildFusedStep(desc, 1), opts),
    K > 1 ? engine.createSession(buildFusedStep(desc, K, { loop }), opts) : Promise.resolve(undefined),
  ]);
}

function int64Scalar(engine: OnnxEngineLike, v: number): Tensor {
  return new engine.ort.Tensor('int64', BigInt64Array.from([BigInt(v)]), []);
}

function f32(engine: OnnxEngineLike, data: Float32Array, shape: readonly number[]): Tensor {
  return new engine.ort.Tensor('float32', data, [...shape]);
}

/**
 * The fused fast path: creates a trainer whose whole optimizer step — forward, analytic
 * backward (`lowerModelOnnx`), update, schedule and projection (`lowerOptimizerOnnx`) — is ONE
 * onnxruntime graph. Its outputs (new parameters, slots, step count) are fed back as the next
 * call's inputs, so the iterate never passes through host-side arithmetic; X, Y and the anchors
 * are ort tensors made once. Full batch, or mini-batches in the order of `batchIndices` (the same
 * batches as the tfjs trainer), gathered in-graph. Gives the iterates of the tfjs reference
 * trainer and of the host optimizer to float32 tolerance. Like the tfjs trainer, `run(k)` stops
 * early at the first iterate whose loss or a parameter is non-finite and resolves to that (NaN
 * or ±∞) loss without stepping from it (`state().step` says where).
 *
 * @param engine - a started onnxruntime engine (`startOnnx()` of @narrownet/engine)
 * @param config - model, loss, optimizer, initial parameters, anchors and data
 * @param options - steps fused per call, extra session options
 */
export async function createOnnxTrainer(
  engine: OnnxEngineLike,
  config: TrainerConfig,
  options: OnnxTrainerOptions = {},
): Promise<Trainer> {
  const where = 'createOnnxTrainer';
  checkEngine(engine, where);
  const K = stepsPerCallOf(options, where);
  const placement = resolvePlacement(engine, options, where);
  if (placement.resident && options.preallocate)
    throw new RangeError(`${where}: options.preallocate needs host-resident state (options.resident: false)`);
  const plan = planStep(config, where);
  const desc = singleDesc(plan);
  const so: InferenceSession.SessionOptions = { logSeverityLevel: 3, ...options.sessionOptions };
  const transfer = createTransfer(engine, placement.resident, so);
  const [[stepSession, loopSession], lossSession, gradSession] = await Promise.all([
    createStepSessions(engine, desc, K, placement.loop, transfer, so),
    engine.createSession(buildFusedEval(desc, false), so),
    engine.createSession(buildFusedEval(desc, true), so),
  ]);
  const names = Object.keys(plan.shapes);
  const slotNames = Object.keys(plan.slotShapes);
  const { X, Y } = await transfer.upload({
    X: f32(engine, config.data.X.slice(), [plan.n, plan.d]),
    Y: f32(engine, config.data.Y.slice(), [plan.n, plan.k]),
  });
  const seed = config.seed ?? 0;
  let anchors = cloneParams(config.anchors ?? config.params);
  let anchorFeeds: Record<string, Tensor> = {};
  let params: Record<string, Tensor> = {};
  let slots: Record<string, Tensor> = {};
  let step = 0;
  let stepTensor = int64Scalar(engine, 0);
  let disposed = false;

  const setAnchors = async (tree: ParamTree): Promise<void> => {
    const feeds: Record<string, Tensor> = {};
    for (const name of plan.anchorNames)
      feeds[`a.${name}`] = f32(engine, tree[name]!.data.slice(), plan.shapes[name]!);
    const uploaded = await transfer.upload(feeds);
    transfer.release(Object.values(anchorFeeds));
    anchors = cloneParams(tree);
    anchorFeeds = uploaded;
  };
  /** Replaces the state (parameters, slots, step) by host copies of `state`, uploaded. */
  const setStateTensors = async (p: ParamTree, sl: ParamTree | undefined, at: number): Promise<void> => {
    const feeds: Record<string, Tensor> = {};
    for (const name of names) feeds[`p.${name}`] = f32(engine, p[name]!.data.slice(), plan.shapes[name]!);
    for (const [s, shape] of Object.entries(plan.slotShapes))
      feeds[`s.${s}`] = f32(engine, sl ? sl[s]!.data.slice() : new Float32Array(sizeOf(shape)), shape);
    feeds.step = int64Scalar(engine, at);
    const up = await transfer.upload(feeds);
    transfer.release([...Object.values(params), ...Object.values(slots), stepTensor]);
    params = {};
    slots = {};
    for (const name of names) params[`p.${name}`] = up[`p.${name}`]!;
    for (const s of slotNames) slots[`s.${s}`] = up[`s.${s}`]!;
    stepTensor = up.step!;
    step = at;
  };
  await setAnchors(anchors);
  await setStateTensors(config.params, undefined, 0);

  const check = (): void => {
    if (disposed) throw new Error('onnx trainer: used after dispose()');
  };
  const order = plan.batchSize !== undefined ? createBatchOrder(plan.n, plan.batchSize, seed) : undefined;
  const batchFeed = (count: number): Record<string, Tensor> => {
    const b = plan.batchSize;
    if (b === undefined || order === undefined) return {};
    const idx = new BigInt64Array(count * b);
    for (let c = 0; c < count; c++) {
      const rows = order.indices(step + c);
      for (let i = 0; i < b; i++) idx[c * b + i] = BigInt(rows[i]!);
    }
    return { idx: new engine.ort.Tensor('int64', idx, count === 1 ? [b] : [count, b]) };
  };
  // With `preallocate`, each call writes the new state into the buffers of the state before the
  // last one (ping-pong), so no output memory is allocated per call.
  let spare: Record<string, Tensor> | undefined;
  const fetchesFor = (session: InferenceSession): Record<string, Tensor | null> => {
    spare ??= Object.fromEntries([
      ...names.map((n) => [`P.${n}`, f32(engine, new Float32Array(params[`p.${n}`]!.size), plan.shapes[n]!)]),
      ...slotNames.map((s) => [
        `S.${s}`,
        f32(engine, new Float32Array(slots[`s.${s}`]!.size), plan.slotShapes[s]!),
      ]),
    ]);
    return Object.fromEntries(session.outputNames.map((o) => [o, spare![o] ?? null]));
  };
  /**
   * One session call. The losses at the iterates it stepped from are read at once (NaN where a
   * parameter is non-finite; with device-resident state `count` floats cross the bus); the new
   * state (`count` steps on) replaces the current one only on `commit`, so a call that went
   * through a non-finite iterate can be dropped.
   */
  const call = async (session: InferenceSession, count: number) => {
    const feeds = { X, Y, ...params, ...slots, ...anchorFeeds, step: stepTensor, ...batchFeed(count) };
    const fetches = options.preallocate ? fetchesFor(session) : undefined;
    const out = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
    const host = await transfer.download({
      at: count === 1 ? out.loss! : out.losses!,
      ...(count > 1 ? { reached: out.loss! } : {}),
    });
    transfer.release([out.loss!, ...(out.losses ? [out.losses] : [])]);
    const produced = [
      ...names.map((n) => out[`P.${n}`]!),
      ...slotNames.map((sl) => out[`S.${sl}`]!),
      out.step_out!,
    ];
    const commit = (): void => {
      const nextParams: Record<string, Tensor> = {};
      const nextSlots: Record<string, Tensor> = {};
      if (fetches) {
        const old: Record<string, Tensor> = {};
        for (const name of names) {
          nextParams[`p.${name}`] = fetches[`P.${name}`]!;
          old[`P.${name}`] = params[`p.${name}`]!;
        }
        for (const sl of slotNames) {
          nextSlots[`s.${sl}`] = fetches[`S.${sl}`]!;
          old[`S.${sl}`] = slots[`s.${sl}`]!;
        }
        spare = old;
      } else {
        for (const name of names) nextParams[`p.${name}`] = out[`P.${name}`]!;
        for (const sl of slotNames) nextSlots[`s.${sl}`] = out[`S.${sl}`]!;
        transfer.release([...Object.values(params), ...Object.values(slots), stepTensor]);
      }
      params = nextParams;
      slots = nextSlots;
      stepTensor = out.step_out!;
      step += count;
    };
    const discard = (): void => {
      if (!fetches) transfer.release(produced);
    };
    return { commit, discard, stepLosses: host.at!, loss: count > 1 ? host.reached![0]! : host.at![0]! };
  };
  let predictSession: InferenceSession | undefined;
  const currentLoss = async (): Promise<number> => {
    const out = await lossSession.run({ X, Y, ...params });
    return (out.loss!.data as Float32Array)[0]!;
  };
  const tree = (values: Record<string, Float32Array>, prefix: string, shapes: Record<string, number[]>) => {
    const t: ParamTree = {};
    for (const [name, shape] of Object.entries(shapes))
      t[name] = { shape: [...shape], data: values[`${prefix}${name}`]! };
    return t;
  };

  const info = onnxTrainerInfo(engine);
  return {
    info,
    async run(steps: number): Promise<number> {
      check();
      if (!Number.isInteger(steps) || steps < 0)
        throw new RangeError(`onnx trainer.run: steps must be an integer ≥ 0, got ${steps}`);
      let remaining = steps;
      let final: number | undefined;
      while (remaining > 0) {
        const count = loopSession && remaining >= K ? K : 1;
        const r = await call(count === 1 ? stepSession : loopSession!, count);
        const bad = r.stepLosses.findIndex((l) => !Number.isFinite(l));
        if (bad >= 0) {
          // The iterate `bad` steps in has a non-finite loss or parameter: drop the call's outputs,
          // step up to that iterate and stop there (as the tfjs trainer does).
          r.discard();
          for (let i = 0; i < bad; i++) (await call(stepSession, 1)).commit();
          return r.stepLosses[bad]!;
        }
        r.commit();
        remaining -= count;
        // a fused call already returns the full-data loss at the iterate reached
        final = count > 1 ? r.loss : undefined;
      }
      return final !== undefined ? final : currentLoss();
    },
    async evaluate() {
      check();
      const out = await gradSession.run({ X, Y, ...params });
      const grads: ParamTree = {};
      for (const name of names)
        grads[name] = {
          shape: [...plan.shapes[name]!],
          data: Float32Array.from(out[`grad.${name}`]!.data as Float32Array),
        };
      return { loss: (out.loss!.data as Float32Array)[0]!, grads };
    },
    async predict(x: Float32Array, rows: number): Promise<Float32Array> {
      check();
      checkPredictInput(x, rows, plan.d, 'onnx trainer.predict');
      if (rows === 0) return new Float32Array(0);
      predictSession ??= await engine.createSession(buildPredictModel(plan), so);
      const out = await predictSession.run({
        X: f32(engine, x, [rows, plan.d]),
        Y: f32(engine, new Float32Array(rows * plan.k), [rows, plan.k]),
        ...params,
      });
      return Float32Array.from(out.pred!.data as Float32Array);
    },
    async state(): Promise<TrainerState> {
      check();
      const host = await transfer.download({ ...params, ...slots });
      return {
        step,
        params: tree(host, 'p.', plan.shapes),
        slots: tree(host, 's.', plan.slotShapes),
        anchors: cloneParams(anchors),
      };
    },
    async setState(state: TrainerState) {
      check();
      if (state === null || typeof state !== 'object')
        throw new TypeError('onnx trainer.setState: state must be an object');
      if (!Number.isInteger(state.step) || state.step < 0)
        throw new RangeError(`onnx trainer.setState: state.step must be an integer ≥ 0, got ${state.step}`);
      checkTree(state.params, plan.shapes, 'onnx trainer.setState: state.params');
      checkTree(state.slots, plan.slotShapes, 'onnx trainer.setState: state.slots');
      const hasAnchors = state.anchors && Object.keys(state.anchors).length > 0;
      if (hasAnchors) checkTree(state.anchors, plan.shapes, 'onnx trainer.setState: state.anchors');
      await setStateTensors(state.params, state.slots, state.step);
      if (hasAnchors) await setAnchors(state.anchors);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      transfer.release([
        X,
        Y,
        ...Object.values(params),
        ...Object.values(slots),
        ...Object.values(anchorFeeds),
        stepTensor,
      ]);
      await Promise.all([
        transfer.dispose(),
        ...[stepSession, loopSession, lossSession, gradSession, predictSession].map((s) =>
          s ? s.release() : Promise.resolve(),
        ),
      ]);
    },
  };
}
