import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EngineUnavailableError,
  checkCudaProvider,
  librarySearchPath,
  onnxruntimeNodeDir,
  readElfDynamic,
  startOnnx,
} from '../src/index.js';

/**
 * A minimal little-endian ELF64 shared object: one PT_LOAD mapping the file at vaddr 0x400000
 * (so that addresses differ from offsets) and a PT_DYNAMIC with DT_NEEDED…, DT_RUNPATH, DT_STRTAB.
 */
function fakeElf(needed: string[], runpath?: string): Buffer {
  const names = [...needed, ...(runpath ? [runpath] : [])];
  let strtab = '\0';
  const at: number[] = [];
  for (const n of names) {
    at.push(strtab.length);
    strtab += `${n}\0`;
  }
  const base = 0x400000;
  const dynOff = 64 + 2 * 56;
  const tags: [number, number][] = needed.map((_, i) => [1, at[i]!]);
  if (runpath) tags.push([29, at[needed.length]!]);
  const strOff = dynOff + (tags.length + 2) * 16;
  tags.push([5, base + strOff], [0, 0]);
  const size = strOff + strtab.length;
  const b = Buffer.alloc(size);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b[5] = 1; // little endian
  b[6] = 1;
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(62, 18); // x86-64
  b.writeBigUInt64LE(64n, 0x20); // e_phoff
  b.writeUInt16LE(56, 0x36);
  b.writeUInt16LE(2, 0x38);
  const ph = (i: number, type: number, off: number, len: number) => {
    const p = 64 + i * 56;
    b.writeUInt32LE(type, p);
    b.writeBigUInt64LE(BigInt(off), p + 8);
    b.writeBigUInt64LE(BigInt(base + off), p + 16);
    b.writeBigUInt64LE(BigInt(base + off), p + 24);
    b.writeBigUInt64LE(BigInt(len), p + 32);
    b.writeBigUInt64LE(BigInt(len), p + 40);
  };
  ph(0, 1, 0, size);
  ph(1, 2, dynOff, tags.length * 16);
  for (const [i, [tag, val]] of tags.entries()) {
    b.writeBigUInt64LE(BigInt(tag), dynOff + i * 16);
    b.writeBigUInt64LE(BigInt(val), dynOff + i * 16 + 8);
  }
  b.write(strtab, strOff, 'latin1');
  return b;
}

const hasReadelf = (() => {
  try {
    execFileSync('readelf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('readElfDynamic', () => {
  const { dir } = onnxruntimeNodeDir();
  const linuxX64 = process.platform === 'linux' && process.arch === 'x64';

  it.skipIf(!linuxX64)("reads onnxruntime-node 1.30.0's own libraries (recorded `readelf -d`)", () => {
    expect(readElfDynamic(join(dir, 'libonnxruntime.so.1'))).toEqual({
      needed: [
        'libdl.so.2',
        'librt.so.1',
        'libpthread.so.0',
        'libstdc++.so.6',
        'libm.so.6',
        'libgcc_s.so.1',
        'libc.so.6',
        'ld-linux-x86-64.so.2',
      ],
      soname: 'libonnxruntime.so.1',
      runpath: '$ORIGIN',
    });
    expect(readElfDynamic(join(dir, 'onnxruntime_binding.node'))).toMatchObject({
      needed: ['libonnxruntime.so.1', 'libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libc.so.6'],
      runpath: '$ORIGIN/',
    });
  });

  it.skipIf(!hasReadelf)('agrees with readelf -d on the running node binary', () => {
    const text = execFileSync('readelf', ['-d', process.execPath], { encoding: 'utf8' });
    const want = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
    expect(want.length).toBeGreaterThan(0);
    expect(readElfDynamic(process.execPath).needed).toEqual(want);
  });

  it('reads a hand-made ELF whose string table lies at a virtual address ≠ its file offset', () => {
    const d = mkdtempSync(join(tmpdir(), 'elf-'));
    writeFileSync(join(d, 'x.so'), fakeElf(['liba.so.1', 'libb.so.2'], '$ORIGIN/../lib'));
    expect(readElfDynamic(join(d, 'x.so'))).toEqual({
      needed: ['liba.so.1', 'libb.so.2'],
      runpath: '$ORIGIN/../lib',
    });
  });

  it('names the file when it is not an ELF file or does not exist', () => {
    const d = mkdtempSync(join(tmpdir(), 'elf-'));
    writeFileSync(join(d, 'text.so'), 'not a library at all');
    expect(() => readElfDynamic(join(d, 'text.so'))).toThrow(/text\.so: not an ELF file/);
    expect(() => readElfDynamic(join(d, 'absent.so'))).toThrow(/absent\.so/);
  });
});

describe('checkCudaProvider', () => {
  it('without the provider libraries: both missing, one paragraph naming both install routes', () => {
    const d = mkdtempSync(join(tmpdir(), 'ort-'));
    const r = checkCudaProvider({ dir: d, version: '1.30.0', searchPath: [] });
    expect(r.ok).toBe(false);
    expect(r.missing).toEqual(['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']);
    expect(r.message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(r.message).toContain('onnxruntime-gpu==1.30.0');
    expect(r.message).not.toContain('\n');
  });

  it('with the provider: reads the CUDA major from libcudart and names exactly the libraries not found', () => {
    const d = mkdtempSync(join(tmpdir(), 'ort-'));
    const libs = join(d, 'cuda-libs');
    mkdirSync(libs);
    writeFileSync(join(d, 'libonnxruntime_providers_shared.so'), fakeElf(['libc.so.6']));
    writeFileSync(
      join(d, 'libonnxruntime_providers_cuda.so'),
      fakeElf(
        [
          'libonnxruntime_providers_shared.so',
          'libcudart.so.13',
          'libcublas.so.13',
          'libcudnn.so.9',
          'libc.so.6',
        ],
        '$ORIGIN',
      ),
    );
    for (const f of ['libcudart.so.13', 'libc.so.6']) writeFileSync(join(libs, f), '');
    const r = checkCudaProvider({ dir: d, version: '1.30.0', searchPath: [libs] });
    expect(r).toMatchObject({ ok: false, cudaMajor: 13, missing: ['libcublas.so.13', 'libcudnn.so.9'] });
    expect(r.message).toMatch(/built for CUDA 13 .*not found .*: libcublas\.so\.13, libcudnn\.so\.9\./);
    expect(r.message).not.toContain('\n');
    for (const f of ['libcublas.so.13', 'libcudnn.so.9']) writeFileSync(join(libs, f), '');
    expect(checkCudaProvider({ dir: d, version: '1.30.0', searchPath: [libs] })).toMatchObject({
      ok: true,
      missing: [],
      message: '',
    });
  });

  it('the default search path starts with LD_LIBRARY_PATH', () => {
    expect(librarySearchPath({ LD_LIBRARY_PATH: '/opt/a:/opt/b' }).slice(0, 2)).toEqual(['/opt/a', '/opt/b']);
  });

  it.skipIf(process.platform !== 'linux')(
    'startOnnx({ device: "cuda" }) without the provider says what is missing before onnxruntime tries',
    async () => {
      const report = checkCudaProvider();
      if (report.ok) return; // provider libraries installed here: nothing to check
      const err = await startOnnx({ device: 'cuda' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineUnavailableError);
      expect((err as Error).message).toContain(report.message);
      expect((err as Error).message).not.toContain('\n');
    },
  );
});
