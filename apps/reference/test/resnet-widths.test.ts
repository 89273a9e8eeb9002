import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESNET_FIGURE, checkResNetClaims, resnetCells } from '../src/experiments/resnet-widths/report.js';
import { R_IMAGENET_CLASSES, imageSetRows, loadRImageNet } from '@narrownet/datasets';
import {
  RESNET_WIDTHS_SCALES,
  R_IMAGENET_PAPER_FLAGS,
  type ResNetWidthsSettings,
} from '../src/experiments/resnet-widths/settings.js';
import {
  type ResNetRecord,
  classInterleaved,
  loadResNetSplits,
  rImageNetBytes,
  rImageNetTrainSide,
  resnetRuns,
  resnetSplits,
} from '../src/experiments/resnet-widths/train.js';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-resnet-widths-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const smoke = RESNET_WIDTHS_SCALES.smoke;

/**
 * The records of `dir` are every run of `s`, each trained to its last epoch (or diverged) with a
 * test accuracy in [0, 1] counted over the `classes` classes of the test images; returns them.
 */
function expectRuns(dir: string, s: ResNetWidthsSettings, classes: number): ResNetRecord[] {
  const rs = records<ResNetRecord>(dir);
  expect(rs.map((r) => r.id).sort()).toEqual(
    resnetRuns(s)
      .map((p) => p.id)
      .sort(),
  );
  for (const r of rs) {
    expect(['budget', 'diverged']).toContain(r.status);
    if (r.status !== 'budget') continue;
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(r.testAccuracy).toBeLessThanOrEqual(1);
    expect(r.testPerClassTotal).toHaveLength(classes);
    expect(r.testPerClassTotal!.reduce((a, b) => a + b, 0)).toBe(s.testN);
    expect(r.curve.at(-1)!.epoch).toBe(s.epochs);
  }
  return rs;
}

/** A finished run's record with only the fields the claim rules read. */
const rec = (arm: 'regular' | 'alg2', width: number, radius: number | null, seed: number, acc: number) =>
  ({
    id: `${arm}/${width}/${radius}/${seed}`,
    arm,
    width,
    radius,
    seed,
    status: 'budget',
    testAccuracy: acc,
  }) as ResNetRecord;

describe('narrownet run resnet-widths --scale smoke (end to end)', () => {
  const dir = join(root, 'rw');
  const c = io();
  let code = -1;
  beforeAll(async () => {
    code = await main(['run', 'resnet-widths', '--scale', 'smoke', '--out', dir], c);
  }, 300_000);

  it('exits 0 and stores every arm × width × ε × seed run with accuracies', () => {
    expect(code, c.err()).toBe(0);
    const rs = expectRuns(dir, smoke, 10);
    // the seeds are different runs
    const s0 = rs.find((r) => r.id === 'regular/w4/s0')!;
    const s1 = rs.find((r) => r.id === 'regular/w4/s1')!;
    expect(s0.curve).not.toEqual(s1.curve);
  });

  it('writes the figure and report.html with the claims, not covered on Fashion-MNIST', () => {
    expect(existsSync(join(dir, RESNET_FIGURE))).toBe(true);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('shows the machinery, not the paper');
    expect(html).toMatch(/<b>not covered<\/b>/);
    expect(c.out() + c.err()).toMatch(/not covered +on R-ImageNet/);
  });
});

