import { describe, expect, it } from 'vitest';
import {
  type ResNetSpec,
  convForward64,
  convLossAndGrad64,
  createRng,
  initialBuffers,
  planResNet,
  resnet18,
  resnetBufferShapes,
  resnetParamShapes,
  validateResNetSpec,
} from '../src/index.js';
import { lastMaxShifts, loadConvFixture, relError } from './conv-fixture.js';

const CASES = loadConvFixture();

describe('conv nets: float64 reference against PyTorch (fixtures/conv_torch.json)', () => {
  it('has the eight cases: blocks, ResNet-18s, a paired head, ImageNet stems with max pooling, pool ties', () => {
    expect(CASES.map((c) => c.name)).toEqual([
      'basic-blocks',
      'preact-blocks',
      'resnet18-4-8-8-8',
      'preact-resnet18-4-8-8-8',
      'resnet18-paired-head-4-4-4-8',
      'resnet18-imagenet-stem-2-2-4-4',
      'preact-resnet18-imagenet-stem-2-2-4-4',
      'pool-ties',
    ]);
    // The ImageNet-stem cases are resnet18({ layout: 'imagenet' }) at small widths on 3×20×20.
    for (const block of ['basic', 'preact'] as const) {
      const c = CASES.find(
        (x) => x.name === `${block === 'basic' ? '' : 'preact-'}resnet18-imagenet-stem-2-2-4-4`,
      )!;
      expect(c.spec).toEqual(
        resnet18({ block, layout: 'imagenet', widths: [2, 2, 4, 4], input: [3, 20, 20], classes: 3 }),
      );
    }
  });

  it('the tie case tells the first maximum from the last: routing ties to the last would move conv1.weight’s gradient', () => {
    // Recorded by the fixture script from PyTorch's own pool input; the case passes to 1e-10
    // above only if ties go to the first maximum of each window, as PyTorch routes them.
    const shift = lastMaxShifts();
    expect(shift.train).toBeGreaterThan(1e-3);
    expect(shift.eval).toBeGreaterThan(1e-3);
  });

  for (const c of CASES) {
    it(`${c.name}: parameter names, order and shapes are PyTorch's`, () => {
      const shapes = resnetParamShapes(c.spec);
      expect(Object.keys(shapes)).toEqual(c.paramOrder);
      for (const [k, shape] of Object.entries(shapes))
        expect(c.params[k]!.length, k).toBe(shape.reduce((a, b) => a * b, 1));
      expect(Object.keys(resnetBufferShapes(c.spec)).sort()).toEqual(Object.keys(c.buffers).sort());
    });

    for (const mode of ['train', 'eval'] as const) {
      it(`${c.name} (${mode}): logits, loss, every gradient and running statistics to 1e-10`, () => {
        const want = c[mode];
        const got = convLossAndGrad64(c.spec, c.params, c.buffers, c.X, c.Y, c.n, 'softmaxCrossEntropy', {
          train: mode === 'train',
        });
        expect(relError(got.logits, want.logits), 'logits').toBeLessThan(1e-10);
        expect(Math.abs(got.loss - want.loss) / Math.max(1, Math.abs(want.loss)), 'loss').toBeLessThan(1e-10);
        expect(Object.keys(got.grads)).toEqual(c.paramOrder);
        for (const k of c.paramOrder)
          expect(relError(got.grads[k]!, want.grads[k]!), `grad ${k}`).toBeLessThan(1e-10);
        for (const [k, v] of Object.entries(want.buffers))
          expect(relError(got.buffers[k]!, v), `buffer ${k}`).toBeLessThan(1e-10);
        const fwd = convForward64(c.spec, c.params, c.buffers, c.X, c.n, { train: mode === 'train' });
        expect(relError(fwd.logits, want.logits)).toBeLessThan(1e-10);
      });
    }
  }

  it('eval mode leaves the running statistics unchanged and train mode moves them', () => {
    const c = CASES[0]!;
    const ev = convForward64(c.spec, c.params, c.buffers, c.X, c.n, { train: false });
    for (const [k, v] of Object.entries(c.buffers)) expect(Array.from(ev.buffers[k]!)).toEqual(Array.from(v));
    const tr = convForward64(c.spec, c.params, c.buffers, c.X, c.n, { train: true });
    const moved = Object.entries(c.buffers).some(([k, v]) => relError(tr.buffers[k]!, v) > 1e-3);
    expect(moved).toBe(true);
  });
});

