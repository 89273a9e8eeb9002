import { horizontalFlip, randomCropPad4 } from '@narrownet/datasets';
import {
  type LossName,
  OnnxGraph,
  type ParamTree,
  type ResNetSpec,
  buildConvFeaturesModel,
  cloneParams,
  createRng,
  hostTensor,
  initialBuffers,
  loss64,
  lowerConvNetOnnx,
  resnetBufferShapes,
  resnetParamShapes,
  sizeOf,
  splitResNet,
} from '@narrownet/models';
import type { OptimizerSpec } from '@narrownet/optim';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { createBatchOrder } from '../batches.js';
import { checkFiniteData, checkPredictInput, checkRowSource, readRows, rowRange } from '../data.js';
import type { BatchContext, Trainer, TrainerConfig, TrainerState } from '../trainer.js';
import { buildConvStepModel } from './conv-step.js';
import { nchwcBlockSize } from './nchwc.js';
import { type OnnxEngineLike, checkEngine, onnxTrainerInfo } from './engine.js';
import { checkTree } from './trainer.js';

/** Options of {@link createOnnxResNetTrainer}. */
export interface OnnxResNetTrainerOptions {
  /**
   * Augment every mini-batch on the host (Zhang et al. App. H.2, CIFAR): `randomCropPad4` (zero
   * padding 4, random 32×32 window) then `horizontalFlip` (p = 0.5) of @narrownet/datasets, drawn
   * from `createRng(seed).fork('augment/epoch<e>/step<t>')` — a function of (seed, epoch, step)
   * only, so a run resumed mid-epoch sees the same augmented batches. Default false.
   */
  augment?: boolean;
  /**
   * Frozen-trunk mode: only the final stage and the head are trained. The trunk (stem and earlier
   * stages, `splitResNet`) runs once over the training set in EVAL mode (running statistics) and
   * its features are cached; the step graph is the final stage + head alone. Each optimizer
   * group keeps only its final-stage and head parameters (groups left empty are dropped); the
   * trunk's parameters and running statistics stay as given. Only valid without `augment` (cached
   * features are those of fixed inputs): the combination throws. Default false.
   */
  frozenTrunk?: boolean;
  /**
   * Run the convolutions on onnxruntime's CPU NCHWc kernels when this engine has them
   * (`nchwcBlockSize`; 2-29 % off a CIFAR ResNet-18 step on a 2-core AVX-512 VM, median 8 %, see
   * BENCHMARKS.md section 8). Same numbers as ONNX Conv up to float32 summation order. Default
   * true; ignored on other execution providers.
   */
  nchwc?: boolean;
  /** Rows per eval-mode forward call of `predict` and of the training loss (default 256). */
  predictRows?: number;
  /** Extra onnxruntime session options, merged over the defaults. */
  sessionOptions?: InferenceSession.SessionOptions;
}

const WHERE = 'createOnnxResNetTrainer';

/** The eval-mode forward graph: inputs `X`, `p.<param>`, `b.<buffer>`; output `pred`. */
function buildEvalModel(spec: ResNetSpec, loss: LossName, nchwcBlock: number | undefined): Uint8Array {
  const g = new OnnxGraph('resnetpredict');
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const X = g.input('X', 'float32', ['rows', d]);
  // the lowering computes a loss too: against a zero target row (broadcast; unused)
  const Y = g.constant({
    dtype: 'float32',
    shape: [1, spec.classes],
    values: new Float32Array(spec.classes),
  });
  const inputs = (prefix: string, shapes: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, g.input(`${prefix}.${k}`, 'float32', s)]));
  const out = lowerConvNetOnnx(
    g,
    spec,
    { X, Y, params: inputs('p', resnetParamShapes(spec)), buffers: inputs('b', resnetBufferShapes(spec)) },
    loss,
    { train: false, gradients: false, ...(nchwcBlock ? { nchwcBlock } : {}) },
  );
  g.output(out.pred, 'float32', ['rows', spec.classes], 'pred');
  return g.toModel();
}

