import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  R_IMAGENET_CLASSES,
  decodeImage,
  imagePixels,
  imageSetRows,
  listImageFolder,
  listRImageNet,
  loadImageFiles,
  loadImageFolder,
  loadRImageNet,
  rImageNetLabel,
} from '../src/index.js';

/** fixtures/jpeg_pil.json (scripts/make_jpeg_fixture.py): JPEGs written by PIL and PIL's decode + resize + crop. */
interface PilCase {
  name: 'rgb' | 'gray' | 'cmyk' | 'rgb-icc';
  mode: string;
  width: number;
  height: number;
  jpeg: Buffer;
  crops: { resize: number; size: number; pixels: Uint8Array }[];
}
const PIL: PilCase[] = JSON.parse(
  readFileSync(new URL('./fixtures/jpeg_pil.json', import.meta.url), 'utf8'),
).cases.map((c: Record<string, unknown>) => ({
  ...c,
  jpeg: Buffer.from(c.jpeg as string, 'base64'),
  crops: (c.crops as { resize: number; size: number; pixels: string }[]).map((k) => ({
    ...k,
    pixels: new Uint8Array(Buffer.from(k.pixels, 'base64')),
  })),
}));
const jpeg = (name: PilCase['name']) => PIL.find((c) => c.name === name)!.jpeg;

