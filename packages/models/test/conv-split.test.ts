import { startOnnx } from '@narrownet/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ResNetSpec,
  buildConvFeaturesModel,
  convFeatures64,
  convForward64,
  convLossAndGrad64,
  planBufferShapes,
  planParamShapes,
  resnet18,
  resnetParamShapes,
  resnetStageParams,
  splitResNet,
  validateResNetSpec,
} from '../src/index.js';
import { loadConvFixture, relError } from './conv-fixture.js';

type Engine = Awaited<ReturnType<typeof startOnnx>>;
const CASES = loadConvFixture().filter((c) => c.spec.stages.length === 4);

describe('splitResNet: frozen trunk + trained final stage', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startOnnx({ device: 'cpu', threads: 1 });
  });

  for (const c of CASES) {
    it(`${c.name}: the head's parameters are the final stage's and the head's, with the full net's names`, () => {
      const { trunk, head, features } = splitResNet(c.spec);
      validateResNetSpec(head);
      const all = Object.keys(resnetParamShapes(c.spec));
      const headNames = Object.keys(resnetParamShapes(head));
      const trunkNames = Object.keys(planParamShapes(trunk));
      expect([...trunkNames, ...headNames].sort()).toEqual([...all].sort());
      const extra = c.spec.block === 'preact' ? ['bn.weight', 'bn.bias'] : [];
      const headParams = c.spec.head === 'paired' ? ['linear.weight'] : ['linear.weight', 'linear.bias'];
      expect(headNames).toEqual([...resnetStageParams(c.spec), ...extra, ...headParams]);
      for (const k of headNames) expect(resnetParamShapes(head)[k]).toEqual(resnetParamShapes(c.spec)[k]);
      // Strides 1, 2, 2 before the final stage, and the ImageNet stem's 7×7/2 conv and 3×3/2 pool
      // (each ⌈size/2⌉ with their paddings): ⌈H/(4·stem stride·pool stride)⌉ with the third stage's width.
      const down = 4 * c.spec.stem!.stride * (c.spec.stem!.pool?.stride ?? 1);
      expect(features).toEqual([
        c.spec.stages[2]!.width,
        Math.ceil(c.spec.input[1] / down),
        Math.ceil(c.spec.input[2] / down),
      ]);
    });

    it(`${c.name}: eval logits of the head on the trunk's features equal the full net's (float64)`, () => {
      const { head } = splitResNet(c.spec);
      const F = convFeatures64(c.spec, undefined, c.params, c.buffers, c.X, c.n);
      const viaHead = convForward64(head, c.params, c.buffers, F, c.n, { train: false });
      expect(relError(viaHead.logits, c.eval.logits)).toBeLessThan(1e-10);
      // In eval mode the final stage's gradients through the head equal the full net's.
      const g = convLossAndGrad64(head, c.params, c.buffers, F, c.Y, c.n, 'softmaxCrossEntropy', {
        train: false,
      });
      for (const k of Object.keys(g.grads))
        expect(relError(g.grads[k]!, c.eval.grads[k]!), k).toBeLessThan(1e-10);
    });

    it(`${c.name}: buildConvFeaturesModel (float32) matches convFeatures64`, async () => {
      const { trunk } = splitResNet(c.spec);
      const want = convFeatures64(c.spec, undefined, c.params, c.buffers, c.X, c.n);
      const session = await engine.createSession(buildConvFeaturesModel(c.spec));
      const d = c.spec.input[0] * c.spec.input[1] * c.spec.input[2];
      const feeds: Record<string, ReturnType<Engine['tensor']>> = {
        X: engine.tensor(Float32Array.from(c.X), [c.n, d]),
      };
      for (const [k, s] of Object.entries(planParamShapes(trunk)))
        feeds[k] = engine.tensor(Float32Array.from(c.params[k]!), s);
      for (const [k, s] of Object.entries(planBufferShapes(trunk)))
        feeds[k] = engine.tensor(Float32Array.from(c.buffers[k]!), s);
      const out = await session.run(feeds);
      expect(out.features!.dims).toEqual([c.n, want.length / c.n]);
      expect(relError(out.features!.data as Float32Array, want)).toBeLessThan(1e-4);
      await session.release();
    });
  }

  it('splits before any stage; an empty trunk hands the image itself on', () => {
    const spec: ResNetSpec = {
      ...resnet18({ classes: 3, input: [3, 8, 8], widths: [4, 4, 4, 4] }),
      stem: null,
    };
    const first = splitResNet(spec, 0);
    expect(first.trunk.layers).toEqual([]);
    expect(first.features).toEqual([3, 8, 8]);
    expect(Object.keys(resnetParamShapes(first.head))).toEqual(Object.keys(resnetParamShapes(spec)));
    const X = Float64Array.from({ length: 2 * 3 * 64 }, (_, i) => Math.cos(i));
    expect(Array.from(convFeatures64(spec, 0, {}, {}, X, 2))).toEqual(Array.from(X));
    expect(() => splitResNet(spec, 4)).toThrow(/stage must be 0..3/);
    expect(() => validateResNetSpec({ ...spec, stageOffset: -1 })).toThrow(/stageOffset/);
  });
});
