// Docs that cannot drift: every ```ts block of a package's README.md runs as a test, and the packed
// tarball holds every file the README links to (and the LICENSE). Each package calls
// `readmeTests(import.meta.url)` from its test/readme.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The fenced ```ts blocks of a markdown text, with the line each starts on. A block whose info
 * string says `no-run` (e.g. ```ts no-run) is returned with `run: false`; the README must say why
 * next to it (e.g. it downloads a data set).
 * @param {string} text
 * @returns {{ code: string, line: number, run: boolean }[]}
 */
export function tsBlocks(text) {
  const out = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!m) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !lines[j].startsWith('```')) j++;
    out.push({ code: lines.slice(start, j).join('\n'), line: start + 1, run: !/\bno-run\b/.test(m[2]) });
    i = j;
  }
  return out;
}

/**
 * Relative link targets of a markdown text (`[text](target)`, without `#anchors`; web links and
 * pure anchors are left out).
 * @param {string} text
 * @returns {string[]}
 */
export function relativeLinks(text) {
  const out = new Set();
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1].split('#')[0];
    if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    out.add(target.replace(/^\.\//, ''));
  }
  return [...out];
}

/**
 * Paths (relative to the package) that `npm pack --dry-run --json` puts into the tarball.
 * @param {string} pkgDir
 * @returns {string[]}
 */
export function packedFiles(pkgDir) {
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: pkgDir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(json)[0].files.map((f) => f.path);
}

/**
 * Registers the README tests of the package whose test file calls it: every runnable ```ts block
 * runs (written to a temporary folder inside the package, which is also the working directory while it runs, with
 * the workspace packages resolved to their sources), and the packed file list holds README.md,
 * LICENSE and every relatively linked file.
 * @param {string} testFileUrl import.meta.url of the calling test file (in <package>/test/)
 * @param {{ timeout?: number }} [options]
 */
export function readmeTests(testFileUrl, options = {}) {
  const pkgDir = resolve(dirname(fileURLToPath(testFileUrl)), '..');
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const blocks = tsBlocks(readme);
  describe('README.md', () => {
    it('has ts examples', () => {
      expect(blocks.filter((b) => b.run).length).toBeGreaterThan(0);
    });
    for (const [i, b] of blocks.entries()) {
      const title = `\`\`\`ts block ${i + 1} (line ${b.line}) runs`;
      if (!b.run) {
        it.skip(`${title} — marked no-run in the README`, () => {});
        continue;
      }
      it(
        title,
        async () => {
          // inside the package, so bare imports resolve through its node_modules as a user's would
          const dir = mkdtempSync(join(pkgDir, '.readme-run-'));
          const file = join(dir, `block-${i + 1}.ts`);
          writeFileSync(file, `${b.code}\nexport {};\n`);
          const cwd = process.cwd();
          process.chdir(dir);
          try {
            await import(pathToFileURL(file).href);
          } finally {
            process.chdir(cwd);
            rmSync(dir, { recursive: true, force: true });
          }
        },
        options.timeout ?? 120_000,
      );
    }
    it('the packed tarball holds README.md, LICENSE and every file the README links to', () => {
      const files = packedFiles(pkgDir);
      for (const f of ['README.md', 'LICENSE', 'package.json', ...relativeLinks(readme)])
        expect(files, `${f} is linked or required but not packed`).toContain(f);
    });
  });
}
