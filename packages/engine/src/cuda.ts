import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { readElfDynamic } from './elf.js';

/** The two files onnxruntime's CUDA execution provider needs beside libonnxruntime.so. */
export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

/** What {@link checkCudaProvider} found. */
export interface CudaProviderReport {
  /** onnxruntime-node's native folder (where the provider libraries must be). */
  dir: string;
  /** The libraries the CUDA provider links against (DT_NEEDED), when it is present. */
  needed: string[];
  /** The CUDA major version of the runtime it links against (from `libcudart.so.<N>`). */
  cudaMajor?: number;
  /** Files that are missing: provider libraries, or libraries they link against that no search path has. */
  missing: string[];
  /** Whether everything the provider links against was found (the GPU itself is not probed). */
  ok: boolean;
  /** One paragraph saying what is missing and how to get it; empty when `ok`. */
  message: string;
}

/** Options of {@link checkCudaProvider} (tests point them at other folders). */
export interface CudaCheckOptions {
  /** onnxruntime-node's native folder; default: the installed package's `bin/napi-v6/<platform>/<arch>`. */
  dir?: string;
  /** Library search path in the order the dynamic loader uses; default {@link librarySearchPath}. */
  searchPath?: string[];
  /** onnxruntime-node version, for the instructions (default: read from its package.json). */
  version?: string;
}

/** onnxruntime-node's installed native folder and version. */
export function onnxruntimeNodeDir(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('onnxruntime-node/package.json');
  const { version } = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  return { dir: join(dirname(pkgPath), 'bin', 'napi-v6', process.platform, process.arch), version };
}

function confDirs(file: string, seen: Set<string>, out: string[]): void {
  if (seen.has(file) || !existsSync(file)) return;
  seen.add(file);
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    if (line.startsWith('include ')) {
      const pattern = line.slice('include '.length).trim();
      const base = isAbsolute(pattern) ? pattern : join(dirname(file), pattern);
      const dir = dirname(base);
      const glob = base.slice(dir.length + 1);
      const [pre, post] = glob.includes('*') ? glob.split('*', 2) : [glob, undefined];
      const files =
        post === undefined
          ? [base]
          : existsSync(dir)
            ? readdirSync(dir)
                .filter((f) => f.startsWith(pre!) && f.endsWith(post))
                .sort()
                .map((f) => join(dir, f))
            : [];
      for (const f of files) confDirs(f, seen, out);
    } else if (isAbsolute(line)) out.push(line);
  }
}

/**
 * The folders the Linux dynamic loader searches for a library without a RUNPATH: LD_LIBRARY_PATH,
 * the folders of /etc/ld.so.conf (with its includes), then the default system folders.
 */
export function librarySearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const out = (env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.length > 0);
  confDirs('/etc/ld.so.conf', new Set(), out);
  out.push('/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib');
  return [...new Set(out)];
}

/**
 * Checks, without loading anything, whether onnxruntime's CUDA execution provider can start:
 * the provider libraries are in onnxruntime-node's native folder, and every library they link
 * against (read from their ELF DT_NEEDED entries: the CUDA runtime, cuBLAS, cuDNN, cuFFT, …) is
 * found on the loader's search path. When something is missing, `message` says in one paragraph
 * which CUDA the provider was built for, what is missing and both ways to install it.
 */
export function checkCudaProvider(options: CudaCheckOptions = {}): CudaProviderReport {
  const installed = options.dir && options.version ? undefined : onnxruntimeNodeDir();
  const dir = options.dir ?? installed!.dir;
  const version = options.version ?? installed!.version;
  const searchPath = options.searchPath ?? librarySearchPath();
  const missing: string[] = [];
  const needed: string[] = [];
  for (const file of CUDA_PROVIDER_FILES) {
    const path = join(dir, file);
    if (!existsSync(path)) {
      missing.push(file);
      continue;
    }
    const info = readElfDynamic(path);
    const own = (info.runpath ?? '')
      .split(':')
      .filter((d) => d.length > 0)
      .map((d) => d.replace(/\$ORIGIN|\$\{ORIGIN\}/g, dir));
    for (const lib of info.needed) {
      if (!needed.includes(lib)) needed.push(lib);
      const found = [...own, dir, ...searchPath].some((d) => existsSync(join(d, lib)));
      if (!found && !missing.includes(lib)) missing.push(lib);
    }
  }
  const cudart = needed.find((l) => /^libcudart\.so\.\d+/.test(l));
  const cudaMajor = cudart ? Number(cudart.split('.so.')[1]!.split('.')[0]) : undefined;
  const ok = missing.length === 0;
  const providerMissing = missing.filter((m) => CUDA_PROVIDER_FILES.includes(m));
  const libsMissing = missing.filter((m) => !CUDA_PROVIDER_FILES.includes(m));
  let message = '';
  if (providerMissing.length > 0) {
    message =
      `onnxruntime-node ${version} has no CUDA execution provider installed: ${providerMissing.join(' and ')} ` +
      `${providerMissing.length > 1 ? 'are' : 'is'} not in ${dir} (the npm package does not carry them). ` +
      "Install them by either route: (1) rerun onnxruntime-node's install script with network access to " +
      'api.nuget.org: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (pnpm: ' +
      '`ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm rebuild onnxruntime-node`; "cuda12" is the name of its only ' +
      `Linux manifest); or (2) download the onnxruntime-gpu ${version} wheel from PyPI ` +
      `(\`pip download onnxruntime-gpu==${version} --no-deps\`), unzip it and copy ` +
      `onnxruntime/capi/libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so into ${dir}. ` +
      'Either way, the CUDA and cuDNN libraries they link against must be installed too (this check names them once the provider is there).';
  } else if (libsMissing.length > 0) {
    message =
      `onnxruntime's CUDA execution provider (onnxruntime-node ${version}, in ${dir}) is built for ` +
      `${cudaMajor !== undefined ? `CUDA ${cudaMajor}` : 'a CUDA runtime it does not name'} and links against ` +
      `${needed.filter((l) => !/^(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|ld-linux)/.test(l)).join(', ')}; ` +
      `not found on the library search path (LD_LIBRARY_PATH, /etc/ld.so.conf, system folders): ${libsMissing.join(', ')}. ` +
      `Install the CUDA ${cudaMajor ?? ''} runtime libraries and cuDNN 9 for that CUDA (NVIDIA's CUDA toolkit / cuDNN packages, ` +
      `or the pip wheels nvidia-cuda-runtime, nvidia-cublas, nvidia-cufft, nvidia-curand and nvidia-cudnn for CUDA ${cudaMajor ?? 'N'}) ` +
      'and put their lib folders on LD_LIBRARY_PATH; or use device "webgpu" (Vulkan) or "cpu".';
  }
  return { dir, needed, ...(cudaMajor !== undefined ? { cudaMajor } : {}), missing, ok, message };
}