describe('conv nets: gradients against central finite differences', () => {
  function fdCheck(spec: ResNetSpec, n: number, train: boolean, seed: number): void {
    const rng = createRng(seed);
    const params: Record<string, Float64Array> = {};
    for (const [k, shape] of Object.entries(resnetParamShapes(spec))) {
      const size = shape.reduce((a, b) => a * b, 1);
      const fanIn = shape.length > 1 ? size / shape[0]! : 0;
      params[k] = Float64Array.from({ length: size }, () =>
        fanIn ? rng.normal() / Math.sqrt(fanIn) : (k.endsWith('weight') ? 1 : 0) + 0.3 * rng.normal(),
      );
    }
    const buffers = initialBuffers(spec);
    for (const [k, b] of Object.entries(buffers))
      for (let i = 0; i < b.length; i++) b[i] = k.endsWith('var') ? 0.5 + rng.uniform() : 0.3 * rng.normal();
    const d = spec.input[0] * spec.input[1] * spec.input[2];
    const X = Float64Array.from({ length: n * d }, () => rng.normal());
    const Y = new Float64Array(n * spec.classes);
    for (let i = 0; i < n; i++) Y[i * spec.classes + Math.floor(rng.uniform() * spec.classes)] = 1;
    const base = convLossAndGrad64(spec, params, buffers, X, Y, n, 'softmaxCrossEntropy', { train });
    const h = 1e-5;
    for (const [k, p] of Object.entries(params)) {
      // Three entries per tensor (first, last, one in between) keep the test fast.
      for (const i of new Set([0, p.length - 1, Math.floor(rng.uniform() * p.length)])) {
        const old = p[i]!;
        p[i] = old + h;
        const up = convLossAndGrad64(spec, params, buffers, X, Y, n, 'softmaxCrossEntropy', { train }).loss;
        p[i] = old - h;
        const down = convLossAndGrad64(spec, params, buffers, X, Y, n, 'softmaxCrossEntropy', { train }).loss;
        p[i] = old;
        const fd = (up - down) / (2 * h);
        const an = base.grads[k]![i]!;
        expect(Math.abs(fd - an), `${k}[${i}] fd ${fd} analytic ${an}`).toBeLessThan(
          1e-7 + 1e-5 * Math.abs(fd),
        );
      }
    }
  }

  const small = (block: 'basic' | 'preact'): ResNetSpec => ({
    kind: 'resnet',
    block,
    input: [2, 5, 6],
    stem: { channels: 3, kernel: 3, stride: 1, padding: 1 },
    stages: [
      { width: 3, blocks: 1, stride: 1 },
      { width: 4, blocks: 2, stride: 2 },
    ],
    classes: 3,
  });
  const pooled = (block: 'basic' | 'preact'): ResNetSpec => ({
    kind: 'resnet',
    block,
    input: [2, 9, 8],
    stem: { channels: 3, kernel: 3, stride: 2, padding: 1, pool: { kernel: 3, stride: 2, padding: 1 } },
    stages: [
      { width: 3, blocks: 1, stride: 1 },
      { width: 4, blocks: 1, stride: 2 },
    ],
    classes: 3,
  });
  for (const block of ['basic', 'preact'] as const)
    for (const train of [true, false])
      it(`${block} net with a max-pooled stem, ${train ? 'train' : 'eval'} mode`, () =>
        fdCheck(pooled(block), 3, train, block === 'basic' ? 11 : 12));
  it('basic net with the paired head, train mode', () =>
    fdCheck({ ...small('basic'), head: 'paired' }, 3, true, 9));
  for (const block of ['basic', 'preact'] as const)
    for (const train of [true, false])
      it(`${block} net, ${train ? 'train' : 'eval'} mode`, () =>
        fdCheck(small(block), 3, train, block === 'basic' ? 7 : 8));
});

