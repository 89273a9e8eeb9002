// Decode throughput of @narrownet/datasets' ImageNet folder loader on ImageNet-sized JPEGs:
// N synthetic 500×375 quality-90 JPEGs, each decoded, resized (shorter side 256) and centre-cropped
// to 224 — once one file at a time (decodeImage), once as a folder (loadImageFolder, 4 in flight).
// Usage: node bench/imagenet-decode.mjs [--n 200]   (after `pnpm build`)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, loadImageFolder } from '../packages/datasets/dist/index.js';

const sharp = createRequire(new URL('../packages/datasets/package.json', import.meta.url))('sharp');
const at = process.argv.indexOf('--n');
const N = at > 0 ? Number(process.argv[at + 1]) : 200;
if (!Number.isInteger(N) || N <= 0)
  throw new RangeError(`--n must be a positive integer, got ${process.argv[at + 1]}`);
const dir = mkdtempSync(join(tmpdir(), 'bench-decode-'));
try {
  mkdirSync(join(dir, 'c'));
  const w = 500;
  const h = 375;
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i++) {
    const p = Math.floor(i / 3);
    raw[i] = ((p % w) * 0.5 + Math.floor(p / w) * 0.6 + (i % 3) * 40 + ((i * 2654435761) % 31)) & 255;
  }
  for (let i = 0; i < N; i++)
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(join(dir, 'c', `${i}.JPEG`));
  let t = performance.now();
  for (let i = 0; i < N; i++) await decodeImage(join(dir, 'c', `${i}.JPEG`), { size: 224 });
  const seq = (performance.now() - t) / N;
  t = performance.now();
  await loadImageFolder({ dir, size: 224 });
  const folder = (performance.now() - t) / N;
  console.log(
    `${N} JPEGs 500x375 -> 224x224: decodeImage ${seq.toFixed(2)} ms/image one at a time; loadImageFolder ${folder.toFixed(2)} ms/image`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
