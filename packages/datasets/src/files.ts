import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Reads a file, gunzipping it when it starts with the gzip magic bytes 1f 8b. */
export function readMaybeGzip(file: string, where: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw new Error(`${where}: cannot read ${file}: ${(e as Error).message}`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (e) {
      throw new Error(`${where}: ${file} is not a valid gzip file (truncated?): ${(e as Error).message}`);
    }
  }
  return raw;
}

/**
 * The first of `names` (relative to `dir`) that exists; throws listing every path tried and, when
 * given, `hint` (how to get the files).
 */
export function findFile(dir: string, names: readonly string[], where: string, hint?: string): string {
  for (const name of names) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `${where}: none of these files exists: ${names.map((n) => join(dir, n)).join(', ')}${hint ? `. ${hint}` : ''}`,
  );
}

/**
 * How to get a dataset that {@link fetchDataset} can download, for the "files absent" errors of
 * the loaders: the call that downloads it (MD5-checked) into a cache directory, and the option
 * that points the loader there.
 */
export function fetchHint(name: string, extra = ''): string {
  return `To get it (needs internet): \`await fetchDataset('${name}', { root: '<cache dir>' })\` downloads it with MD5 checks and returns the directory to pass as options.dir${extra}`;
}