describe('resnet18 and spec validation', () => {
  it('CIFAR ResNet-18 has 11,173,962 parameters and PreActResNet18 11,172,170 (PyTorch counts)', () => {
    const count = (s: ResNetSpec) =>
      Object.values(resnetParamShapes(s)).reduce((t, sh) => t + sh.reduce((a, b) => a * b, 1), 0);
    expect(count(resnet18({ classes: 10 }))).toBe(11173962);
    expect(count(resnet18({ classes: 10, block: 'preact' }))).toBe(11172170);
    // Zhang et al.'s narrowest final block: 64 channels in stage 4.
    expect(count(resnet18({ classes: 10, finalWidth: 64 }))).toBe(3050826);
    const plan = planResNet(resnet18({ classes: 10 }));
    expect(plan.values[plan.values.length - 3]).toEqual([512, 4, 4]);
  });

  it("layout 'imagenet' is torchvision's ResNet-18: 11,689,512 parameters, 224 → 112 → 56 → … → 7", () => {
    const spec = resnet18({ classes: 1000, layout: 'imagenet' });
    const count = Object.values(resnetParamShapes(spec)).reduce(
      (t, sh) => t + sh.reduce((a, b) => a * b, 1),
      0,
    );
    expect(count).toBe(11689512); // sum(p.numel() for p in torchvision.models.resnet18().parameters())
    expect(spec.input).toEqual([3, 224, 224]);
    const plan = planResNet(spec);
    expect(plan.layers.slice(0, 4).map((l) => l.op)).toEqual(['conv', 'batchNorm', 'relu', 'maxPool']);
    expect(plan.values.slice(1, 5)).toEqual([
      [64, 112, 112],
      [64, 112, 112],
      [64, 112, 112],
      [64, 56, 56],
    ]);
    expect(plan.values[plan.values.length - 3]).toEqual([512, 7, 7]);
    // Pre-activation: the pooled stem gets bn1 + relu before the pool (fb.resnet.torch preresnet).
    const pre = resnet18({ classes: 10, layout: 'imagenet', block: 'preact' });
    expect(Object.keys(resnetParamShapes(pre)).slice(0, 3)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
    ]);
    expect(planResNet(pre).layers[3]!.op).toBe('maxPool');
    // Without a pool, a pre-activation stem is still the CIFAR layout's single convolution.
    expect(planResNet(resnet18({ classes: 10, block: 'preact' })).layers[1]!.op).toBe('batchNorm');
    expect(Object.keys(resnetParamShapes(resnet18({ classes: 10, block: 'preact' })))[1]).toBe(
      'layer1.0.bn1.weight',
    );
    expect(() => resnet18({ classes: 10, layout: 'svhn' as 'cifar' })).toThrow(/layout must be/);
  });

  it('rejects bad max-pool stems with the field named', () => {
    const good = resnet18({ classes: 10, widths: [4, 4, 4, 4], layout: 'imagenet', input: [3, 32, 32] });
    const stem = good.stem!;
    const withPool = (pool: unknown) => ({ ...good, stem: { ...stem, pool } }) as ResNetSpec;
    expect(() => validateResNetSpec(withPool({ kernel: 0, stride: 2, padding: 0 }))).toThrow(
      /stem\.pool\.kernel/,
    );
    expect(() => validateResNetSpec(withPool({ kernel: 3, stride: 1.5, padding: 0 }))).toThrow(
      /stem\.pool\.stride/,
    );
    expect(() => validateResNetSpec(withPool({ kernel: 3, stride: 2, padding: 2 }))).toThrow(
      /stem\.pool\.padding must be an integer in \[0, ⌊kernel\/2⌋ = 1\], got 2/,
    );
    expect(() => validateResNetSpec(withPool({ kernel: 3, stride: 2, padding: -1 }))).toThrow(
      /stem\.pool\.padding/,
    );
    expect(() => validateResNetSpec(withPool('max'))).toThrow(/stem\.pool must be an object or null/);
    expect(() =>
      validateResNetSpec({ ...withPool({ kernel: 5, stride: 1, padding: 0 }), input: [3, 7, 7] }),
    ).toThrow(/stem\.pool maps 4×4 to an empty 0×0 output/);
    expect(validateResNetSpec(withPool(null))).toBeTruthy();
  });

  it('rejects bad specs with the field named', () => {
    const good = resnet18({ classes: 10, widths: [4, 4, 4, 4] });
    expect(() => validateResNetSpec({ ...good, classes: 0 })).toThrow(/classes/);
    expect(() => validateResNetSpec({ ...good, block: 'dense' as 'basic' })).toThrow(/block/);
    expect(() => validateResNetSpec({ ...good, stages: [{ width: 4, blocks: 0, stride: 1 }] })).toThrow(
      /stages\[0\]\.blocks/,
    );
    expect(() =>
      validateResNetSpec({
        ...good,
        input: [3, 3, 3],
        stem: { channels: 4, kernel: 5, stride: 1, padding: 0 },
      }),
    ).toThrow(/conv1.weight maps 3×3 to an empty/);
    expect(() => validateResNetSpec({ ...good, bnMomentum: 2 })).toThrow(/bnMomentum/);
    expect(() => validateResNetSpec({ ...good, head: 'dense' as 'paired' })).toThrow(/head/);
    expect(() =>
      validateResNetSpec({
        ...good,
        head: 'paired',
        widths: undefined,
        stages: [{ width: 5, blocks: 1, stride: 1 }],
      } as ResNetSpec),
    ).toThrow(/paired head needs an even number/);
  });

  it('rejects missing tensors, wrong sizes and a train-mode batch norm over one value', () => {
    const c = CASES[0]!;
    const { 'layer1.0.conv1.weight': _drop, ...rest } = c.params;
    expect(() => convForward64(c.spec, rest, c.buffers, c.X, c.n, { train: true })).toThrow(
      /missing tensor "layer1.0.conv1.weight"/,
    );
    expect(() => convForward64(c.spec, c.params, c.buffers, c.X.subarray(1), c.n, { train: true })).toThrow(
      /X has/,
    );
    const one: ResNetSpec = { ...c.spec, input: [4, 1, 1], stages: [{ width: 6, blocks: 1, stride: 1 }] };
    const p1 = Object.fromEntries(
      Object.entries(resnetParamShapes(one)).map(([k, s]) => [
        k,
        new Float64Array(s.reduce((a, b) => a * b, 1)),
      ]),
    );
    expect(() =>
      convForward64(one, p1, initialBuffers(one), new Float64Array(4), 1, { train: true }),
    ).toThrow(/more than 1 value per channel/);
  });
});
