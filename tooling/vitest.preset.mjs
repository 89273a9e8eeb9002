// Shared vitest settings. Workspace packages resolve to their TypeScript sources, so a test
// never runs against a stale dist/ of a package it depends on.
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function workspaceAliases() {
  const aliases = [];
  for (const dir of ['packages']) {
    const base = join(root, dir);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const src = join(base, name, 'src', 'index.ts');
      if (existsSync(src)) aliases.push({ find: new RegExp(`^@narrownet/${name}$`), replacement: src });
      const node = join(base, name, 'src', 'node.ts');
      if (existsSync(node))
        aliases.push({ find: new RegExp(`^@narrownet/${name}/node$`), replacement: node });
    }
  }
  return aliases;
}

/** @param {Record<string, unknown>} [overrides] vitest `test` options to merge */
export function vitestPreset(overrides = {}) {
  return {
    resolve: { alias: workspaceAliases() },
    test: {
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      reporters: ['default', 'json'],
      outputFile: { json: '.vitest/results.json' },
      ...overrides,
    },
  };
}
