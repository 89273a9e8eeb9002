import { startOnnx } from '@narrownet/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  OnnxGraph,
  buildConvFeaturesModel,
  buildConvLossGradModel,
  convLossAndGrad64,
  lowerConv2dOnnx,
  lowerConvNetOnnx,
  resnetBufferShapes,
  resnetParamShapes,
} from '../src/index.js';
import { type TorchConvCase, gradFloor, loadConvFixture, relError } from './conv-fixture.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;
type Feeds = Record<string, ReturnType<Engine['tensor']>>;

const CASES = loadConvFixture();
const TOL = 1e-4;

function feeds(engine: Engine, c: TorchConvCase, n = c.n): Feeds {
  const d = c.spec.input[0] * c.spec.input[1] * c.spec.input[2];
  const out: Feeds = {
    X: engine.tensor(Float32Array.from(c.X.subarray(0, n * d)), [n, d]),
    Y: engine.tensor(Float32Array.from(c.Y.subarray(0, n * c.spec.classes)), [n, c.spec.classes]),
  };
  for (const [k, shape] of Object.entries(resnetParamShapes(c.spec)))
    out[k] = engine.tensor(Float32Array.from(c.params[k]!), shape);
  for (const [k, shape] of Object.entries(resnetBufferShapes(c.spec)))
    out[k] = engine.tensor(Float32Array.from(c.buffers[k]!), shape);
  return out;
}

