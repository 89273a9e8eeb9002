import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetOf } from '../src/experiments/kawaguchi-depth-width/data.js';
import { KAWAGUCHI_SCALES } from '../src/experiments/kawaguchi-depth-width/settings.js';
import type { KawaguchiRecord } from '../src/experiments/kawaguchi-depth-width/train.js';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-kdw-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Image i of a fake set: every pixel and channel has the value (i·37 + 11) mod 256 (gray = that / 255). */
const level = (i: number) => (i * 37 + 11) % 256;

/** CIFAR-10 binary batches: `per` records each (label byte, 1024 R, 1024 G, 1024 B), test batch too. */
function writeCifar(dir: string, per: number): void {
  mkdirSync(dir, { recursive: true });
  const names = [1, 2, 3, 4, 5].map((b) => `data_batch_${b}.bin`).concat('test_batch.bin');
  for (const [b, name] of names.entries()) {
    const buf = Buffer.alloc(per * 3073);
    for (let r = 0; r < per; r++) {
      const i = b * per + r;
      buf[r * 3073] = i % 10;
      buf.fill(level(i), r * 3073 + 1, (r + 1) * 3073);
    }
    writeFileSync(join(dir, name), buf);
  }
}

/** One MAT-file v5 data element (tag + data padded to 8 bytes), little-endian. */
function element(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, Buffer.alloc((8 - (data.length % 8)) % 8)]);
}

/** miMATRIX (type 14) named `name` of MATLAB class `cls` with dims and the given real part. */
function matrix(name: string, cls: number, dims: number[], real: Buffer): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(cls, 0);
  const d = Buffer.alloc(4 * dims.length);
  for (const [i, v] of dims.entries()) d.writeInt32LE(v, 4 * i);
  return element(14, Buffer.concat([element(6, flags), element(5, d), element(1, Buffer.from(name)), real]));
}

/** SVHN `train_32x32.mat`: X uint8 [32, 32, 3, n] (class 9, miUINT8 = 2), y double [n, 1] in 1…10. */
function writeSvhn(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  const X = Buffer.alloc(3072 * n);
  for (let i = 0; i < n; i++) X.fill(level(i), i * 3072, (i + 1) * 3072);
  const y = Buffer.alloc(8 * n);
  for (let i = 0; i < n; i++) y.writeDoubleLE((i % 10) + 1, 8 * i);
  const header = Buffer.alloc(128, 32);
  header.write('MATLAB 5.0 MAT-file, written by narrownet test', 0);
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126);
  writeFileSync(
    join(dir, 'train_32x32.mat'),
    Buffer.concat([
      header,
      matrix('X', 9, [32, 32, 3, n], element(2, X)),
      matrix('y', 6, [n, 1], element(9, y)),
    ]),
  );
}

describe('kawaguchi-depth-width on CIFAR-10 and SVHN files (no network)', () => {
  const data = join(root, 'data');
  writeCifar(join(data, 'cifar-10-batches-bin'), 6);
  writeSvhn(join(data, 'svhn'), 20);

  it('reads the first n training images, centre-crop 28×28 → gray → 12×12, one-hot targets', () => {
    const s = { ...KAWAGUCHI_SCALES.smoke, dataDir: data, imageN: 14 };
    for (const name of ['cifar10', 'svhn'] as const) {
      const d = datasetOf(s, name);
      expect([d.n, d.d, d.k]).toEqual([14, 144, 10]);
      for (let i = 0; i < 14; i++) {
        // a constant image stays constant through crop, gray and area resize
        for (let p = 0; p < 144; p++) expect(d.X[i * 144 + p]!).toBeCloseTo(level(i) / 255, 5);
        const label = name === 'cifar10' ? i % 10 : ((i % 10) + 1) % 10;
        for (let c = 0; c < 10; c++) expect(d.Y[i * 10 + c]).toBe(c === label ? 1 : 0);
      }
    }
  });

  it('runs both sets end to end: one record per cell with 144 inputs, √J and √L at init', async () => {
    const dir = join(root, 'run');
    const c = io();
    const code = await main(
      [
        'run',
        'kawaguchi-depth-width',
        '--scale',
        'smoke',
        '--datasets',
        'cifar10,svhn',
        '--data-dir',
        data,
        '--image-n',
        '16',
        '--depths',
        '1',
        '--widths',
        '3',
        '--out',
        dir,
      ],
      c,
    );
    expect(code, c.err()).toBe(0);
    const recs = records<KawaguchiRecord>(dir);
    expect(recs.map((r) => r.id).sort()).toEqual(['cifar10/H1/m3', 'svhn/H1/m3']);
    for (const r of recs) {
      expect(r.n).toBe(16);
      expect(r.params).toBe(144 * 3 + 3 * 10);
      expect(r.sqrtLInit).toBeGreaterThan(0);
      expect(r.jInit?.converged).toBe(true);
    }
  }, 120_000);

  for (const name of ['cifar10', 'svhn']) {
    it(`${name} files missing: exit 2 naming the files, --data-dir and --fetch; nothing written`, async () => {
      const empty = join(root, `empty-${name}`);
      mkdirSync(empty);
      const out = join(root, `no-${name}`);
      const c = io();
      const code = await main(
        [
          'run',
          'kawaguchi-depth-width',
          '--scale',
          'smoke',
          '--datasets',
          name,
          '--data-dir',
          empty,
          '--out',
          out,
        ],
        c,
      );
      expect(code).toBe(2);
      const want = name === 'cifar10' ? 'data_batch_1.bin' : 'train_32x32.mat';
      expect(c.err()).toContain(want);
      expect(c.err()).toContain(`--data-dir ${empty}`);
      expect(c.err()).toContain('--fetch');
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(empty)).toEqual([]);
    });
  }
});