describe('resnet-widths data and verdicts', () => {
  it('pads Fashion-MNIST to 32×32 NCHW (one channel) with the standardised background value', () => {
    const { splits, input } = resnetSplits(smoke);
    expect(input).toEqual([1, 32, 32]);
    expect(splits.train.X.length).toBe(smoke.trainN * 1024);
    // the corner pixel is padding: the value a raw 0 standardises to
    expect(splits.train.X[0]).toBeCloseTo(-splits.mean / splits.std, 6);
  });

  const cifar = { ...RESNET_WIDTHS_SCALES.paper, seeds: [0, 1] };

  it('cells: mean and standard error over seeds', () => {
    const [cell] = resnetCells([rec('regular', 64, null, 0, 0.9), rec('regular', 64, null, 1, 0.8)]);
    expect(cell!.mean).toBeCloseTo(0.85, 12);
    expect(cell!.se).toBeCloseTo(Math.sqrt(0.005) / Math.SQRT2, 12);
  });

  it('on CIFAR the verdicts follow the numbers: Alg. 2 far below regular is not reproduced', () => {
    const below = [
      ...[0, 1].map((s) => rec('regular', 64, null, s, 0.9 + 0.001 * s)),
      ...[0, 1].map((s) => rec('regular', 512, null, s, 0.9 + 0.001 * s)),
      ...[0, 1].map((s) => rec('alg2', 64, 1, s, 0.5 + 0.001 * s)),
      ...[0, 1].map((s) => rec('alg2', 512, 1, s, 0.5 + 0.001 * s)),
    ];
    const [onPar, narrow] = checkResNetClaims(below, cifar);
    expect(onPar!.verdict).toBe('not reproduced');
    expect(narrow!.verdict).toBe('reproduced');
    const above = below.map((r) => (r.arm === 'alg2' ? { ...r, testAccuracy: 0.95 } : r));
    expect(checkResNetClaims(above, cifar)[0]!.verdict).toBe('reproduced');
    // regular training collapsing at the narrow width is not the paper's "does not fail"
    const collapsed = below.map((r) =>
      r.arm === 'regular' && r.width === 64 ? { ...r, testAccuracy: 0.3 } : r,
    );
    expect(checkResNetClaims(collapsed, cifar)[1]!.verdict).toBe('not reproduced');
    // the same numbers on Fashion-MNIST are not evidence for a CIFAR claim
    expect(checkResNetClaims(above, smoke)[0]!.verdict).toBe('not covered');
  });

  it('bad settings are rejected naming the flag, and nothing is written', async () => {
    for (const [flags, named] of [
      [['--widths', '3'], '--widths'],
      [['--trunk-widths', '4,4'], '--trunk-widths'],
      [['--schedule', 'multistep', '--milestones', '2'], '--milestones'],
      [['--data', 'cifar10', '--data-dir', join(root, 'none')], '--data'],
    ] as const) {
      const c = io();
      const out = join(root, `bad-${flags.join('-').replace(/[^a-z0-9-]/gi, '')}`);
      expect(await main(['run', 'resnet-widths', '--scale', 'smoke', ...flags, '--out', out], c)).toBe(2);
      expect(c.err()).toContain(named);
      expect(existsSync(join(out, 'runs.jsonl'))).toBe(false);
    }
  });
});

/**
 * A fake ImageNet folder: 1000 wnid-like folders under train/ (sorted = index order), each of the
 * 100 ImageNet classes of R-ImageNet holding one training and one validation JPEG (the PIL-written
 * JPEGs of datasets' fixture, a different one per R-ImageNet class).
 */
function fakeImageNet(dir: string): void {
  const cases: { jpeg: string }[] = JSON.parse(
    readFileSync(new URL('../../../packages/datasets/test/fixtures/jpeg_pil.json', import.meta.url), 'utf8'),
  ).cases;
  const wnids = Array.from({ length: 1000 }, (_, i) => `n${String(i * 7 + 1000).padStart(8, '0')}`);
  for (const w of wnids) mkdirSync(join(dir, 'train', w), { recursive: true });
  R_IMAGENET_CLASSES.forEach((c, label) => {
    const bytes = Buffer.from(cases[label % cases.length]!.jpeg, 'base64');
    for (const index of c.imagenetIndices) {
      const w = wnids[index]!;
      mkdirSync(join(dir, 'val', w), { recursive: true });
      writeFileSync(join(dir, 'train', w, `${w}_1.JPEG`), bytes);
      writeFileSync(join(dir, 'val', w, `ILSVRC2012_val_${w}.JPEG`), bytes);
    }
  });
}

