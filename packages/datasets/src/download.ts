import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of {@link download}. Give `md5` or `sha256` (or both). */
export interface DownloadOptions {
  /** Source: http(s):// (fetched) or file:// (read locally). */
  url: string;
  /** Destination file path; its directory is created if missing. */
  dest: string;
  /** Expected MD5 hex digest (the checksums torchvision lists). */
  md5?: string;
  /** Expected SHA-256 hex digest. */
  sha256?: string;
  /** The fetch implementation (default: the global fetch). */
  fetch?: (url: string) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
}

function verify(bytes: Uint8Array, options: DownloadOptions): string | undefined {
  for (const algo of ['md5', 'sha256'] as const) {
    const want = options[algo];
    if (want === undefined) continue;
    const got = createHash(algo).update(bytes).digest('hex');
    if (got !== want.toLowerCase()) return `${algo} ${got}, expected ${want}`;
  }
  return undefined;
}

/**
 * Downloads `url` into `dest` with checksum verification, torchvision style: when `dest` already
 * exists with the right checksum nothing is fetched; otherwise the bytes are fetched, verified,
 * written to a temporary file beside `dest` and only then renamed into place, so a failed or
 * corrupt download never leaves a file at `dest`. Resolves to `dest`.
 */
export async function download(options: DownloadOptions): Promise<string> {
  const { url, dest } = options ?? ({} as DownloadOptions);
  if (typeof url !== 'string' || typeof dest !== 'string') {
    throw new TypeError('download: options.url and options.dest must be strings');
  }
  if (options.md5 === undefined && options.sha256 === undefined) {
    throw new TypeError(`download: give md5 or sha256 for ${url}; unverified downloads are not supported`);
  }
  for (const [algo, len] of [
    ['md5', 32],
    ['sha256', 64],
  ] as const) {
    const v = options[algo];
    if (v !== undefined && !new RegExp(`^[0-9a-fA-F]{${len}}$`).test(v)) {
      throw new TypeError(`download: ${algo} must be ${len} hex digits, got ${JSON.stringify(v)}`);
    }
  }
  if (existsSync(dest) && verify(readFileSync(dest), options) === undefined) return dest;
  let bytes: Uint8Array;
  if (url.startsWith('file:')) {
    bytes = readFileSync(fileURLToPath(url));
  } else {
    const f = options.fetch ?? (globalThis.fetch as unknown as NonNullable<DownloadOptions['fetch']>);
    const res = await f(url);
    if (!res.ok) throw new Error(`download: ${url} answered HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  const bad = verify(bytes, options);
  if (bad !== undefined)
    throw new Error(`download: checksum mismatch for ${url}: got ${bad}; ${dest} not written`);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, bytes);
    const again = verify(readFileSync(tmp), options);
    if (again !== undefined) throw new Error(`download: ${tmp} does not verify after writing (${again})`);
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { force: true });
  }
  return dest;
}
