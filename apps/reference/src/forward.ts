import type { Engine } from '@narrownet/engine';
import {
  type MlpLikeSpec,
  type MlpSpec,
  type ModelSpec,
  OnnxGraph,
  type ParamTree,
  type TfParams,
  activateTf,
  forward64,
  forwardTf,
  hiddenOutputs64,
  inputDim,
  lowerActivationOnnx,
  lowerModelOnnx,
  outputDim,
  paramShapes,
  requireMlpLike,
} from '@narrownet/models';

/**
 * Forward passes of a model outside any trainer (kh-generalization's fixed hidden-layer features)
 * on the started engine, in chunks of rows so that memory stays at chunk × width whatever n is.
 * Evaluation of a model being trained goes through its trainer (regime's `evaluateSplit`).
 */

/** What a forward pass computes: the model's outputs, or the last hidden layer of an MLP. */
export type ForwardOutput = 'prediction' | 'lastHidden';

/** Rows per engine call (memory ∝ chunk × the widest layer). */
export const FORWARD_CHUNK = 1024;

/**
 * The hidden part of an MLP: layers [d, m_1, …, m_H] (the last hidden layer's pre-activation as
 * its "output"); the activation and the 1/√m_H scale of eq. 2 are applied after it.
 */
function hiddenPart(spec: MlpLikeSpec): MlpSpec {
  if (spec.kind !== 'mlp' || spec.layers.length < 3)
    throw new RangeError('forward: lastHidden needs an mlp with at least one hidden layer');
  return { ...spec, layers: spec.layers.slice(0, -1) };
}

function paramsOf(spec: ModelSpec, params: ParamTree): ParamTree {
  const out: ParamTree = {};
  for (const name of Object.keys(paramShapes(spec))) {
    const p = params[name];
    if (!p) throw new RangeError(`forward: parameter ${name} missing`);
    out[name] = p;
  }
  return out;
}

type ChunkFn = (X: Float32Array, rows: number) => Promise<Float32Array>;

/** onnxruntime: one session of the lowered forward graph (no backward), fed chunk by chunk. */
async function onnxChunks(
  engine: Extract<Engine, { kind: 'onnx' }>,
  spec: MlpLikeSpec,
  params: ParamTree,
  what: ForwardOutput,
): Promise<{ run: ChunkFn; dispose: () => Promise<void> }> {
  const net = what === 'lastHidden' ? hiddenPart(spec) : spec;
  const shapes = paramShapes(net);
  const g = new OnnxGraph('forward');
  const X = g.input('X', 'float32', ['n', inputDim(net)]);
  // the lowering computes a loss too: against a zero target row [1, k] (broadcast, no n·k input)
  const k = outputDim(net);
  const Y = g.constant({ dtype: 'float32', shape: [1, k], values: new Float32Array(k) });
  const names: Record<string, string> = {};
  for (const [name, shape] of Object.entries(shapes)) names[name] = g.input(name, 'float32', shape);
  let out = lowerModelOnnx(g, net, { X, Y, params: names }, 'mse', { gradients: false }).pred;
  if (what === 'lastHidden') {
    out = lowerActivationOnnx(g, net.activation, out, false).h;
    const mH = (net as MlpSpec).layers.at(-1)!;
    if ((net as MlpSpec).scaled) out = g.op('Mul', [out, g.scalar(1 / Math.sqrt(mH))]);
  }
  g.output(out, 'float32', ['n', outputDim(net)], 'out');
  const session = await engine.createSession(g.toModel());
  const feedsP: Record<string, ReturnType<typeof engine.tensor>> = {};
  for (const [name, shape] of Object.entries(shapes)) feedsP[name] = engine.tensor(params[name]!.data, shape);
  return {
    async run(Xc, rows) {
      const res = await session.run({ ...feedsP, X: engine.tensor(Xc, [rows, inputDim(net)]) });
      const t = res.out!;
      const data = (await t.getData()) as Float32Array;
      const copy = Float32Array.from(data);
      t.dispose();
      return copy;
    },
    dispose: () => session.release(),
  };
}

