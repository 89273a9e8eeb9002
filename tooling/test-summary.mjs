// Adds up the vitest JSON reports of every workspace package and prints one closing line,
// "Tests: N passed, N failed, N skipped", so the whole suite has one count.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
const dirs = ['tooling'];
for (const group of ['packages', 'apps'])
  if (existsSync(group)) for (const name of readdirSync(group)) dirs.push(join(group, name));
for (const dir of dirs) {
  if (!existsSync(join(dir, 'vitest.config.ts'))) continue;
  const file = join(dir, '.vitest', 'results.json');
  if (!existsSync(file)) {
    missing.push(dir);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
if (missing.length) console.log(`no test report from: ${missing.join(', ')}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || missing.length > 0 ? 1 : 0;