/** The rows `idx` of a row-major [n, cols] array, gathered into a new array. */
function gather(A: Float32Array, cols: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * cols);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    out.set(A.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return out;
}

/**
 * The augmentation of a mini-batch of NCHW images [b, C·H·W]: `randomCropPad4` then
 * `horizontalFlip` of @narrownet/datasets (which read HWC images), from one seeded stream.
 */
export function augmentBatch(
  X: Float32Array,
  rows: number,
  input: readonly [number, number, number],
  rng: ReturnType<typeof createRng>,
): Float32Array {
  const [C, H, W] = input;
  const plane = H * W;
  const d = C * plane;
  const hwc = new Float32Array(X.length);
  for (let i = 0; i < rows; i++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < plane; p++) hwc[i * d + p * C + c] = X[i * d + c * plane + p]!;
  const ds = {
    name: 'batch',
    X: hwc,
    Y: new Float32Array(0),
    n: rows,
    d,
    k: 0,
    imageShape: [H, W, C] as const,
  };
  const aug = horizontalFlip(randomCropPad4(ds, rng), rng).X;
  const out = new Float32Array(X.length);
  for (let i = 0; i < rows; i++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < plane; p++) out[i * d + c * plane + p] = aug[i * d + p * C + c]!;
  return out;
}

/** The stream of the augmentation of optimizer step `step` (in epoch `epoch`) of a run seeded `seed`. */
export function augmentRng(seed: number, epoch: number, step: number) {
  return createRng(seed).fork(`augment/epoch${epoch}/step${step}`);
}

