import {
  type ResNetSpec,
  convForward64,
  convLossAndGrad64,
  createRng,
  resnet18,
  resnetParamShapes,
  resnetStageParams,
} from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { initResNet } from '../src/index.js';

const small = (block: 'basic' | 'preact', finalWidth = 6): ResNetSpec => ({
  ...resnet18({ block, classes: 4, input: [3, 8, 8], widths: [4, 4, 6, finalWidth] }),
  head: 'paired',
});

function randomX(spec: ResNetSpec, n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n * spec.input[0] * spec.input[1] * spec.input[2] }, () => rng.normal());
}

const data = (t: ReturnType<typeof initResNet>['params']) =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.data]));

describe('initResNet: LeCun', () => {
  it('draws conv and head weights with variance 1/fan_in, batch norms at (1, 0), running stats at (0, 1)', () => {
    const spec = resnet18({ classes: 10 });
    const { params, buffers } = initResNet(spec, {}, createRng(1));
    expect(Object.keys(params)).toEqual(Object.keys(resnetParamShapes(spec)));
    // layer4.1.conv2.weight: 512·512·9 draws, fan_in 512·9; the sample variance is within
    // 5·√(2/N) (relative) of 1/fan_in (the tolerance argument of init.test.ts).
    const w = params['layer4.1.conv2.weight']!.data;
    const s2 = w.reduce((s, x) => s + x * x, 0) / w.length;
    expect(Math.abs(s2 * 512 * 9 - 1)).toBeLessThan(5 * Math.sqrt(2 / w.length));
    const h = params['linear.weight']!.data;
    const h2 = h.reduce((s, x) => s + x * x, 0) / h.length;
    expect(Math.abs(h2 * 512 - 1)).toBeLessThan(5 * Math.sqrt(2 / h.length));
    expect(Array.from(params['layer2.0.bn1.weight']!.data).every((x) => x === 1)).toBe(true);
    expect(Array.from(params['layer2.0.bn1.bias']!.data).every((x) => x === 0)).toBe(true);
    expect(Array.from(params['linear.bias']!.data).every((x) => x === 0)).toBe(true);
    expect(Array.from(buffers['bn1.running_mean']!.data).every((x) => x === 0)).toBe(true);
    expect(Array.from(buffers['bn1.running_var']!.data).every((x) => x === 1)).toBe(true);
  });

  it('is reproducible from the seed and changes with it', () => {
    const spec = small('basic');
    const a = initResNet(spec, {}, createRng(3)).params;
    const b = initResNet(spec, {}, createRng(3)).params;
    const c = initResNet(spec, {}, createRng(4)).params;
    expect(Array.from(a['conv1.weight']!.data)).toEqual(Array.from(b['conv1.weight']!.data));
    expect(Array.from(a['conv1.weight']!.data)).not.toEqual(Array.from(c['conv1.weight']!.data));
  });

  it('plain LeCun with a paired head does not output 0 (the mirroring is what makes it 0)', () => {
    const spec = small('basic');
    const { params, buffers } = initResNet(spec, {}, createRng(5));
    const out = convForward64(spec, data(params), data(buffers), randomX(spec, 4, 6), 4, { train: true });
    expect(out.logits.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});

describe('initResNet: mirrored final stage (Zhang et al. Alg. 2 on the final block)', () => {
  for (const block of ['basic', 'preact'] as const) {
    it(`${block}: the output is exactly 0 in train and eval mode, and the gradients are not`, () => {
      const spec = small(block);
      const { params, buffers } = initResNet(spec, { mirrorFinalStage: true }, createRng(7));
      const X = randomX(spec, 5, 8);
      for (const train of [true, false]) {
        const out = convForward64(spec, data(params), data(buffers), X, 5, { train });
        expect(
          out.logits.every((v) => v === 0),
          `${block} train=${train}`,
        ).toBe(true);
      }
      const Y = new Float64Array(5 * 4);
      for (let i = 0; i < 5; i++) Y[i * 4 + (i % 4)] = 1;
      const g = convLossAndGrad64(spec, data(params), data(buffers), X, Y, 5, 'softmaxCrossEntropy', {
        train: true,
      });
      expect(g.loss).toBeCloseTo(Math.log(4), 12);
      // The final block's weights get a non-zero gradient (training can leave the mirrored point).
      const final = resnetStageParams(spec).filter((k) => k.endsWith('conv1.weight'));
      for (const k of final)
        expect(
          g.grads[k]!.some((v) => v !== 0),
          k,
        ).toBe(true);
    });
  }

  for (const block of ['basic', 'preact'] as const)
    it(`${block} with the ImageNet stem (7×7 conv and max-pool): the output is exactly 0`, () => {
      // The stem's max-pool lies before the final stage; it used to throw "head input is not mirrored".
      const spec: ResNetSpec = {
        ...resnet18({ block, layout: 'imagenet', classes: 3, input: [3, 20, 20], widths: [2, 2, 4, 4] }),
        head: 'paired',
      };
      expect(spec.stem?.pool).toBeTruthy();
      const { params, buffers } = initResNet(spec, { mirrorFinalStage: true }, createRng(11));
      for (const train of [true, false]) {
        const out = convForward64(spec, data(params), data(buffers), randomX(spec, 3, 12), 3, { train });
        expect(
          out.logits.every((v) => v === 0),
          `train=${train}`,
        ).toBe(true);
      }
    });

  it('mirrors the output-channel rows of every final-stage convolution and nothing before it', () => {
    const spec = small('basic', 8);
    const { params } = initResNet(spec, { mirrorFinalStage: true }, createRng(9));
    for (const k of resnetStageParams(spec).filter(
      (n) => n.endsWith('.weight') && params[n]!.shape.length === 4,
    )) {
      const t = params[k]!;
      const row = t.data.length / 8;
      expect(Array.from(t.data.subarray(0, 4 * row)), k).toEqual(Array.from(t.data.subarray(4 * row)));
    }
    const early = params['layer3.0.conv1.weight']!;
    const row = early.data.length / early.shape[0]!;
    expect(Array.from(early.data.subarray(0, 3 * row))).not.toEqual(
      Array.from(early.data.subarray(3 * row, 6 * row)),
    );
  });

  it('absOuter makes the head weights non-negative', () => {
    const { params } = initResNet(small('basic'), { mirrorFinalStage: true, absOuter: true }, createRng(10));
    const v = params['linear.weight']!.data;
    expect(v.every((x) => x >= 0)).toBe(true);
    expect(v.some((x) => x > 0)).toBe(true);
  });

  it('rejects a linear head, an odd final width and non-boolean options', () => {
    const linear = { ...small('basic'), head: 'linear' as const };
    expect(() => initResNet(linear, { mirrorFinalStage: true }, createRng(1))).toThrow(/head = 'paired'/);
    const odd = small('basic', 5);
    expect(() => initResNet(odd, { mirrorFinalStage: true }, createRng(1))).toThrow(/even/);
    expect(() => initResNet(small('basic'), { absOuter: 1 as unknown as boolean }, createRng(1))).toThrow(
      /options.absOuter/,
    );
  });
});