describe('narrownet run resnet-widths --data rimagenet (a fake ImageNet folder, end to end)', () => {
  const imagenet = join(root, 'imagenet');
  const dir = join(root, 'rw-rimagenet');
  const c = io();
  let code = -1;
  const s: ResNetWidthsSettings = {
    ...smoke,
    data: 'rimagenet',
    imagenetDir: imagenet,
    imageSize: 16,
    trainN: 40,
    testN: 40,
    limitPerClass: 3,
    schedule: 'multistep',
    milestones: [1],
  };
  beforeAll(async () => {
    fakeImageNet(imagenet);
    code = await main(
      [
        'run',
        'resnet-widths',
        '--scale',
        'smoke',
        '--data',
        'rimagenet',
        '--imagenet-dir',
        imagenet,
        '--image-size',
        '16',
        '--limit-per-class',
        '3',
        '--schedule',
        'multistep',
        '--milestones',
        '1',
        '--out',
        dir,
      ],
      c,
    );
  }, 300_000);

  it('loads train/ and val/ at the image size, 20 classes, class-balanced prefixes', async () => {
    const { splits, input } = await loadResNetSplits(s);
    expect(input).toEqual([3, 16, 16]);
    // no float copy of either split: rows are cropped per batch from 8-bit pixels
    expect(splits.train.X.length).toBe(0);
    expect(splits.test.X.length).toBe(0);
    expect(splits.train.rows!.d).toBe(3 * 16 * 16);
    expect(splits.train.rows!.n).toBe(40);
    expect(splits.train.k).toBe(20);
    // 3 of 5 images decoded per class and split; the first 40, classes in turn: every class twice
    for (const split of [splits.train, splits.test]) {
      expect(split.n).toBe(40);
      const counts = new Array(20).fill(0);
      for (const l of split.labels!) counts[l]++;
      expect(counts).toEqual(new Array(20).fill(2));
    }
    expect(classInterleaved([0, 0, 1, 2, 1], 3)).toEqual(Int32Array.from([0, 2, 3, 1, 4]));
  });

  it('streams App. H.2 crops: training pixels at 18×18 for random 16×16 crops, test centre crops, global train mean/std', async () => {
    const { splits } = await loadResNetSplits(s);
    // independent path: the whole split through loadRImageNet, the same class-interleaved prefix
    const load = async (split: 'train' | 'val', size: number, resize: number) => {
      const set = await loadRImageNet({ root: imagenet, split, size, resize, limitPerClass: 3 });
      return imageSetRows(set, classInterleaved(set.labels, 20).subarray(0, 40));
    };
    const train18 = await load('train', 18, 18); // round(16 · 256/224) = 18
    const test16 = await load('val', 16, 18);
    // mean/std: every training pixel /255 of the held 18×18 images, in float64
    let sum = 0;
    for (const v of train18.X) sum += v;
    const mean = sum / train18.X.length;
    let q = 0;
    for (const v of train18.X) q += (v - mean) ** 2;
    expect(splits.mean).toBeCloseTo(mean, 6);
    expect(splits.std).toBeCloseTo(Math.sqrt(q / train18.X.length), 6);
    expect(Array.from(splits.train.labels!)).toEqual(Array.from(train18.labels!));
    // evaluation rows of both splits: the centre 16×16 (offset 1 in 18×18; 0 in the 16×16 test images), NCHW
    const nchw = (ds: typeof train18, side: number, off: number, i: number) => {
      const out = new Float64Array(3 * 256);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 16; y++)
          for (let x = 0; x < 16; x++)
            out[(c * 16 + y) * 16 + x] =
              (ds.X[i * side * side * 3 + ((y + off) * side + x + off) * 3 + c]! - splits.mean) / splits.std;
      return out;
    };
    const idx = Int32Array.from([7, 0, 39]);
    const close = (got: Float32Array, want: Float64Array[]) => {
      let err = 0;
      for (const [r, w] of want.entries())
        for (const [j, v] of w.entries()) err = Math.max(err, Math.abs(got[r * 768 + j]! - v));
      expect(got).toHaveLength(want.length * 768);
      expect(err).toBeLessThan(1e-5);
    };
    close(
      await splits.train.rows!.rows(idx),
      [7, 0, 39].map((i) => nchw(train18, 18, 1, i)),
    );
    close(
      await splits.test.rows!.rows(idx),
      [7, 0, 39].map((i) => nchw(test16, 16, 0, i)),
    );
    // training batches: random crops, a function of (seed, epoch, step) only
    const b = { seed: 0, epoch: 0, step: 3 };
    const batch = await splits.train.rows!.rows(idx, b);
    expect(await splits.train.rows!.rows(idx, { ...b })).toEqual(batch);
    expect(await splits.train.rows!.rows(idx, { ...b, step: 4 })).not.toEqual(batch);
    // the test split's "training" rows are centre crops too (it is never trained on)
    expect(await splits.test.rows!.rows(idx, b)).toEqual(await splits.test.rows!.rows(idx));
  });

  it('exits 0 and stores every run with test accuracies over the 20 classes', () => {
    expect(code, c.err()).toBe(0);
    expectRuns(dir, s, 20);
  });

  it('evaluates the R-ImageNet claim from the numbers; the CIFAR claims are not covered', () => {
    const claims = checkResNetClaims(records<ResNetRecord>(dir), s);
    expect(claims[0]!.verdict).toBe('not covered');
    expect(claims[0]!.measured).toContain('this sweep ran on rimagenet');
    expect(claims[2]!.measured).toMatch(/^at width 2: Alg\. 2 \(ε = 1\)/);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('ImageNet layout');
    expect(html).toContain('training images held at 18×18 and randomly cropped to 16×16');
    expect(html).toContain(claims[2]!.measured.slice(0, 40));
    const line = (c.out() + c.err()).split('\n').find((l) => l.includes('on R-ImageNet'));
    expect(line).toContain(claims[2]!.verdict);
  });
});