function isFiniteTree(values: Iterable<Float32Array>): boolean {
  for (const a of values) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/**
 * The fused ONNX trainer of a conv net (`kind: 'resnet'` spec): each optimizer step is ONE
 * onnxruntime call of `buildConvStepModel` (train-mode forward with batch statistics, analytic
 * backward, the optimizer's update, schedule and projection, running-statistics update). The
 * mini-batch is gathered on the host every step — rows `createBatchOrder(n, b, seed).indices(step)`
 * (a seeded permutation per epoch; ⌊n/b⌋ steps per epoch), optionally augmented — because
 * augmentation changes it. The rows come from X, or, when `config.data.rows` is a `RowSource`
 * (X then empty), from `rows(indices, { seed, epoch, step })` per step: only the batch is held as
 * float32 (e.g. 8-bit images cropped per batch); `run(0)` then reads its evaluation rows
 * (`rows(indices)`) `predictRows` at a time. Not with `frozenTrunk`. Parameters, optimizer slots and running statistics stay onnxruntime
 * tensors fed back call to call; `state()` carries the running statistics as `buffers` (so train's
 * checkpoints hold them and a resume is bit-exact).
 *
 * `run(k)` takes k steps and resolves to the mini-batch loss of the last one (train mode, at the
 * iterate it stepped from); it stops at the first iterate whose mini-batch loss is non-finite
 * (without stepping from it) and resolves to that loss, and resolves to NaN when the iterate
 * reached has a non-finite parameter — a run that leaves the finite range is never reset.
 * `run(0)` resolves to the loss over the whole training set at the current iterate in EVAL mode
 * (running statistics), like `predict`. `evaluate()` throws: batch norm couples the samples of a
 * batch, so there is no per-sample full-data gradient (train with `stationarity: false`).
 *
 * @param engine - a started onnxruntime engine (`startOnnx()` of @narrownet/engine)
 * @param config - a ResNet spec, loss, optimizer (every parameter in one group), initial
 *   parameters, anchors, optional running statistics, data X [n, C·H·W] (NCHW rows; or empty with
 *   `data.rows`) and Y [n, classes],
 *   batch size (default n) and seed of the batch order and augmentation
 * @param options - augmentation, frozen trunk, NCHWc kernels, predict chunk, session options
 */
export async function createOnnxResNetTrainer(
  engine: OnnxEngineLike,
  config: TrainerConfig,
  options: OnnxResNetTrainerOptions = {},
): Promise<Trainer> {
  checkEngine(engine, WHERE);
  if (config === null || typeof config !== 'object')
    throw new TypeError(`${WHERE}: config must be an object`);
  if (config.spec?.kind !== 'resnet')
    throw new RangeError(
      `${WHERE}: config.spec must be a ResNet (kind 'resnet'), got ${JSON.stringify(config.spec?.kind)}; other nets train with createOnnxTrainer`,
    );
  for (const key of ['augment', 'frozenTrunk', 'nchwc'] as const)
    if (options[key] !== undefined && typeof options[key] !== 'boolean')
      throw new RangeError(
        `${WHERE}: options.${key} must be true or false, got ${JSON.stringify(options[key])}`,
      );
  const predictRows = options.predictRows ?? 256;
  if (!Number.isInteger(predictRows) || predictRows < 1)
    throw new RangeError(`${WHERE}: options.predictRows must be an integer ≥ 1, got ${options.predictRows}`);
  const spec = config.spec;
  const shapes = resnetParamShapes(spec);
  const bufferShapes = resnetBufferShapes(spec);
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const k = spec.classes;
  const n = config.data?.n;
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`${WHERE}: data.n must be a positive integer, got ${n}`);
  if (config.data.rows !== undefined)
    checkRowSource({ ...config.data, rows: config.data.rows }, d, WHERE, 'data');
  else if (!(config.data.X instanceof Float32Array) || config.data.X.length !== n * d)
    throw new RangeError(`${WHERE}: data.X must be a Float32Array of n·C·H·W = ${n}·${d} entries`);
  if (!(config.data.Y instanceof Float32Array) || config.data.Y.length !== n * k)
    throw new RangeError(`${WHERE}: data.Y must be a Float32Array of n·classes = ${n}·${k} entries`);
  checkFiniteData(config.data, { X: d, Y: k }, WHERE);
  const b = config.batchSize ?? n;
  if (!Number.isInteger(b) || b < 1 || b > n)
    throw new RangeError(`${WHERE}: batchSize must be an integer in [1, n = ${n}], got ${config.batchSize}`);
  checkTree(config.params, shapes, `${WHERE}: config.params`);
  if (config.anchors !== undefined) checkTree(config.anchors, shapes, `${WHERE}: config.anchors`);
  const buffers0: ParamTree =
    config.buffers ??
    Object.fromEntries(
      Object.entries(initialBuffers(spec)).map(([name, a]) => [
        name,
        hostTensor([a.length], Float32Array.from(a)),
      ]),
    );
  checkTree(buffers0, bufferShapes, `${WHERE}: config.buffers`);
  const block = options.nchwc === false ? undefined : await nchwcBlockSize(engine);
  if (options.frozenTrunk) {
    if (options.augment)
      throw new RangeError(
        `${WHERE}: options.frozenTrunk caches the trunk's features of the fixed training inputs once, which is only valid without augmentation; options.augment must be false`,
      );
    if (config.data.rows !== undefined)
      throw new RangeError(
        `${WHERE}: options.frozenTrunk caches the trunk's features of a fixed float X; it does not read data.rows (give data.X, or train the whole net)`,
      );
    return frozenTrunkTrainer(engine, config, buffers0, b, predictRows, options.sessionOptions, block);
  }
  return fullTrainer(
    engine,
    spec,
    config,
    buffers0,
    b,
    !!options.augment,
    predictRows,
    options.sessionOptions,
    block,
  );
}

