// Every library package must import in a browser bundle without any Node built-in: its `.`
// export under the `browser` condition (its browser entry) is bundled by esbuild for the browser
// platform, and esbuild fails on any `node:*`, `fs`, `path`… it cannot resolve. Peer
// dependencies (tfjs-core, onnxruntime-common) stay external: the page brings its own.
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildFailure, build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = readdirSync(join(root, 'packages')).sort();

interface PackageJson {
  name: string;
  peerDependencies?: Record<string, string>;
}

function bundle(dir: string, contents: string) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
  return build({
    stdin: { contents, resolveDir: dir, loader: 'ts' },
    bundle: true,
    write: false,
    metafile: true,
    platform: 'browser',
    format: 'esm',
    // `source` resolves workspace packages to their TypeScript sources (no build needed); the
    // `browser` key comes first in each exports map, so its own `source` entry wins.
    conditions: ['source'],
    external: Object.keys(pkg.peerDependencies ?? {}),
    logLevel: 'silent',
  });
}

const errors = (err: unknown): string =>
  (err as BuildFailure).errors?.map((e) => e.text).join('\n') ?? String(err);
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

describe('browser bundles of the library packages', () => {
  it('covers every package', () => {
    expect(packages).toEqual(['datasets', 'engine', 'init', 'landscape', 'models', 'optim', 'regime']);
  });

  for (const name of packages) {
    it(`@narrownet/${name} bundles for the browser platform with no Node built-in`, async () => {
      const dir = join(root, 'packages', name);
      const result = await bundle(dir, `export * from '@narrownet/${name}';`).catch((err) => {
        throw new Error(`esbuild (platform browser) failed for @narrownet/${name}:\n${errors(err)}`);
      });
      const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
      expect(imports.filter((p) => NODE_BUILTINS.has(p))).toEqual([]);
      expect(result.outputFiles[0]!.contents.length).toBeGreaterThan(0);
    });
  }

  // The check can fail: the Node index of a package with file I/O does not bundle for the browser.
  for (const name of ['models', 'datasets', 'regime', 'engine']) {
    it(`the Node index of @narrownet/${name} (file I/O, Node starters) is refused by the same bundling`, async () => {
      const dir = join(root, 'packages', name);
      await expect(bundle(dir, "export * from './src/index.ts';")).rejects.toThrow(
        /Could not resolve "(node:)?(fs|path|crypto|zlib|module|url|worker_threads)"/,
      );
    });
  }
});
