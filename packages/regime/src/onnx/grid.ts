import {
  type OnnxGraph,
  type ParamTree,
  attr,
  cloneParams,
  lowerActivationOnnx,
  lowerModelOnnx,
  sizeOf,
} from '@narrownet/models';
import { type OptimizerSpec, lowerOptimizerOnnx } from '@narrownet/optim';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { TrainerConfig, TrainerInfo, TrainerState } from '../trainer.js';
import { type OnnxEngineLike, checkEngine, onnxTrainerInfo } from './engine.js';
import { type FusedDesc, buildFusedEval } from './fused.js';
import { createTransfer, resolvePlacement } from './placement.js';
import {
  type OnnxTrainerOptions,
  type StepPlan,
  advanceInChunks,
  createStepSessions,
  planStep,
} from './trainer.js';

/**
 * Largest n×(chunk·m) intermediate (floats, ≈ 1.2 MB) up to which configurations are stacked.
 * Measured (bench/grid.mjs --chunk): stacking pays at m = 40 (0.46 s vs 0.53 s for 300 steps of
 * 4 configurations) but not at m = 400 (1.34 s vs 1.24–1.28 s for 100 steps) or m = 1200.
 */
const CHUNK_ELEMENTS = 300_000;

/** Options of {@link createOnnxGridTrainer}. */
export interface OnnxGridTrainerOptions
  extends Pick<OnnxTrainerOptions, 'stepsPerCall' | 'sessionOptions' | 'loop' | 'resident'> {
  /**
   * Size in floats of the n×(chunk·m) intermediates up to which configurations are stacked into
   * one GEMM (default on the CPU 300 000 ≈ 1.2 MB, measured on the development machine; on a GPU
   * device unlimited: every configuration in one GEMM); beyond it the
   * configurations are processed in chunks (of one: the single-configuration lowering) within the
   * same graph.
   */
  chunkElements?: number;
}

/** Many configurations of one shallow or paired architecture, stepping together. */
export interface GridTrainer {
  /** Number of configurations G. */
  readonly size: number;
  readonly info: TrainerInfo;
  /**
   * Runs `steps` steps of every configuration; resolves to each one's loss at the iterate reached
   * (NaN where a parameter is non-finite). A configuration that diverged keeps stepping (its
   * values stay non-finite and do not touch the others'); see {@link GridTrainer.divergedAt}.
   */
  run(steps: number): Promise<number[]>;
  /**
   * Per configuration, the first step whose iterate has a non-finite loss or parameter (exact:
   * every step's loss at its input iterate comes out of the fused graph), or undefined while it
   * is finite. Counted since creation or the last {@link GridTrainer.setStates}.
   */
  divergedAt(): (number | undefined)[];
  /** A copy of every configuration's state, in the order of the configs. */
  states(): Promise<TrainerState[]>;
  /**
   * Replaces every configuration's state (resume from {@link GridTrainer.states} of an earlier
   * grid of the same configs): parameters, optimizer slots, anchors and the step, which all
   * configurations share. Continuing from a saved state gives the same iterates as never stopping.
   */
  setStates(states: readonly TrainerState[]): Promise<void>;
  /** Releases the sessions. */
  dispose(): Promise<void>;
}