/** The trainer of the whole net (see {@link createOnnxResNetTrainer}). */
async function fullTrainer(
  engine: OnnxEngineLike,
  spec: ResNetSpec,
  config: TrainerConfig,
  buffers0: ParamTree,
  b: number,
  augment: boolean,
  predictRows: number,
  sessionOptions: InferenceSession.SessionOptions | undefined,
  nchwcBlock: number | undefined,
): Promise<Trainer> {
  const { loss, optimizer } = config;
  const step = buildConvStepModel(spec, optimizer, loss, nchwcBlock ? { nchwcBlock } : {});
  const so: InferenceSession.SessionOptions = { logSeverityLevel: 3, ...sessionOptions };
  const [stepSession, evalSession] = await Promise.all([
    engine.createSession(step.model, so),
    engine.createSession(buildEvalModel(spec, loss, nchwcBlock), so),
  ]);
  const { paramShapes: shapes, bufferShapes, slotShapes, anchorNames } = step;
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const k = spec.classes;
  const { X, Y, n, rows: source } = config.data;
  const seed = config.seed ?? 0;
  const order = createBatchOrder(n, b, seed);
  /** Input rows `idx`: of `data.rows` when given (training rows of `batch`, else evaluation rows), else of X. */
  const inputRows = async (idx: Int32Array, batch?: BatchContext): Promise<Float32Array> =>
    source ? readRows(source, idx, batch, 'onnx resnet trainer: data.rows') : gather(X, d, idx);
  const f32 = (data: Float32Array, shape: readonly number[]): Tensor =>
    new engine.ort.Tensor('float32', data, [...shape]);
  const feeds = (prefix: string, tree: ParamTree, sh: Record<string, number[]>, names?: readonly string[]) =>
    Object.fromEntries(
      (names ?? Object.keys(sh)).map((name) => [
        `${prefix}.${name}`,
        f32(tree[name]!.data.slice(), sh[name]!),
      ]),
    );
  let anchors = cloneParams(config.anchors ?? config.params);
  let anchorFeeds = feeds('a', anchors, shapes, anchorNames);
  let state: Record<string, Tensor> = {};
  let t = 0;
  const zeros = Object.fromEntries(
    Object.entries(slotShapes).map(([s, sh]) => [s, hostTensor(sh, new Float32Array(sizeOf(sh)))]),
  );
  const setTensors = (params: ParamTree, slots: ParamTree, buffers: ParamTree, at: number): void => {
    state = {
      ...feeds('p', params, shapes),
      ...feeds('s', slots, slotShapes),
      ...feeds('b', buffers, bufferShapes),
    };
    t = at;
  };
  setTensors(config.params, zeros, buffers0, 0);
  let disposed = false;
  const check = (): void => {
    if (disposed) throw new Error('onnx resnet trainer: used after dispose()');
  };
  const pick = (prefix: string, sh: Record<string, number[]>): ParamTree =>
    Object.fromEntries(
      Object.entries(sh).map(([name, s]) => [
        name,
        { shape: [...s], data: Float32Array.from(state[`${prefix}.${name}`]!.data as Float32Array) },
      ]),
    );
  const paramArrays = () => Object.keys(shapes).map((name) => state[`p.${name}`]!.data as Float32Array);

  /** One step from the current iterate: its mini-batch loss, and the new state committed when finite. */
  const stepOnce = async (): Promise<number> => {
    const rows = order.indices(t);
    const epoch = Math.floor(t / order.stepsPerEpoch);
    let Xb = await inputRows(rows, { seed, epoch, step: t });
    if (augment) Xb = augmentBatch(Xb, b, spec.input, augmentRng(seed, epoch, t));
    const out = await stepSession.run({
      X: f32(Xb, [b, d]),
      Y: f32(gather(Y, k, rows), [b, k]),
      ...state,
      ...anchorFeeds,
      step: new engine.ort.Tensor('int64', BigInt64Array.from([BigInt(t)]), []),
    });
    const l = (out.loss!.data as Float32Array)[0]!;
    if (!Number.isFinite(l)) return l;
    const next: Record<string, Tensor> = {};
    for (const [key, v] of Object.entries(out)) {
      const m = /^([PBS])\.(.*)$/.exec(key);
      if (m) next[`${m[1]!.toLowerCase()}.${m[2]}`] = v as Tensor;
    }
    state = next;
    t++;
    return l;
  };

  /** Eval-mode logits of `rows` input rows, `predictRows` at a time: `chunk(r, m)` gives rows r..r+m−1. */
  const forward = async (
    rows: number,
    chunk: (r: number, m: number) => Float32Array | Promise<Float32Array>,
  ): Promise<Float32Array> => {
    const pred = new Float32Array(rows * k);
    const pb: Record<string, Tensor> = {};
    for (const [key, v] of Object.entries(state)) if (!key.startsWith('s.')) pb[key] = v;
    for (let r = 0; r < rows; r += predictRows) {
      const m = Math.min(predictRows, rows - r);
      const out = await evalSession.run({ X: f32(await chunk(r, m), [m, d]), ...pb });
      pred.set(out.pred!.data as Float32Array, r * k);
    }
    return pred;
  };

  return {
    info: onnxTrainerInfo(engine),
    async run(steps: number): Promise<number> {
      check();
      if (!Number.isInteger(steps) || steps < 0)
        throw new RangeError(`onnx resnet trainer.run: steps must be an integer ≥ 0, got ${steps}`);
      if (steps === 0) return loss64(loss, await forward(n, (r, m) => inputRows(rowRange(r, m))), Y, k).value;
      let l = Number.NaN;
      for (let i = 0; i < steps; i++) {
        l = await stepOnce();
        if (!Number.isFinite(l)) return l;
      }
      return isFiniteTree(paramArrays()) ? l : Number.NaN;
    },
    async evaluate(): Promise<{ loss: number; grads: ParamTree }> {
      check();
      throw new RangeError(
        'onnx resnet trainer.evaluate: a ResNet has no full-data gradient here (batch norm couples the samples of a batch); train it with stationarity: false',
      );
    },
    async predict(x: Float32Array, rows: number): Promise<Float32Array> {
      check();
      checkPredictInput(x, rows, d, 'onnx resnet trainer.predict');
      return rows === 0 ? new Float32Array(0) : forward(rows, (r, m) => x.slice(r * d, (r + m) * d));
    },
    async state(): Promise<TrainerState> {
      check();
      return {
        step: t,
        params: pick('p', shapes),
        slots: pick('s', slotShapes),
        anchors: cloneParams(anchors),
        buffers: pick('b', bufferShapes),
      };
    },
    async setState(s: TrainerState): Promise<void> {
      check();
      const where = 'onnx resnet trainer.setState';
      if (s === null || typeof s !== 'object') throw new TypeError(`${where}: state must be an object`);
      if (!Number.isInteger(s.step) || s.step < 0)
        throw new RangeError(`${where}: state.step must be an integer ≥ 0, got ${s.step}`);
      checkTree(s.params, shapes, `${where}: state.params`);
      checkTree(s.slots, slotShapes, `${where}: state.slots`);
      if (s.buffers === undefined)
        throw new RangeError(`${where}: state.buffers (the batch-norm running statistics) is missing`);
      checkTree(s.buffers, bufferShapes, `${where}: state.buffers`);
      if (s.anchors && Object.keys(s.anchors).length > 0) {
        checkTree(s.anchors, shapes, `${where}: state.anchors`);
        anchors = cloneParams(s.anchors);
        anchorFeeds = feeds('a', anchors, shapes, anchorNames);
      }
      setTensors(s.params, s.slots, s.buffers, s.step);
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await Promise.all([stepSession.release(), evalSession.release()]);
    },
  };
}

