import type * as tfc from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import {
  type ParamTree,
  cloneParams,
  forwardTf,
  inputDim,
  lossTf,
  outputDim,
  paramShapes,
  requireMlpLike,
} from '@narrownet/models';
import { createTfOptimizer } from '@narrownet/optim';
import { createBatchOrder } from './batches.js';
import { checkFiniteData, checkPredictInput } from './data.js';
import type { Trainer, TrainerConfig, TrainerInfo, TrainerState } from './trainer.js';

/** The tfjs-core module (the one the engine started). */
export type TfModule = typeof tfc;

function checkData(config: TrainerConfig): { n: number; d: number; k: number } {
  const { spec, data } = config;
  const d = inputDim(spec);
  const k = outputDim(spec);
  const n = data?.n;
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`trainer: data.n must be a positive integer, got ${n}`);
  if (data.X.length !== n * d)
    throw new RangeError(`trainer: data.X has ${data.X.length} entries, expected n·d = ${n}·${d}`);
  if (data.Y.length !== n * k)
    throw new RangeError(`trainer: data.Y has ${data.Y.length} entries, expected n·k = ${n}·${k}`);
  checkFiniteData(data, { X: d, Y: k }, 'trainer');
  const b = config.batchSize;
  if (b !== undefined && (!Number.isInteger(b) || b <= 0 || b > n))
    throw new RangeError(`trainer: batchSize must be an integer in [1, n = ${n}], got ${b}`);
  return { n, d, k };
}

/**
 * The general / reference trainer on tfjs: gradients by tfjs autodiff of `lossTf(forwardTf(…))`,
 * updates and projections by optim's tfjs lowering of the optimizer spec. Full batch by default;
 * with `batchSize`, mini-batches in a seeded order that depends only on (seed, step)
 * ({@link batchIndices}). Works for every model spec and on every tfjs backend; the ONNX trainer
 * is the fast path for the papers' models. `run(k)` stops early at an iterate whose (batch) loss or
 * a parameter is non-finite and resolves to that loss (NaN for a parameter), without stepping
 * from it (`state().step` says where). A non-finite gradient at a finite iterate ends the run one
 * step later, at an iterate whose parameters with that gradient are NaN (where the update leads).
 */