function sameArray(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The optimizer with the per-configuration hyperparameters (lr, ball radius) blanked out. */
function optimizerShape(o: OptimizerSpec): string {
  return JSON.stringify(
    o.groups.map((g) => ({
      ...g,
      lr: undefined,
      projection: g.projection?.kind === 'frobeniusBall' ? { kind: 'frobeniusBall' } : g.projection,
    })),
  );
}

/**
 * Loss and gradients of G shallow or paired nets at once: the hidden weights of all
 * configurations form one [G·m, d] matrix, so the forward product X·Wᵀ and the gradient product
 * are single large GEMMs; the outer weights and the loss act per configuration.
 */
function emitStacked(
  g: OnnxGraph,
  plan: StepPlan,
  G: number,
  X: string,
  Y: string,
  params: Record<string, string>,
  gradients: boolean,
): { loss: string; grads: Record<string, string> } {
  const spec = plan.spec;
  if (spec.kind !== 'shallow' && spec.kind !== 'paired')
    throw new Error('unreachable: grid specs are shallow or paired');
  const m = spec.width;
  const d = spec.inputDim;
  const W = params.W!;
  const v = params.v!;
  const z = g.op('Gemm', [X, g.op('Reshape', [W, g.ints([G * m, d])])], { transB: attr.i(1) }); // [n, Gm]
  const { h, dh } = lowerActivationOnnx(g, spec.activation, z, gradients);
  const u = spec.kind === 'shallow' ? v : g.op('Concat', [v, g.op('Neg', [v])], { axis: attr.i(1) }); // [G, m]
  const h3 = g.op('Reshape', [h, g.ints([0, G, m])]); // [n, G, m]
  const P = g.op('ReduceSum', [g.op('Mul', [h3, u]), g.ints([2])], { keepdims: attr.i(0) }); // [n, G]
  const r = g.op('Sub', [P, Y]); // Y [n, 1] broadcasts over configurations
  const sq = g.op('ReduceSumSquare', [r, g.ints([0])], { keepdims: attr.i(0) }); // [G]
  let loss: string;
  let dP: string;
  if (plan.loss === 'halfSse') {
    loss = g.op('Mul', [sq, g.scalar(0.5)]);
    dP = r;
  } else {
    const rows = g.op(
      'Cast',
      [g.op('Gather', [g.op('Shape', [r]), g.constant({ dtype: 'int64', shape: [], values: [0] })])],
      { to: attr.i(1) },
    );
    loss = g.op('Div', [sq, rows]);
    dP = g.op('Div', [g.op('Mul', [r, g.scalar(2)]), rows]);
  }
  if (!gradients) return { loss, grads: {} };
  const dP3 = g.op('Unsqueeze', [dP, g.ints([2])]); // [n, G, 1]
  const gu = g.op('ReduceSum', [g.op('Mul', [h3, dP3]), g.ints([0])], { keepdims: attr.i(0) }); // [G, m]
  let gv = gu;
  if (spec.kind === 'paired') {
    const [g1, g2] = g.opN('Split', [gu, g.ints([m / 2, m / 2])], 2, { axis: attr.i(1) });
    gv = g.op('Sub', [g1!, g2!]);
  }
  // ∂W_c = diag(u_c) (σ'(Z_c) ∘ G_c)ᵀ X for every configuration c, as one [G·m, d] GEMM.
  const t = dh
    ? g.op('Mul', [g.op('Reshape', [dh, g.ints([0, G, m])]), dP3])
    : g.op('Expand', [dP3, g.op('Shape', [h3])]);
  const gWf = g.op('Gemm', [g.op('Reshape', [t, g.ints([0, G * m])]), X], { transA: attr.i(1) }); // [Gm, d]
  const gW = g.op('Reshape', [
    g.op('Mul', [gWf, g.op('Reshape', [u, g.ints([G * m, 1])])]),
    g.ints([G, m, d]),
  ]);
  return { loss, grads: { W: gW, v: gv } };
}

/**
 * Loss and gradients of G configurations, in chunks whose n×(chunk·m) intermediates stay
 * cache-sized (about {@link CHUNK_ELEMENTS} floats): configurations within a chunk share stacked
 * GEMMs; a chunk of one configuration uses the single-configuration lowering. Stacking every
 * configuration of a wide net into one [n, G·m] product was measured slower per configuration
 * than one configuration at a time (its elementwise passes no longer fit in the L3 cache).
 */
function emitGridModel(
  g: OnnxGraph,
  plan: StepPlan,
  G: number,
  X: string,
  Y: string,
  params: Record<string, string>,
  gradients: boolean,
  chunkElements: number,
): { loss: string; grads: Record<string, string> } {
  const spec = plan.spec;
  if (spec.kind !== 'shallow' && spec.kind !== 'paired')
    throw new Error('unreachable: grid specs are shallow or paired');
  const chunk = Math.max(1, Math.min(G, Math.floor(chunkElements / (plan.n * spec.width))));
  if (chunk >= G) return emitStacked(g, plan, G, X, Y, params, gradients);
  const sizes: number[] = [];
  for (let c = 0; c < G; c += chunk) sizes.push(Math.min(chunk, G - c));
  const split = (v: string): string[] =>
    g.opN('Split', [v, g.ints(sizes)], sizes.length, { axis: attr.i(0) });
  const Ws = split(params.W!);
  const vs = split(params.v!);
  const losses: string[] = [];
  const gWs: string[] = [];
  const gvs: string[] = [];
  for (const [i, size] of sizes.entries()) {
    let out: { loss: string; grads: Record<string, string> };
    if (size === 1) {
      const W = g.op('Squeeze', [Ws[i]!, g.ints([0])]);
      const v = g.op('Squeeze', [vs[i]!, g.ints([0])]);
      const r = lowerModelOnnx(g, spec, { X, Y, params: { W, v } }, plan.loss, { gradients });
      const un = (x: string): string => g.op('Unsqueeze', [x, g.ints([0])]);
      out = { loss: un(r.loss), grads: gradients ? { W: un(r.grads.W!), v: un(r.grads.v!) } : {} };
    } else out = emitStacked(g, plan, size, X, Y, { W: Ws[i]!, v: vs[i]! }, gradients);
    losses.push(out.loss);
    if (gradients) {
      gWs.push(out.grads.W!);
      gvs.push(out.grads.v!);
    }
  }
  const cat = (xs: string[]): string => g.op('Concat', xs, { axis: attr.i(0) });
  return { loss: cat(losses), grads: gradients ? { W: cat(gWs), v: cat(gvs) } : {} };
}

/**
 * The grid case: trains G configurations of the same shallow or paired architecture, loss, data
 * and optimizer structure together in one fused onnxruntime graph, where only the step sizes
 * (per group) and the Frobenius-ball radii (per group) — and of course initial parameters and
 * anchors — differ between configurations. The hidden layers of all configurations are stacked
 * so that the forward and gradient products are single large GEMMs ([n, d]·[d, G·m]), which is
 * where the throughput over one-configuration-at-a-time training comes from. Each
 * configuration follows the iterates `createOnnxTrainer` gives it alone (to float32 tolerance).
 * Full batch only; losses `halfSse` or `mse`.
 *
 * @param engine - a started onnxruntime engine (`startOnnx()` of @narrownet/engine)
 * @param configs - the configurations (at least one)
 * @param options - steps fused per call (ONNX Loop or unrolled), state placement, extra session options
 */
export async function createOnnxGridTrainer(
  engine: OnnxEngineLike,
  configs: readonly TrainerConfig[],
  options: OnnxGridTrainerOptions = {},
): Promise<GridTrainer> {
  const where = 'createOnnxGridTrainer';
  checkEngine(engine, where);
  if (!Array.isArray(configs) || configs.length === 0)
    throw new RangeError(`${where}: configs must be a non-empty array of trainer configs`);
  const K = options.stepsPerCall ?? 1;
  if (!Number.isInteger(K) || K < 1)
    throw new RangeError(
      `${where}: options.stepsPerCall must be a positive integer, got ${options.stepsPerCall}`,
    );
  // The cache-sized chunks were measured on a CPU; a GPU wants the largest GEMMs: stack everything.
  const chunkElements =
    options.chunkElements ?? ((engine.device ?? 'cpu') === 'cpu' ? CHUNK_ELEMENTS : Number.POSITIVE_INFINITY);
  if (!(chunkElements > 0))
    throw new RangeError(`${where}: options.chunkElements must be > 0, got ${options.chunkElements}`);
  const plans = configs.map((c, i) => planStep(c, `${where}: configs[${i}]`));
  const plan = plans[0]!;
  const G = configs.length;
  const first = configs[0]!;
  if (plan.spec.kind !== 'shallow' && plan.spec.kind !== 'paired')
    throw new RangeError(
      `${where}: the grid trainer supports shallow and paired specs; use createOnnxTrainer for ${plan.spec.kind}`,
    );
  if (plan.loss !== 'halfSse' && plan.loss !== 'mse')
    throw new RangeError(`${where}: loss must be halfSse or mse, got ${JSON.stringify(plan.loss)}`);
  const specKey = JSON.stringify(plan.spec);
  const optKey = optimizerShape(plan.optimizer);
  for (const [i, c] of configs.entries()) {
    if (JSON.stringify(c.spec) !== specKey)
      throw new RangeError(
        `${where}: configs[${i}].spec differs from configs[0].spec; a grid shares one architecture`,
      );
    if (c.loss !== plan.loss)
      throw new RangeError(`${where}: configs[${i}].loss differs from configs[0].loss`);
    if (plans[i]!.batchSize !== undefined)
      throw new RangeError(
        `${where}: configs[${i}].batchSize: mini-batches are not supported by the grid trainer`,
      );
    if (c.data.n !== first.data.n || !sameArray(c.data.X, first.data.X) || !sameArray(c.data.Y, first.data.Y))
      throw new RangeError(
        `${where}: configs[${i}].data differs from configs[0].data; a grid shares its data`,
      );
    if (optimizerShape(c.optimizer) !== optKey)
      throw new RangeError(
        `${where}: configs[${i}].optimizer differs from configs[0].optimizer in more than lr and ball radius`,
      );
  }
  // Per-group hyperparameter inputs.
  const hyperValues: Record<string, Float32Array> = {};
  const lrNames: (string | undefined)[] = [];
  const radiusNames: (string | undefined)[] = [];
  const anchorNames: string[] = [];
  for (const [gi, group] of plan.optimizer.groups.entries()) {
    const lrs = configs.map((c) => c.optimizer.groups[gi]!.lr);
    if (lrs.every((x) => x === 0)) {
      lrNames.push(undefined);
      radiusNames.push(undefined);
      continue;
    }
    if (lrs.some((x) => x === 0))
      throw new RangeError(
        `${where}: optimizer group ${gi} has lr 0 in some configurations only; freeze a group in all or none`,
      );
    hyperValues[`lr.${gi}`] = Float32Array.from(lrs);
    lrNames.push(`lr.${gi}`);
    if (group.projection?.kind === 'frobeniusBall') {
      hyperValues[`radius.${gi}`] = Float32Array.from(
        configs.map((c) => {
          const p = c.optimizer.groups[gi]!.projection;
          return p?.kind === 'frobeniusBall' ? p.radius : Number.NaN;
        }),
      );
      radiusNames.push(`radius.${gi}`);
      anchorNames.push(...group.params);
    } else radiusNames.push(undefined);
  }
  const stacked = (name: string): number[] => [G, ...plan.shapes[name]!];
  const paramShapes: Record<string, number[]> = {};
  for (const name of Object.keys(plan.shapes)) paramShapes[name] = stacked(name);
  const slotShapes: Record<string, number[]> = {};
  for (const [s, shape] of Object.entries(plan.slotShapes)) slotShapes[s] = [G, ...shape];
  const anchorShapes: Record<string, number[]> = {};
  for (const name of anchorNames) anchorShapes[name] = stacked(name);
  const hyperShapes: Record<string, number[]> = {};
  for (const name of Object.keys(hyperValues)) hyperShapes[name] = [G];
  const desc: FusedDesc = {
    d: plan.d,
    k: plan.k,
    paramShapes,
    slotShapes,
    anchorShapes,
    hyperShapes,
    lossShape: [G],
    emitModel: (g, X, Y, params, gradients) =>
      emitGridModel(g, plan, G, X, Y, params, gradients, chunkElements),
    emitUpdate: (g, io) =>
      lowerOptimizerOnnx(g, plan.optimizer, plan.shapes, io, {
        batch: G,
        lr: lrNames.map((n) => (n ? io.hyper[n] : undefined)),
        radius: radiusNames.map((n) => (n ? io.hyper[n] : undefined)),
      }),
  };
  const placement = resolvePlacement(engine, options, where);
  const so: InferenceSession.SessionOptions = { logSeverityLevel: 3, ...options.sessionOptions };
  const transfer = createTransfer(engine, placement.resident, so);
  const [[stepSession, loopSession], lossSession] = await Promise.all([
    createStepSessions(engine, desc, K, placement.loop, transfer, so),
    engine.createSession(buildFusedEval(desc, false), so),
  ]);
  const f32 = (data: Float32Array, shape: readonly number[]): Tensor =>
    new engine.ort.Tensor('float32', data, [...shape]);
  const stack = (trees: ParamTree[], name: string): Float32Array => {
    const size = trees[0]![name]!.data.length;
    const out = new Float32Array(G * size);
    for (const [c, t] of trees.entries()) out.set(t[name]!.data, c * size);
    return out;
  };
  const anchorTrees = configs.map((c) => cloneParams(c.anchors ?? c.params));
  const hostConst: Record<string, Tensor> = {
    X: f32(first.data.X.slice(), [plan.n, plan.d]),
    Y: f32(first.data.Y.slice(), [plan.n, plan.k]),
  };
  for (const name of anchorNames) hostConst[`a.${name}`] = f32(stack(anchorTrees, name), anchorShapes[name]!);
  for (const [name, values] of Object.entries(hyperValues)) hostConst[`h.${name}`] = f32(values, [G]);
  const constFeeds = await transfer.upload(hostConst);
  const stepTensorOf = (n: number): Tensor =>
    new engine.ort.Tensor('int64', BigInt64Array.from([BigInt(n)]), []);
  const initial: Record<string, Tensor> = { step: stepTensorOf(0) };
  for (const name of Object.keys(plan.shapes))
    initial[`p.${name}`] = f32(
      stack(
        configs.map((c) => c.params),
        name,
      ),
      paramShapes[name]!,
    );
  for (const [s, shape] of Object.entries(slotShapes))
    initial[`s.${s}`] = f32(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  let { step: stepTensor, ...state } = await transfer.upload(initial);
  let step = 0;
  let disposed = false;
  const check = (): void => {
    if (disposed) throw new Error('onnx grid trainer: used after dispose()');
  };
  let diverged: (number | undefined)[] = new Array(G).fill(undefined);
  /** Records the first non-finite loss of each configuration; `losses` is [count, G], from `from` on. */
  const noteLosses = (losses: Float32Array, from: number): void => {
    for (let i = 0; i < losses.length; i++) {
      const c = i % G;
      if (diverged[c] === undefined && !Number.isFinite(losses[i]!)) diverged[c] = from + Math.floor(i / G);
    }
  };
  const advance = async (session: InferenceSession, count: number, wantLoss: boolean) => {
    const out = await session.run({ ...constFeeds, ...state, step: stepTensor });
    // The losses at the iterates this call stepped from (`loss` for one step, `losses` [K, G] for K)
    // are read at every call, so each configuration's first non-finite step is exact; with
    // device-resident state that is K·G floats per call, next to the state that stays put.
    const host = await transfer.download({
      at: count === 1 ? out.loss! : out.losses!,
      ...(wantLoss && count > 1 ? { reached: out.loss! } : {}),
    });
    noteLosses(host.at!, step);
    const next: Record<string, Tensor> = {};
    for (const name of Object.keys(plan.shapes)) next[`p.${name}`] = out[`P.${name}`]!;
    for (const s of Object.keys(slotShapes)) next[`s.${s}`] = out[`S.${s}`]!;
    transfer.release([...Object.values(state), stepTensor!]);
    state = next;
    stepTensor = out.step_out!;
    step += count;
    transfer.release([out.loss!, ...(out.losses ? [out.losses] : [])]);
    return wantLoss ? (count > 1 ? host.reached : host.at) : undefined;
  };
  return {
    size: G,
    info: onnxTrainerInfo(engine),
    async run(steps: number): Promise<number[]> {
      check();
      if (!Number.isInteger(steps) || steps < 0)
        throw new RangeError(`onnx grid trainer.run: steps must be an integer ≥ 0, got ${steps}`);
      let final = await advanceInChunks(steps, K, loopSession, stepSession, advance);
      if (final === undefined) {
        const feeds: Record<string, Tensor> = { X: constFeeds.X!, Y: constFeeds.Y! };
        for (const name of Object.keys(plan.shapes)) feeds[`p.${name}`] = state[`p.${name}`]!;
        final = (await lossSession.run(feeds)).loss!.data as Float32Array;
      }
      noteLosses(final, step);
      return Array.from(final);
    },
    divergedAt: () => [...diverged],
    async states(): Promise<TrainerState[]> {
      check();
      const host = await transfer.download(state);
      const slice = (
        data: Float32Array,
        shape: readonly number[],
        c: number,
      ): { shape: number[]; data: Float32Array } => {
        const size = shape.reduce((a, b) => a * b, 1);
        return { shape: [...shape], data: data.slice(c * size, (c + 1) * size) };
      };
      return configs.map((_, c) => {
        const params: ParamTree = {};
        for (const [name, shape] of Object.entries(plan.shapes))
          params[name] = slice(host[`p.${name}`]!, shape, c);
        const slots: ParamTree = {};
        for (const [s, shape] of Object.entries(plan.slotShapes)) slots[s] = slice(host[`s.${s}`]!, shape, c);
        return { step, params, slots, anchors: cloneParams(anchorTrees[c]!) };
      });
    },
    async setStates(next: readonly TrainerState[]): Promise<void> {
      check();
      const fn = 'onnx grid trainer.setStates';
      if (!Array.isArray(next) || next.length !== G)
        throw new RangeError(`${fn}: expected ${G} states (one per configuration), got ${next?.length}`);
      const s0 = next[0]!.step;
      if (!Number.isInteger(s0) || s0 < 0)
        throw new RangeError(`${fn}: states[0].step must be an integer ≥ 0, got ${s0}`);
      for (const [c, st] of next.entries())
        if (st.step !== s0)
          throw new RangeError(
            `${fn}: states[${c}].step is ${st.step}, states[0].step is ${s0}; a grid shares its step`,
          );
      // every tensor of every state has its configuration's shape; then `stack` them as at creation
      const stackOf = (kind: 'params' | 'slots' | 'anchors', name: string, shape: readonly number[]) => {
        const trees = next.map((st, c) => {
          const t = st[kind]?.[name];
          if (
            !t ||
            t.data.length !== sizeOf(shape) ||
            t.shape.length !== shape.length ||
            t.shape.some((x: number, i: number) => x !== shape[i])
          )
            throw new RangeError(
              `${fn}: states[${c}].${kind}.${name} must have shape [${shape.join(', ')}], got ${t ? `[${t.shape.join(', ')}]` : 'nothing'}`,
            );
          return st[kind];
        });
        return stack(trees, name);
      };
      const fresh: Record<string, Tensor> = { step: stepTensorOf(s0) };
      for (const [name, shape] of Object.entries(plan.shapes))
        fresh[`p.${name}`] = f32(stackOf('params', name, shape), paramShapes[name]!);
      for (const [sl, shape] of Object.entries(plan.slotShapes))
        fresh[`s.${sl}`] = f32(stackOf('slots', sl, shape), slotShapes[sl]!);
      for (const name of anchorNames)
        fresh[`a.${name}`] = f32(stackOf('anchors', name, plan.shapes[name]!), anchorShapes[name]!);
      // validated everything: now commit
      const up = await transfer.upload(fresh);
      const old = [...Object.values(state), stepTensor!, ...anchorNames.map((n) => constFeeds[`a.${n}`]!)];
      state = {};
      for (const [key, t] of Object.entries(up)) {
        if (key.startsWith('a.')) constFeeds[key] = t;
        else if (key !== 'step') state[key] = t;
      }
      transfer.release(old);
      for (const [c, st] of next.entries())
        for (const name of anchorNames)
          anchorTrees[c]![name] = { shape: [...plan.shapes[name]!], data: st.anchors[name]!.data.slice() };
      step = s0;
      stepTensor = up.step!;
      diverged = new Array(G).fill(undefined);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      transfer.release([...Object.values(constFeeds), ...Object.values(state), stepTensor!]);
      await Promise.all([
        transfer.dispose(),
        ...[stepSession, loopSession, lossSession].map((s) => (s ? s.release() : Promise.resolve())),
      ]);
    },
  };
}