describe('lowerConvNetOnnx / buildConvLossGradModel (float32, onnxruntime CPU) against PyTorch', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  for (const c of CASES) {
    for (const mode of ['train', 'eval'] as const) {
      it(`${c.name} (${mode}): loss, logits, every gradient and the running statistics to ${TOL}`, async () => {
        const want = c[mode];
        const session = await engine.createSession(
          buildConvLossGradModel(c.spec, 'softmaxCrossEntropy', { train: mode === 'train' }),
        );
        const out = await session.run(feeds(engine, c));
        expect(out.loss!.dims).toEqual([]);
        expect(Math.abs((out.loss!.data as Float32Array)[0]! - want.loss), 'loss').toBeLessThan(TOL);
        expect(out.pred!.dims).toEqual([c.n, c.spec.classes]);
        expect(relError(out.pred!.data as Float32Array, want.logits), 'logits').toBeLessThan(TOL);
        for (const [k, shape] of Object.entries(resnetParamShapes(c.spec))) {
          expect(out[`grad.${k}`]!.dims, k).toEqual(shape);
          expect(
            relError(out[`grad.${k}`]!.data as Float32Array, want.grads[k]!, gradFloor(want.grads, k)),
            `grad ${k}`,
          ).toBeLessThan(TOL);
        }
        const bufferOutputs = Object.keys(out).filter((k) => k.startsWith('buffer.'));
        if (mode === 'train') {
          expect(bufferOutputs.length).toBe(Object.keys(c.buffers).length);
          for (const [k, v] of Object.entries(want.buffers))
            expect(relError(out[`buffer.${k}`]!.data as Float32Array, v), `buffer ${k}`).toBeLessThan(TOL);
        } else expect(bufferOutputs).toEqual([]);
        await session.release();
      });
    }
  }

  it('any batch size: 3 rows of the ResNet-18 case against the float64 reference', async () => {
    const c = CASES.find((x) => x.name === 'resnet18-4-8-8-8')!;
    const n = 3;
    const d = c.spec.input[0] * c.spec.input[1] * c.spec.input[2];
    const want = convLossAndGrad64(
      c.spec,
      c.params,
      c.buffers,
      c.X.subarray(0, n * d),
      c.Y.subarray(0, n * c.spec.classes),
      n,
      'softmaxCrossEntropy',
      { train: true },
    );
    const session = await engine.createSession(
      buildConvLossGradModel(c.spec, 'softmaxCrossEntropy', { train: true }),
    );
    const out = await session.run(feeds(engine, c, n));
    expect(relError(out.pred!.data as Float32Array, want.logits)).toBeLessThan(TOL);
    for (const k of Object.keys(want.grads))
      expect(
        relError(out[`grad.${k}`]!.data as Float32Array, want.grads[k]!, gradFloor(want.grads, k)),
        k,
      ).toBeLessThan(TOL);
    for (const k of Object.keys(want.buffers))
      expect(relError(out[`buffer.${k}`]!.data as Float32Array, want.buffers[k]!), k).toBeLessThan(TOL);
    await session.release();
  });

  it('gradients: false emits forward and loss only, with the same logits', async () => {
    const c = CASES[0]!;
    const g = new OnnxGraph('convfwd');
    const d = c.spec.input[0] * c.spec.input[1] * c.spec.input[2];
    const names = {
      X: g.input('X', 'float32', ['n', d]),
      Y: g.input('Y', 'float32', ['n', c.spec.classes]),
      params: Object.fromEntries(
        Object.entries(resnetParamShapes(c.spec)).map(([k, s]) => [k, g.input(k, 'float32', s)]),
      ),
      buffers: Object.fromEntries(
        Object.entries(resnetBufferShapes(c.spec)).map(([k, s]) => [k, g.input(k, 'float32', s)]),
      ),
    };
    const out = lowerConvNetOnnx(g, c.spec, names, 'softmaxCrossEntropy', { train: false, gradients: false });
    expect(out.grads).toEqual({});
    g.output(out.pred, 'float32', ['n', c.spec.classes], 'pred');
    const session = await engine.createSession(g.toModel());
    const res = await session.run(feeds(engine, c));
    expect(relError(res.pred!.data as Float32Array, c.eval.logits)).toBeLessThan(TOL);
    await session.release();
  });

  it('lowerConv2dOnnx: plain Conv without a block or where the block does not divide the channels', () => {
    const g = new OnnxGraph('c');
    const x = g.input('x', 'float32', [1, 4, 5, 5]);
    const w = g.input('w', 'float32', [8, 4, 3, 3]);
    const geometry = { cin: 4, cout: 8, kernel: 3, stride: 1, padding: 1 };
    lowerConv2dOnnx(g, x, w, geometry);
    lowerConv2dOnnx(g, x, w, geometry, 8); // 4 input channels: not a multiple of 8
    expect(Buffer.from(g.toModel()).includes('nchwc')).toBe(false);
    lowerConv2dOnnx(g, x, w, geometry, 4);
    expect(Buffer.from(g.toModel()).includes('com.microsoft.nchwc')).toBe(true);
  });

  it('rejects missing names, an unknown loss and a missing mode', () => {
    const c = CASES[0]!;
    const g = new OnnxGraph('bad');
    const params = Object.fromEntries(Object.keys(resnetParamShapes(c.spec)).map((k) => [k, k]));
    const buffers = Object.fromEntries(Object.keys(resnetBufferShapes(c.spec)).map((k) => [k, k]));
    const { 'layer1.0.bn2.weight': _p, ...lessParams } = params;
    expect(() =>
      lowerConvNetOnnx(g, c.spec, { X: 'X', Y: 'Y', params: lessParams, buffers }, 'halfSse', {
        train: true,
      }),
    ).toThrow(/parameter "layer1.0.bn2.weight"/);
    const { 'layer1.0.bn1.running_var': _b, ...lessBuffers } = buffers;
    expect(() =>
      lowerConvNetOnnx(g, c.spec, { X: 'X', Y: 'Y', params, buffers: lessBuffers }, 'halfSse', {
        train: true,
      }),
    ).toThrow(/buffer "layer1.0.bn1.running_var"/);
    expect(() =>
      lowerConvNetOnnx(g, c.spec, { X: 'X', Y: 'Y', params, buffers }, 'hinge' as 'mse', { train: true }),
    ).toThrow(/unknown loss/);
    expect(() =>
      lowerConvNetOnnx(g, c.spec, { X: 'X', Y: 'Y', params, buffers }, 'mse', {} as { train: boolean }),
    ).toThrow(/options.train/);
    expect(() =>
      lowerConvNetOnnx(g, c.spec, { X: 'X', Y: 'Y', params, buffers }, 'mse', { train: true, nchwcBlock: 0 }),
    ).toThrow(/lowerConvNetOnnx: options.nchwcBlock must be a positive integer, got 0/);
    expect(() => buildConvFeaturesModel(c.spec, undefined, { nchwcBlock: 2.5 })).toThrow(
      /buildConvFeaturesModel: options.nchwcBlock/,
    );
  });
});
