import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DownloadOptions, download } from './download.js';
import { readMaybeGzip } from './files.js';

/** One file to download: its URL, the name it is stored under, and its published MD5. */
export interface SourceFile {
  /** Download URL. */
  readonly url: string;
  /** File name inside the cache directory. */
  readonly file: string;
  /** Published MD5 of the file (as torchvision lists it). */
  readonly md5: string;
}

/** Where a real dataset comes from and how it lands in the cache. */
export interface DatasetSource {
  /** Files to download into `<root>/<dir>`. */
  readonly files: readonly SourceFile[];
  /** Sub-directory of the cache root that the loader reads (after extraction for archives). */
  readonly dir: string;
  /** For .tar.gz archives: the member files that must exist after extraction (relative to `dir`). */
  readonly extracts?: readonly string[];
}

const MNIST = 'https://ossci-datasets.s3.amazonaws.com/mnist/';
const FASHION = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
const idxFiles = (base: string, md5: readonly string[]): SourceFile[] =>
  [
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
  ].map((file, i) => ({ url: base + file, file, md5: md5[i]! }));

/**
 * Official download locations and MD5 checksums (the ones torchvision uses) of the real datasets
 * that {@link fetchDataset} can fetch.
 */
export const DATASET_SOURCES: Readonly<
  Record<'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar100' | 'svhn', DatasetSource>
> = {
  mnist: {
    dir: 'mnist',
    files: idxFiles(MNIST, [
      'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'd53e105ee54ea40749a09fcbcd1e9432',
      '9fb629c4189551a2d022fa330f9573f3',
      'ec29112dd5afa0611ce80d1b7f02629c',
    ]),
  },
  'fashion-mnist': {
    dir: 'fashion-mnist',
    files: idxFiles(FASHION, [
      '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      '25c81989df183df01b3e8a0aad5dffbe',
      'bef4ecab320f06d8554ea6380940ec79',
      'bb300cfdad3c16e7a12a480ee83cd310',
    ]),
  },
  svhn: {
    dir: 'svhn',
    files: [
      {
        url: 'http://ufldl.stanford.edu/housenumbers/train_32x32.mat',
        file: 'train_32x32.mat',
        md5: 'e26dedcc434d2e4c54c9b2d4a06d8373',
      },
      {
        url: 'http://ufldl.stanford.edu/housenumbers/test_32x32.mat',
        file: 'test_32x32.mat',
        md5: 'eb5a983be6a315427106f1b164d9cef3',
      },
    ],
  },
  cifar10: {
    dir: 'cifar-10-batches-bin',
    files: [
      {
        url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
        file: 'cifar-10-binary.tar.gz',
        md5: 'c32a1d4ab5d03f1284b67883e8d87530',
      },
    ],
    extracts: [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
    ],
  },
  cifar100: {
    dir: 'cifar-100-binary',
    files: [
      {
        url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
        file: 'cifar-100-binary.tar.gz',
        md5: '03b5dce01913d631647c71ecec9e9cb8',
      },
    ],
    extracts: ['train.bin', 'test.bin'],
  },
};

/** Options of {@link fetchDataset}. */
export interface FetchDatasetOptions {
  /** Cache root directory (created if missing). */
  root: string;
  /** The fetch implementation (default: the global fetch). */
  fetch?: DownloadOptions['fetch'];
}

/**
 * Downloads a real dataset into a cache directory with MD5 verification (torchvision style) and
 * resolves to the directory its loader reads: `loadMnist({ dir: await fetchDataset('mnist', { root }) })`.
 * Files already present with the right checksum are not fetched again; CIFAR archives are
 * unpacked (regular files only, no paths outside the cache). Needs internet, unlike every loader.
 */
export async function fetchDataset(
  name: keyof typeof DATASET_SOURCES,
  options: FetchDatasetOptions,
): Promise<string> {
  const source = Object.hasOwn(DATASET_SOURCES, name) ? DATASET_SOURCES[name] : undefined;
  if (!source) {
    throw new RangeError(
      `fetchDataset: unknown dataset ${JSON.stringify(name)}; valid: ${Object.keys(DATASET_SOURCES).join(', ')}`,
    );
  }
  if (typeof options?.root !== 'string')
    throw new TypeError('fetchDataset: options.root must be a directory path');
  return fetchSource(source, options.root, options.fetch);
}

/**
 * {@link fetchDataset} for a source given in full (URLs, file names, MD5s): a mirror of one of
 * {@link DATASET_SOURCES}, or files served locally. Downloads (and for archives unpacks) the source
 * under `root` with the same checks and resolves to the loader's directory.
 */
export async function fetchSource(
  source: DatasetSource,
  root: string,
  fetch?: DownloadOptions['fetch'],
): Promise<string> {
  const target = join(root, source.dir);
  if (source.extracts) {
    if (source.extracts.every((f) => existsSync(join(target, f)))) return target;
    for (const f of source.files) {
      const archive = await download({
        url: f.url,
        dest: join(root, f.file),
        md5: f.md5,
        ...(fetch ? { fetch } : {}),
      });
      extractTar(archive, root);
    }
    const missing = source.extracts.filter((f) => !existsSync(join(target, f)));
    if (missing.length > 0)
      throw new Error(`fetchDataset: after unpacking, ${target} lacks ${missing.join(', ')}`);
    return target;
  }
  for (const f of source.files) {
    await download({ url: f.url, dest: join(target, f.file), md5: f.md5, ...(fetch ? { fetch } : {}) });
  }
  return target;
}

/**
 * Unpacks the regular files of a (gzipped) tar archive into `root`. Member names must be relative
 * paths of plain segments (no '..', no absolute paths); other entry types are skipped.
 */
export function extractTar(file: string, root: string): string[] {
  const where = 'extractTar';
  const buf = readMaybeGzip(file, where);
  const written: string[] = [];
  let off = 0;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, b: number) => h.toString('latin1', a, b).replace(/\0.*$/s, '');
    const size = Number.parseInt(str(124, 136).trim() || '0', 8);
    const sum = Number.parseInt(str(148, 156).trim(), 8);
    let check = 0;
    for (let i = 0; i < 512; i++) check += i >= 148 && i < 156 ? 32 : h[i]!;
    if (!Number.isFinite(size) || size < 0 || sum !== check) {
      throw new Error(`${where}: ${file}: corrupt tar header at byte ${off}`);
    }
    const prefix = str(257, 263).startsWith('ustar') ? str(345, 500) : '';
    const name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
    const type = String.fromCharCode(h[156]!);
    const start = off + 512;
    if (start + size > buf.length) throw new Error(`${where}: ${file} is truncated inside member ${name}`);
    if (type === '0' || type === '\0') {
      const parts = name.split('/').filter((p) => p.length > 0 && p !== '.');
      if (name.startsWith('/') || parts.some((p) => p === '..')) {
        throw new Error(`${where}: ${file}: refusing member with unsafe path ${JSON.stringify(name)}`);
      }
      const dest = join(root, ...parts);
      mkdirSync(join(root, ...parts.slice(0, -1)), { recursive: true });
      const tmp = `${dest}.part-${process.pid}`;
      writeFileSync(tmp, buf.subarray(start, start + size));
      renameSync(tmp, dest);
      rmSync(tmp, { force: true });
      written.push(dest);
    }
    off = start + Math.ceil(size / 512) * 512;
  }
  return written;
}
