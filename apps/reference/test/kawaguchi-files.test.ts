import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DATASET_SOURCES, type DatasetSource } from '@narrownet/datasets';
import { datasetOf, prepareKawaguchiData } from '../src/experiments/kawaguchi-depth-width/data.js';
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

/** A plain (ustar) tar archive of the given files, names relative to the archive root. */
function tar(files: { name: string; bytes: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0);
    h.write('0000644\0', 100);
    h.write(`${f.bytes.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.fill(32, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, f.bytes, Buffer.alloc((512 - (f.bytes.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

/** Every file under dir (relative paths), recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1))
    .sort();
}

describe('--fetch of kawaguchi-depth-width against a local HTTP server (MD5-checked)', () => {
  // The files the server hands out: written by the test, then served by name; `/bad/` serves the
  // SVHN file with one byte changed.
  const src = join(root, 'served');
  writeCifar(join(src, 'cifar-10-batches-bin'), 6);
  writeSvhn(join(src, 'svhn'), 20);
  const cifarNames = DATASET_SOURCES.cifar10.extracts!;
  const tgz = tar(
    cifarNames.map((f) => ({
      name: `cifar-10-batches-bin/${f}`,
      bytes: readFileSync(join(src, 'cifar-10-batches-bin', f)),
    })),
  );
  const mat = readFileSync(join(src, 'svhn', 'train_32x32.mat'));
  const bad = Buffer.from(mat);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
  const served: Record<string, Buffer> = {
    '/good/cifar-10-binary.tar.gz': tgz,
    '/good/train_32x32.mat': mat,
    '/bad/train_32x32.mat': bad,
  };
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
  let server: Server;
  let base = '';
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = served[req.url ?? ''];
      res.statusCode = body ? 200 : 404;
      res.end(body ?? 'not here');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const sources = (svhnPath: string): Record<'cifar10' | 'svhn', DatasetSource> => ({
    cifar10: {
      ...DATASET_SOURCES.cifar10,
      files: [{ url: `${base}/good/cifar-10-binary.tar.gz`, file: 'cifar-10-binary.tar.gz', md5: md5(tgz) }],
    },
    svhn: {
      ...DATASET_SOURCES.svhn,
      files: [{ url: `${base}${svhnPath}`, file: 'train_32x32.mat', md5: md5(mat) }],
    },
  });

  it('right checksums: both sets are downloaded into --data-dir and load', async () => {
    const dataDir = join(root, 'fetched');
    const s = { ...KAWAGUCHI_SCALES.smoke, datasets: ['cifar10', 'svhn'], dataDir, fetch: true, imageN: 14 };
    const log: string[] = [];
    await prepareKawaguchiData(s as never, (l) => log.push(l), sources('/good/train_32x32.mat'));
    expect(log.join('')).toContain(`fetching SVHN cropped digits into ${dataDir} (MD5-checked)`);
    expect(requests).toContain('/good/train_32x32.mat');
    expect(requests).toContain('/good/cifar-10-binary.tar.gz');
    expect(filesUnder(join(dataDir, 'svhn'))).toEqual(['train_32x32.mat']);
    for (const name of ['cifar10', 'svhn'] as const) {
      const d = datasetOf(s as never, name);
      expect([d.n, d.d, d.k]).toEqual([14, 144, 10]);
      for (let i = 0; i < 14; i++) expect(d.X[i * 144]!).toBeCloseTo(level(i) / 255, 5);
    }
    // present now: a second prepare fetches nothing
    const before = requests.length;
    await prepareKawaguchiData(s as never, () => {}, sources('/good/train_32x32.mat'));
    expect(requests.length).toBe(before);
  });

  it('wrong checksum: the error names the file and its URL, nothing is written', async () => {
    const dataDir = join(root, 'fetched-bad');
    const s = { ...KAWAGUCHI_SCALES.smoke, datasets: ['svhn'], dataDir, fetch: true };
    await expect(prepareKawaguchiData(s as never, () => {}, sources('/bad/train_32x32.mat'))).rejects.toThrow(
      new RegExp(
        `checksum mismatch for ${base}/bad/train_32x32\\.mat: got md5 ${md5(bad)}, expected ${md5(mat)}; ` +
          `${join(dataDir, 'svhn', 'train_32x32.mat').replace(/[.]/g, '\\.')} not written`,
      ),
    );
    expect(filesUnder(dataDir)).toEqual([]);
  });
});