/** Keeps the entries of `tree` whose names are in `names`. */
function only(tree: ParamTree, names: Iterable<string>): ParamTree {
  const out: ParamTree = {};
  for (const name of names) if (tree[name]) out[name] = tree[name]!;
  return out;
}

/** The frozen-trunk trainer (see `OnnxResNetTrainerOptions.frozenTrunk`). */
async function frozenTrunkTrainer(
  engine: OnnxEngineLike,
  config: TrainerConfig,
  buffers0: ParamTree,
  b: number,
  predictRows: number,
  sessionOptions: InferenceSession.SessionOptions | undefined,
  nchwcBlock: number | undefined,
): Promise<Trainer> {
  const spec = config.spec as ResNetSpec;
  const split = splitResNet(spec);
  const headShapes = resnetParamShapes(split.head);
  const headBuffers = resnetBufferShapes(split.head);
  const trunkParams = Object.keys(resnetParamShapes(spec)).filter((name) => !(name in headShapes));
  const trunkBuffers = Object.keys(resnetBufferShapes(spec)).filter((name) => !(name in headBuffers));
  const optimizer: OptimizerSpec = {
    groups: config.optimizer.groups
      .map((g) => ({ ...g, params: g.params.filter((p) => p in headShapes) }))
      .filter((g) => g.params.length > 0),
  };
  const so: InferenceSession.SessionOptions = { logSeverityLevel: 3, ...sessionOptions };
  const featureSession = await engine.createSession(
    buildConvFeaturesModel(spec, undefined, nchwcBlock ? { nchwcBlock } : {}),
    so,
  );
  const d = spec.input[0] * spec.input[1] * spec.input[2];
  const fd = split.features[0] * split.features[1] * split.features[2];
  let trunk = { params: only(config.params, trunkParams), buffers: only(buffers0, trunkBuffers) };
  const features = async (x: Float32Array, rows: number): Promise<Float32Array> => {
    const out = new Float32Array(rows * fd);
    const fixed: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries({ ...trunk.params, ...trunk.buffers }))
      fixed[name] = new engine.ort.Tensor('float32', t.data.slice(), [...t.shape]);
    for (let r = 0; r < rows; r += predictRows) {
      const m = Math.min(predictRows, rows - r);
      const res = await featureSession.run({
        X: new engine.ort.Tensor('float32', x.slice(r * d, (r + m) * d), [m, d]),
        ...fixed,
      });
      out.set(res.features!.data as Float32Array, r * fd);
    }
    return out;
  };
  const makeHead = async (params: ParamTree, buffers: ParamTree, anchors: ParamTree | undefined) =>
    fullTrainer(
      engine,
      split.head,
      {
        ...config,
        spec: split.head,
        optimizer,
        params: only(params, Object.keys(headShapes)),
        ...(anchors ? { anchors: only(anchors, Object.keys(headShapes)) } : {}),
        data: { X: await features(config.data.X, config.data.n), Y: config.data.Y, n: config.data.n },
      },
      only(buffers, Object.keys(headBuffers)),
      b,
      false,
      predictRows,
      sessionOptions,
      nchwcBlock,
    );
  let head = await makeHead(config.params, buffers0, config.anchors);
  const anchors0 = cloneParams(config.anchors ?? config.params);
  const same = (a: ParamTree, c: ParamTree) =>
    Object.keys(a).every((name) => a[name]!.data.every((v, i) => Object.is(v, c[name]!.data[i])));
  return {
    info: head.info,
    run: (steps) => head.run(steps),
    evaluate: () => head.evaluate(),
    async predict(x, rows) {
      checkPredictInput(x, rows, d, 'onnx resnet trainer.predict');
      return rows === 0 ? new Float32Array(0) : head.predict(await features(x, rows), rows);
    },
    async state() {
      const s = await head.state();
      return {
        ...s,
        params: { ...trunk.params, ...s.params },
        buffers: { ...trunk.buffers, ...s.buffers },
        anchors: { ...anchors0, ...s.anchors },
      };
    },
    async setState(s) {
      const where = 'onnx resnet trainer.setState';
      if (s === null || typeof s !== 'object') throw new TypeError(`${where}: state must be an object`);
      checkTree(s.params, resnetParamShapes(spec), `${where}: state.params`);
      if (s.buffers === undefined)
        throw new RangeError(`${where}: state.buffers (the batch-norm running statistics) is missing`);
      checkTree(s.buffers, resnetBufferShapes(spec), `${where}: state.buffers`);
      const next = { params: only(s.params, trunkParams), buffers: only(s.buffers, trunkBuffers) };
      if (!same(next.params, trunk.params) || !same(next.buffers, trunk.buffers)) {
        // another trunk: its features are recomputed
        trunk = { params: cloneParams(next.params), buffers: cloneParams(next.buffers) };
        await head.dispose();
        head = await makeHead(s.params, s.buffers, s.anchors);
      }
      await head.setState({
        ...s,
        params: only(s.params, Object.keys(headShapes)),
        buffers: only(s.buffers, Object.keys(headBuffers)),
        anchors: only(s.anchors ?? {}, Object.keys(headShapes)),
      });
    },
    async dispose() {
      await Promise.all([head.dispose(), featureSession.release()]);
    },
  };
}