describe('the R-ImageNet claim (3) follows the numbers', () => {
  const rin: ResNetWidthsSettings = { ...RESNET_WIDTHS_SCALES.paper, data: 'rimagenet', seeds: [0, 1] };
  const sweep = (regNarrow: number, alg2Narrow: number) => [
    ...[0, 1].map((s) => rec('regular', 64, null, s, regNarrow + 0.001 * s)),
    ...[0, 1].map((s) => rec('regular', 512, null, s, 0.9 + 0.001 * s)),
    ...[0, 1].map((s) => rec('alg2', 64, 0.1, s, alg2Narrow + 0.001 * s)),
    ...[0, 1].map((s) => rec('alg2', 64, 1000, s, 0.2 + 0.001 * s)),
  ];
  it('reproduced, partly, not reproduced; not covered on CIFAR data or with one seed', () => {
    expect(checkResNetClaims(sweep(0.6, 0.9), rin)[2]!.verdict).toBe('reproduced');
    expect(checkResNetClaims(sweep(0.9, 0.9), rin)[2]!.verdict).toBe('partly');
    expect(checkResNetClaims(sweep(0.6, 0.6), rin)[2]!.verdict).toBe('not reproduced');
    expect(checkResNetClaims(sweep(0.6, 0.9), rin)[0]!.verdict).toBe('not covered');
    expect(checkResNetClaims(sweep(0.6, 0.9), RESNET_WIDTHS_SCALES.paper)[2]!.verdict).toBe('not covered');
    const oneSeed = sweep(0.6, 0.9).filter((r) => r.seed === 0);
    expect(checkResNetClaims(oneSeed, { ...rin, seeds: [0] })[2]!.verdict).toBe('not covered');
  });

  it('memory is counted in 8-bit bytes: training images at 256² with random crops, 224² without; test at 224²', () => {
    const paper = { ...rin, imageSize: 224, trainN: 125_000, testN: 5000 };
    expect(rImageNetTrainSide(paper)).toBe(256);
    expect(rImageNetBytes(paper)).toBe(3 * (125_000 * 256 * 256 + 5000 * 224 * 224)); // ≈ 23.6 GiB
    expect(rImageNetBytes({ ...paper, augment: false })).toBe(3 * 130_000 * 224 * 224);
  });

  it('a missing ImageNet folder (or splits too big for memory) exits 2 naming the flag, writing nothing', async () => {
    const empty = join(root, 'empty-imagenet');
    mkdirSync(join(empty, 'train'), { recursive: true });
    mkdirSync(join(empty, 'val'), { recursive: true });
    for (const [flags, named] of [
      [['--imagenet-dir', join(root, 'no-imagenet')], join(root, 'no-imagenet')],
      [['--imagenet-dir', empty, '--image-size', '1024', '--train-n', '10000000'], 'GiB as 8-bit pixels'],
      [[], '--imagenet-dir'],
    ] as const) {
      const c = io();
      const out = join(root, `bad-rimagenet-${flags.length}`);
      const flag = named === 'GiB as 8-bit pixels' ? '--train-n' : '--imagenet-dir';
      const code = await main(
        ['run', 'resnet-widths', '--scale', 'paper', ...R_IMAGENET_PAPER_FLAGS, ...flags, '--out', out],
        c,
      );
      expect(code).toBe(2);
      expect(c.err()).toContain(flag);
      expect(c.err()).toContain(named);
      expect(existsSync(out)).toBe(false);
    }
  });
});