/** tfjs: the library's forwardTf on the engine's backend (plus σ and the scale for lastHidden). */
function tfjsChunks(
  engine: Extract<Engine, { kind: 'tfjs' }>,
  spec: MlpLikeSpec,
  params: ParamTree,
  what: ForwardOutput,
): { run: ChunkFn; dispose: () => Promise<void> } {
  const tf = engine.tf;
  const net = what === 'lastHidden' ? hiddenPart(spec) : spec;
  const tp: TfParams = {};
  for (const [name, shape] of Object.entries(paramShapes(net)))
    tp[name] = tf.tensor(params[name]!.data, shape) as never;
  return {
    async run(Xc, rows) {
      const y = tf.tidy(() => {
        let z = forwardTf(net, tp, tf.tensor2d(Xc, [rows, inputDim(net)]) as never) as unknown as ReturnType<
          typeof tf.tensor2d
        >;
        if (what === 'lastHidden') {
          z = activateTf(net.activation, z as never) as never;
          const m = net as MlpSpec;
          if (m.scaled) z = tf.mul(z, 1 / Math.sqrt(m.layers.at(-1)!)) as never;
        }
        return z;
      });
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return Float32Array.from(data);
    },
    dispose: async () => {
      for (const t of Object.values(tp)) (t as { dispose(): void }).dispose();
    },
  };
}

/** float64 reference (no engine): the models package's forward64 / hiddenOutputs64. */
function referenceChunks(spec: MlpLikeSpec, tree: ParamTree, what: ForwardOutput): ChunkFn {
  const params = Object.fromEntries(Object.entries(tree).map(([k, t]) => [k, t.data]));
  return async (Xc, rows) => {
    if (what === 'prediction') return Float32Array.from(forward64(spec, params, Xc, rows));
    const hs = hiddenOutputs64(spec, params, Xc, rows);
    return Float32Array.from(hs[hs.length - 1]!);
  };
}

/**
 * The outputs [n, k] (`prediction`) or the last hidden layer [n, m_H] (`lastHidden`, MLPs: σ of
 * the last hidden pre-activation, times 1/√m_H when `scaled`) of a model at `params` on the rows
 * of X [n, d], computed `chunk` rows at a time on `engine` (onnxruntime: the lowered forward
 * graph; tfjs: forwardTf), or in float64 by the reference forward when no engine is given.
 */
export async function forwardRows(
  engine: Engine | undefined,
  specIn: ModelSpec,
  params: ParamTree,
  X: Float32Array,
  n: number,
  what: ForwardOutput,
  chunk = FORWARD_CHUNK,
): Promise<Float32Array> {
  // a conv net needs its running statistics too: evaluate it through its trainer's predict
  const spec = requireMlpLike(specIn, 'forward: spec (for a ResNet use Trainer.predict)');
  const d = inputDim(spec);
  if (X.length !== n * d) throw new RangeError(`forward: X has ${X.length} entries, expected n·d = ${n * d}`);
  if (!(Number.isInteger(chunk) && chunk > 0))
    throw new RangeError(`forward: chunk must be a positive integer, got ${chunk}`);
  const p = paramsOf(what === 'lastHidden' ? hiddenPart(spec) : spec, params);
  const width = what === 'lastHidden' ? hiddenPart(spec).layers.at(-1)! : outputDim(spec);
  const impl =
    engine === undefined
      ? { run: referenceChunks(spec, params, what), dispose: async () => {} }
      : engine.kind === 'onnx'
        ? await onnxChunks(engine, spec, p, what)
        : tfjsChunks(engine, spec, p, what);
  const out = new Float32Array(n * width);
  try {
    for (let i = 0; i < n; i += chunk) {
      const rows = Math.min(chunk, n - i);
      out.set(await impl.run(X.subarray(i * d, (i + rows) * d), rows), i * width);
    }
  } finally {
    await impl.dispose();
  }
  return out;
}