export async function createTfjsTrainer(tf: TfModule, config: TrainerConfig): Promise<Trainer> {
  const { loss } = config;
  const spec = requireMlpLike(
    config?.spec,
    'createTfjsTrainer: config.spec (a ResNet trains with createOnnxResNetTrainer)',
  );
  const { n, d, k } = checkData(config);
  const shapes = paramShapes(spec);
  const names = Object.keys(shapes);
  const vars: Record<string, tfc.Variable> = {};
  for (const name of names) {
    const p = config.params[name];
    if (!p) throw new RangeError(`trainer: config.params lacks parameter "${name}"`);
    vars[name] = tf.variable(tf.tensor(p.data, [...p.shape], 'float32'), true);
  }
  const anchors = cloneParams(config.anchors ?? config.params);
  const opt = createTfOptimizer(config.optimizer, vars, anchors);
  const X = tf.tensor2d(config.data.X, [n, d]);
  const Y = tf.tensor2d(config.data.Y, [n, k]);
  const batchSize = config.batchSize !== undefined && config.batchSize < n ? config.batchSize : undefined;
  const order = batchSize !== undefined ? createBatchOrder(n, batchSize, config.seed ?? 0) : undefined;
  let step = 0;
  let disposed = false;

  const lossOf = (ps: Record<string, tfc.Tensor>, x: tfc.Tensor2D, y: tfc.Tensor2D): tfc.Scalar =>
    lossTf(loss, forwardTf(spec, ps, x), y);

  const lossAndGrads = (x: tfc.Tensor2D, y: tfc.Tensor2D) => {
    const f = (...ts: tfc.Tensor[]) => {
      const ps: Record<string, tfc.Tensor> = {};
      for (const [i, name] of names.entries()) ps[name] = ts[i]!;
      return lossOf(ps, x, y);
    };
    const { value, grads } = tf.valueAndGrads(f)(names.map((nm) => vars[nm]!));
    const out: Record<string, tfc.Tensor> = {};
    for (const [i, name] of names.entries()) out[name] = grads[i]!;
    return { value, grads: out };
  };

  /** loss + Σ_p Σ p·0: the loss when every parameter entry is finite, NaN otherwise. */
  const checked = (l: tfc.Scalar): tfc.Scalar =>
    tf.addN([l, ...names.map((nm) => tf.sum(tf.mul(vars[nm]!, 0)))]) as tfc.Scalar;

  const fullLoss = async (): Promise<number> => {
    const l = tf.tidy(() => checked(lossOf(vars, X, Y)));
    const v = (await l.data())[0]!;
    l.dispose();
    return v;
  };

  const check = () => {
    if (disposed) throw new Error('trainer: used after dispose()');
  };

  const info: TrainerInfo = {
    engine: 'tfjs',
    backend: tf.getBackend(),
    device: ['tensorflow-gpu', 'webgpu', 'webgl'].includes(tf.getBackend()) ? 'gpu' : 'cpu',
  };

  return {
    info,
    async run(steps: number): Promise<number> {
      check();
      if (!Number.isInteger(steps) || steps < 0)
        throw new RangeError(`trainer.run: steps must be an integer ≥ 0, got ${steps}`);
      for (let s = 0; s < steps; s++) {
        let bad: number | undefined;
        tf.tidy(() => {
          let x: tfc.Tensor2D = X;
          let y: tfc.Tensor2D = Y;
          if (order !== undefined) {
            const idx = tf.tensor1d(order.indices(step), 'int32');
            x = tf.gather(X, idx);
            y = tf.gather(Y, idx);
          }
          const { value, grads } = lossAndGrads(x, y);
          // One sync: the checked loss, then per parameter Σ grad·0 (NaN iff its gradient has a
          // NaN or infinite entry).
          const probe = tf
            .stack([checked(value), ...names.map((nm) => tf.sum(tf.mul(grads[nm]!, 0)))])
            .dataSync();
          const v = probe[0]!;
          // A non-finite loss or parameter at this iterate: stop here (no step), the caller sees it.
          if (!Number.isFinite(v)) bad = v;
          else if (names.some((_, i) => !Number.isFinite(probe[i + 1]!))) {
            // A finite iterate with a non-finite gradient: the step from it leaves the finite range
            // (the fused ONNX step then yields ±∞/NaN). Record that iterate, with the parameters
            // whose gradient is non-finite set to NaN, and stop there.
            names.forEach((nm, i) => {
              if (!Number.isFinite(probe[i + 1]!)) vars[nm]!.assign(tf.fill(vars[nm]!.shape, Number.NaN));
            });
            step++;
            bad = Number.NaN;
          } else opt.step(grads);
        });
        if (bad !== undefined) return bad;
        step++;
      }
      return fullLoss();
    },
    async evaluate() {
      check();
      const { value, grads } = lossAndGrads(X, Y);
      const checkedValue = checked(value);
      const lossValue = (await checkedValue.data())[0]!;
      checkedValue.dispose();
      const out: ParamTree = {};
      for (const name of names) {
        const g = grads[name]!;
        out[name] = { shape: [...g.shape], data: Float32Array.from(await g.data()) };
      }
      tf.dispose([value, ...Object.values(grads)]);
      return { loss: lossValue, grads: out };
    },
    async predict(x: Float32Array, rows: number): Promise<Float32Array> {
      check();
      checkPredictInput(x, rows, d, 'trainer.predict');
      const out = tf.tidy(() => forwardTf(spec, vars, tf.tensor2d(x, [rows, d])));
      const values = Float32Array.from(await out.data());
      out.dispose();
      return values;
    },
    async state(): Promise<TrainerState> {
      check();
      const params: ParamTree = {};
      for (const name of names) {
        const v = vars[name]!;
        params[name] = { shape: [...v.shape], data: Float32Array.from(await v.data()) };
      }
      return { step, params, slots: cloneParams(opt.slots()), anchors: cloneParams(anchors) };
    },
    async setState(state: TrainerState) {
      check();
      for (const name of names) {
        const p = state.params[name];
        if (!p) throw new RangeError(`trainer.setState: state.params lacks parameter "${name}"`);
        const want = shapes[name]!;
        if (p.shape.length !== want.length || p.shape.some((s, i) => s !== want[i]))
          throw new RangeError(`trainer.setState: ${name} has shape [${p.shape}], expected [${want}]`);
        vars[name]!.assign(tf.tensor(p.data, want, 'float32'));
      }
      opt.setState(state.slots, state.step);
      step = state.step;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose([X, Y, ...Object.values(vars)]);
      opt.dispose();
    },
  };
}
