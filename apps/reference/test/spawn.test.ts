import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'narrownet-spawn-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function lines(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

describe('the built CLI (dist/cli.js; `turbo run test` builds it first)', () => {
  it('SIGINT mid-sweep exits 130 with a report; --resume completes without repeating runs', async () => {
    expect(existsSync(cli), `${cli} is missing: build the app first (npx tsup)`).toBe(true);
    const dir = join(root, 'killed');
    const args = [
      ...['run', 'synthetic', '--widths', '4,6', '--radii', '0.3,1000', '--lrs1', '0.01', '--lrs2', '0.01'],
      ...['--steps', '8000', '--eval-every', '50', '--n', '24', '--d', '5', '--engine', 'onnx'],
      ...['--device', 'cpu', '--sequential', '--out', dir],
    ];
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const runs = join(dir, 'runs.jsonl');
    const t0 = Date.now();
    while (lines(runs).length < 2 && Date.now() - t0 < 90_000) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await exited;
    const first = lines(runs);
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted');
    expect(first.length).toBeGreaterThanOrEqual(2);
    expect(first.length).toBeLessThan(8);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('Incomplete');
    const seen: string[] = [];
    const sink = { write: () => true };
    const code2 = await main(
      ['run', 'synthetic', '--resume', dir, '--engine', 'onnx', '--device', 'cpu', '--sequential'],
      {
        stdout: sink,
        stderr: sink,
        onRunDone: (r) => seen.push(r.id),
      },
    );
    expect(code2).toBe(0);
    const all = lines(runs).map((l) => JSON.parse(l) as { id: string });
    expect(all).toHaveLength(8);
    expect(new Set(all.map((r) => r.id)).size).toBe(8);
    expect(seen).toHaveLength(8 - first.length);
    expect(lines(runs).slice(0, first.length)).toEqual(first);
  });
});