const root = mkdtempSync(join(tmpdir(), 'narrownet-imagefolder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, bytes: Buffer): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

function diff(got: Uint8Array, want: Uint8Array): { max: number; mean: number } {
  expect(got.length).toBe(want.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / want.length };
}

describe('decodeImage against PIL + torchvision Resize/CenterCrop (fixtures/jpeg_pil.json)', () => {
  it('the fixture holds an RGB, a grayscale (portrait), a CMYK and an RGB JPEG with an ICC profile', () => {
    expect(PIL.map((c) => [c.name, c.mode, c.width, c.height])).toEqual([
      ['rgb', 'RGB', 41, 30],
      ['gray', 'L', 30, 41],
      ['cmyk', 'CMYK', 41, 30],
      ['rgb-icc', 'RGB', 41, 30],
    ]);
  });

  for (const c of PIL) {
    for (const crop of c.crops) {
      const pure = crop.resize === Math.min(c.width, c.height);
      it(`${c.name}: resize ${crop.resize}, centre crop ${crop.size}: ${pure ? 'decoded pixels within 1' : 'within 2, mean ≤ 0.5'} of PIL's`, async () => {
        const file = write(join(root, 'decode', `${c.name}.JPEG`), c.jpeg);
        const got = await decodeImage(file, { size: crop.size, resize: crop.resize });
        expect(got.length).toBe(crop.size * crop.size * 3);
        const d = diff(got, crop.pixels);
        // No resampling: the JPEG decode itself (both libjpeg-turbo derived, islow IDCT).
        // Otherwise libvips' linear kernel against PIL's antialiased bilinear, both 8-bit.
        expect(d.max, `max |Δ| (mean ${d.mean})`).toBeLessThanOrEqual(pure ? 1 : 2);
        if (!pure) expect(d.mean).toBeLessThanOrEqual(0.5);
        if (c.name === 'gray')
          for (let i = 0; i < got.length; i += 3)
            expect(got[i + 1] === got[i] && got[i + 2] === got[i]).toBe(true);
      });
    }
  }

  it('centre-crop offsets round halves to even as torchvision does (4.5 → 4, not 5)', async () => {
    const file = write(join(root, 'decode', 'rgb.JPEG'), jpeg('rgb'));
    const want = PIL[0]!.crops.find((k) => k.resize === 16)!.pixels; // 41×30 → 21×16, left offset 4.5
    const got = await decodeImage(file, { size: 12, resize: 16 });
    const wide = await decodeImage(file, { size: 13, resize: 16 }); // offsets 4 (left) and round(1.5) = 2 (top)
    const shifted = new Uint8Array(12 * 12 * 3); // columns 5..16, as Math.round's offset 5 would crop
    for (let y = 0; y < 12; y++) shifted.set(wide.subarray((y * 13 + 1) * 3, (y * 13 + 13) * 3), y * 36);
    expect(diff(got, want).max).toBeLessThanOrEqual(2);
    expect(diff(shifted, want).max).toBeGreaterThan(10);
  });

  it('names the file when it cannot be decoded or has an unsupported colour space, and checks the sizes', async () => {
    const bad = write(join(root, 'decode', 'broken.JPEG'), Buffer.from('not a jpeg at all'));
    await expect(decodeImage(bad)).rejects.toThrow(/decodeImage: cannot decode .*broken\.JPEG/);
    const truncated = write(join(root, 'decode', 'truncated.JPEG'), jpeg('rgb').subarray(0, 200));
    await expect(decodeImage(truncated, { size: 8, resize: 10 })).rejects.toThrow(
      /cannot decode .*truncated\.JPEG/,
    );
    // A 16-bit grayscale PNG under a .JPEG name (ImageNet has a PNG named .JPEG, 8-bit, which loads).
    const grey16 = await sharp(Buffer.alloc(4 * 4 * 2, 7), {
      raw: { width: 4, height: 4, channels: 1, premultiplied: false },
    })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const g16 = write(join(root, 'decode', 'grey16.JPEG'), grey16);
    await expect(decodeImage(g16, { size: 2, resize: 4 })).rejects.toThrow(
      /grey16\.JPEG has colour space grey16 with 1 channels; expected 8-bit RGB, grayscale or CMYK/,
    );
    const png8 = write(join(root, 'decode', 'png8.JPEG'), await sharp(jpeg('rgb')).png().toBuffer());
    expect((await decodeImage(png8, { size: 12, resize: 16 })).length).toBe(12 * 12 * 3);
    const file = write(join(root, 'decode', 'rgb.JPEG'), jpeg('rgb'));
    await expect(decodeImage(join(root, 'decode', 'absent.JPEG'))).rejects.toThrow(
      /cannot decode .*absent\.JPEG/,
    );
    await expect(decodeImage(file, { size: 0 })).rejects.toThrow(/size must be a positive integer/);
    await expect(decodeImage(file, { size: 20, resize: 16 })).rejects.toThrow(
      /resize \(16\) must be at least size \(20\)/,
    );
  });
});

describe('listImageFolder / loadImageFolder / imageSetRows', () => {
  const dir = join(root, 'folder');
  write(join(dir, 'b', 'x2.JPEG'), jpeg('gray'));
  write(join(dir, 'b', 'x1.jpg'), jpeg('rgb'));
  write(join(dir, 'b', 'notes.txt'), Buffer.from('ignored'));
  write(join(dir, 'a', 'y1.JPEG'), jpeg('cmyk'));
  write(join(dir, 'c', 'z1.jpeg'), jpeg('rgb'));
  write(join(dir, 'c', 'z2.JPEG'), jpeg('gray'));
  write(join(dir, 'c', 'z3.JPEG'), jpeg('cmyk'));

  it('labels are the sorted class folders; files sorted; only .jpeg/.jpg read', () => {
    const l = listImageFolder({ dir });
    expect(l.classes).toEqual(['a', 'b', 'c']);
    expect(l.files.map((f) => f.slice(dir.length + 1))).toEqual([
      'a/y1.JPEG',
      'b/x1.jpg',
      'b/x2.JPEG',
      'c/z1.jpeg',
      'c/z2.JPEG',
      'c/z3.JPEG',
    ]);
    expect(Array.from(l.labels)).toEqual([0, 1, 1, 2, 2, 2]);
  });

  it('merged classes take files in turn from their folders; limitPerClass caps each class', () => {
    const l = listImageFolder({ dir, classes: [['c', 'b'], 'a'], classNames: ['cb', 'a'], limitPerClass: 3 });
    expect(l.classes).toEqual(['cb', 'a']);
    expect(l.files.map((f) => f.slice(dir.length + 1))).toEqual([
      'c/z1.jpeg',
      'b/x1.jpg',
      'c/z2.JPEG',
      'a/y1.JPEG',
    ]);
    expect(Array.from(l.labels)).toEqual([0, 0, 0, 1]);
  });

  it('loads uint8 HWC pixels equal to decodeImage of each file, and float32 rows /255 with one-hot targets', async () => {
    const set = await loadImageFolder({ dir, size: 12, resize: 16, name: 'tiny' });
    expect(set.n).toBe(6);
    expect(set.shards).toHaveLength(1);
    expect(set.shards[0]).toBeInstanceOf(Uint8Array);
    expect(set.shards[0]!.length).toBe(6 * 12 * 12 * 3);
    // in shards of 4 images (6 = 4 + 2), the same pixels through imagePixels
    const sharded = await loadImageFolder({ dir, size: 12, resize: 16, name: 'tiny', shardImages: 4 });
    expect(sharded.shards.map((s) => s.length)).toEqual([4 * 432, 2 * 432]);
    for (let i = 0; i < set.n; i++) {
      const want = await decodeImage(set.files[i]!, { size: 12, resize: 16 });
      expect(imagePixels(set, i)).toEqual(want);
      expect(imagePixels(sharded, i)).toEqual(want);
    }
    expect(() => imagePixels(set, 6)).toThrow(/imagePixels\(tiny\): index 6 is outside 0\.\.5/);
    expect(imageSetRows(sharded, [5, 0]).X).toEqual(imageSetRows(set, [5, 0]).X);
    const rows = imageSetRows(set, [5, 0]);
    expect(rows.n).toBe(2);
    expect(rows.imageShape).toEqual([12, 12, 3]);
    expect(Array.from(rows.labels!)).toEqual([2, 0]);
    expect(Array.from(rows.Y)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(rows.X[7]).toBeCloseTo(imagePixels(set, 5)[7]! / 255, 7);
    expect(rows.X[432 + 9]).toBeCloseTo(imagePixels(set, 0)[9]! / 255, 7);
    expect(imageSetRows(set).n).toBe(6);
    expect(() => imageSetRows(set, [6])).toThrow(/imageSetRows\(tiny\): index 6 is outside 0\.\.5/);
  });

  it('errors name the missing folder, the missing class folder, the empty class and the bad option', async () => {
    expect(() => listImageFolder({ dir: join(root, 'nowhere') })).toThrow(/folder .*nowhere does not exist/);
    expect(() => listImageFolder({ dir, classes: ['a', 'zz'] })).toThrow(
      /class folder .*folder\/zz does not exist/,
    );
    write(join(root, 'empty-class', 'k', 'readme.txt'), Buffer.from('x'));
    expect(() => listImageFolder({ dir: join(root, 'empty-class') })).toThrow(
      /class folder .*empty-class\/k has no \.jpeg\/\.jpg images/,
    );
    mkdirSync(join(root, 'no-classes'), { recursive: true });
    expect(() => listImageFolder({ dir: join(root, 'no-classes') })).toThrow(
      /no-classes has no class folders/,
    );
    expect(() => listImageFolder({ dir, limitPerClass: 0 })).toThrow(
      /limitPerClass must be a positive integer/,
    );
    expect(() => listImageFolder({ dir, classNames: ['x'] })).toThrow(/classNames has 1 names for 3 classes/);
    write(join(root, 'bad-file', 'a', 'ok.JPEG'), jpeg('rgb'));
    write(join(root, 'bad-file', 'a', 'zz-broken.JPEG'), Buffer.from('garbage'));
    await expect(loadImageFolder({ dir: join(root, 'bad-file'), size: 8, resize: 10 })).rejects.toThrow(
      /cannot decode .*bad-file\/a\/zz-broken\.JPEG/,
    );
  });
});

describe('loadRImageNet: the ImageNet folder layout through rImageNetLabel', () => {
  // 1000 wnid-like folders; the 100 of R-ImageNet get images (train: two, val: one).
  const wnids = Array.from({ length: 1000 }, (_, i) => `n${String(i * 7 + 1000).padStart(8, '0')}`);
  const inR = (i: number) => rImageNetLabel(i) >= 0;
  const imagenet = join(root, 'imagenet');
  wnids.forEach((w, i) => {
    mkdirSync(join(imagenet, 'train', w), { recursive: true });
    if (!inR(i)) return;
    write(join(imagenet, 'train', w, `${w}_1.JPEG`), jpeg(i % 2 ? 'rgb' : 'gray'));
    write(join(imagenet, 'train', w, `${w}_2.JPEG`), jpeg('cmyk'));
    write(join(imagenet, 'val', w, `ILSVRC2012_val_${w}.JPEG`), jpeg('rgb'));
    // The folders an explicit, reversed wnid list points the R-ImageNet indices at.
    const r = wnids[999 - i]!;
    write(join(imagenet, 'val', r, `ILSVRC2012_val_${r}.JPEG`), jpeg('gray'));
  });

  it('reads only the 100 R-ImageNet folders, each labelled with its superclass (20 classes)', async () => {
    const set = await loadRImageNet({ root: imagenet, split: 'train', size: 8, resize: 10 });
    expect(set.n).toBe(200);
    expect(set.classes).toEqual(R_IMAGENET_CLASSES.map((c) => c.name));
    for (let j = 0; j < set.n; j++) {
      const wnid = set.files[j]!.split('/').at(-2)!;
      expect(set.labels[j], set.files[j]).toBe(rImageNetLabel(wnids.indexOf(wnid)));
    }
    const counts = new Array(20).fill(0);
    for (const l of set.labels) counts[l]++;
    expect(counts).toEqual(new Array(20).fill(10));
    // e.g. ImageNet index 402 (the first musical instrument) is class 14.
    expect(set.labels[set.files.findIndex((f) => f.includes(wnids[402]!))]).toBe(14);
  });

  it('listRImageNet lists what loadRImageNet decodes; loadImageFiles decodes a chosen subset', async () => {
    const set = await loadRImageNet({ root: imagenet, split: 'train', size: 8, resize: 10 });
    const listing = listRImageNet({ root: imagenet, split: 'train' });
    expect(listing.files).toEqual(set.files);
    expect(listing.labels).toEqual(set.labels);
    expect(listing.classes).toEqual(set.classes);
    const pick = [150, 3, 77];
    const sub = await loadImageFiles(
      {
        files: pick.map((i) => listing.files[i]!),
        labels: Int32Array.from(pick, (i) => listing.labels[i]!),
        classes: listing.classes,
      },
      { name: 'sub', size: 8, resize: 10, shardImages: 2 },
    );
    expect(sub.n).toBe(3);
    expect(sub.shards).toHaveLength(2);
    pick.forEach((i, j) => {
      expect(imagePixels(sub, j)).toEqual(imagePixels(set, i));
      expect(sub.labels[j]).toBe(set.labels[i]);
    });
    await expect(
      loadImageFiles({ files: ['a'], labels: new Int32Array(2), classes: ['x'] }, { name: 'bad' }),
    ).rejects.toThrow(/loadImageFiles: listing has 1 files and 2 labels/);
  });

  it('val split, limitPerClass and explicit wnids', async () => {
    const val = await loadRImageNet({ root: imagenet, split: 'val', size: 8, resize: 10, limitPerClass: 2 });
    expect(val.n).toBe(40);
    expect(val.name).toBe('r-imagenet-val');
    // Two per class, from two different ImageNet classes of it.
    expect(new Set(val.files.slice(0, 2).map((f) => f.split('/').at(-2))).size).toBe(2);
    const reversed = [...wnids].reverse();
    const swapped = await loadRImageNet({
      root: imagenet,
      split: 'val',
      size: 8,
      resize: 10,
      wnids: reversed,
    });
    // With wnids reversed, index i is folder 999 − i: the folders read are those of indices 999 − i.
    for (let j = 0; j < swapped.n; j++) {
      const wnid = swapped.files[j]!.split('/').at(-2)!;
      expect(swapped.labels[j]).toBe(rImageNetLabel(reversed.indexOf(wnid)));
    }
  });

  it('errors: not 1000 class folders, bad wnids, missing split or class folder, bad split', async () => {
    await expect(loadRImageNet({ root: join(root, 'nowhere'), split: 'train' })).rejects.toThrow(
      /ImageNet folder .*nowhere does not exist/,
    );
    await expect(loadRImageNet({ root: join(root, 'folder'), split: 'train' })).rejects.toThrow(
      /folder\/train does not exist/,
    );
    const partial = join(root, 'partial');
    for (const w of wnids.slice(0, 999)) mkdirSync(join(partial, 'train', w), { recursive: true });
    await expect(loadRImageNet({ root: partial, split: 'train' })).rejects.toThrow(
      /partial\/train has 999 class folders, not ImageNet-1k's 1000.*pass options\.wnids/,
    );
    await expect(loadRImageNet({ root: partial, split: 'train', wnids: wnids.slice(0, 5) })).rejects.toThrow(
      /wnids must list the 1000 ImageNet-1k classes, got 5/,
    );
    await expect(loadRImageNet({ root: partial, split: 'train', wnids })).rejects.toThrow(
      new RegExp(`class folder .*partial/train/${wnids[10]} has no \\.jpeg/\\.jpg images`),
    );
    await expect(loadRImageNet({ root: partial, split: 'val', wnids })).rejects.toThrow(
      /partial\/val does not exist/,
    );
    mkdirSync(join(partial, 'val'), { recursive: true });
    await expect(loadRImageNet({ root: partial, split: 'val', wnids })).rejects.toThrow(
      new RegExp(`class folder .*partial/val/${wnids[10]} does not exist`),
    );
    await expect(loadRImageNet({ root: imagenet, split: 'test' as 'val' })).rejects.toThrow(
      /split must be 'train' or 'val'/,
    );
  });
});
