import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { MAX_THREADS, checkOptions, parseOptions } from '../src/options.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-validation-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// a sweep that finishes in a second if a bad value were accepted
const SMALL = [
  ...['--widths', '4', '--radii', '1', '--lrs1', '0.01', '--lrs2', '0.01', '--steps', '2'],
  ...['--eval-every', '1', '--n', '6', '--d', '3', '--engine', 'onnx', '--device', 'cpu'],
];

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  });
  return { code, out: out.join(''), err: err.join('') };
}

/** Runs `narrownet run synthetic <SMALL> <extra> --out <fresh dir>`: must exit 2, write nothing, match. */
async function rejects(extra: string[], message: string | RegExp) {
  const out = join(root, `o${Math.random().toString(36).slice(2)}`);
  const r = await run(['run', 'synthetic', ...SMALL, ...extra, '--out', out]);
  expect(r.code, r.err).toBe(2);
  expect(r.err.trim()).toMatch(
    typeof message === 'string' ? new RegExp(`^narrownet: ${reEscape(message)}`) : message,
  );
  expect(existsSync(out)).toBe(false);
}

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('every option has a range; the error names the flag', () => {
  it('--momentum must be in [0, 1)', async () => {
    await rejects(['--momentum', '1.5'], '--momentum: must be < 1, got 1.5');
    await rejects(['--momentum', '1'], '--momentum: must be < 1, got 1');
    await rejects(['--momentum', '-0.1'], '--momentum: must be ≥ 0, got -0.1');
  });

  it(`--threads is capped (4 × cores, at most 256: here ${MAX_THREADS})`, async () => {
    expect(MAX_THREADS).toBeGreaterThanOrEqual(4);
    expect(MAX_THREADS).toBeLessThanOrEqual(256);
    await rejects(['--threads', '999'], `--threads: must be ≤ ${MAX_THREADS}, got 999`);
    await rejects(['--threads', String(MAX_THREADS + 1)], `--threads: must be ≤ ${MAX_THREADS}`);
  }, 60_000);

  it('--seed is an unsigned 32-bit integer', async () => {
    await rejects(['--seed', '-1'], '--seed: must be ≥ 0, got -1');
    await rejects(['--seed', String(2 ** 32)], `--seed: must be ≤ ${2 ** 32 - 1}`);
  });

  it('duplicate widths, radii, step sizes and regimes are errors naming the flag and the entry', async () => {
    await rejects(['--widths', '4,6,4'], '--widths: 4 is listed twice');
    await rejects(['--radii', '1,1000,1'], '--radii: 1 is listed twice');
    await rejects(['--lrs1', '0.1,0.1'], '--lrs1: 0.1 is listed twice');
    await rejects(['--lrs2', '1e-3,0.001'], '--lrs2: 0.001 is listed twice');
    await rejects(['--regimes', 'zhang2021,zhang2021'], '--regimes: "zhang2021" is listed twice');
  });

  it('help shows each range', async () => {
    const r = await run(['run', 'synthetic', '--help']);
    expect(r.out).toMatch(/--momentum <number>\s+heavy-ball momentum \(with --update sgd\); \[0, 1\)/);
    expect(r.out).toContain(`; [0, ${MAX_THREADS}]`);
  });
});

describe('config files: values have their own types, errors name the file and field', () => {
  const file = (name: string, text: string) => {
    const p = join(root, name);
    writeFileSync(p, text);
    return p;
  };

  it('a string where a number is expected is an error (JSON and YAML); flags stay strings', async () => {
    const j = file('strings.json', JSON.stringify({ widths: ['20'] }));
    await rejects(['--config', j], `${j}: field "widths": expected a number, got "20"`);
    const y = file('strings.yaml', 'steps: "20"\n');
    await rejects(['--config', y], `${y}: field "steps": expected a number, got "20"`);
    const m = file('momentum.yaml', "momentum: '0.5'\n");
    await rejects(['--config', m], `${m}: field "momentum": expected a number`);
    const l = file('list.yaml', 'radii: "1,1000"\n');
    await rejects(['--config', l], `${l}: field "radii": expected a list, got "1,1000"`);
    const b = file('bool.json', JSON.stringify({ sequential: 'true' }));
    await rejects(['--config', b], `${b}: field "sequential": expected true or false`);
  });

  it('a range or cross-field error of a config value names the file and field', async () => {
    const odd = file('odd.yaml', 'widths: [5]\nradii: [1]\n');
    // SMALL sets --widths; drop it so the file's widths are used
    const out = join(root, 'odd-out');
    const args = ['run', 'synthetic', ...SMALL.slice(2), '--config', odd, '--out', out];
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${odd}: field "widths": the paired net of zhang2021 needs even widths, got 5`);
    expect(existsSync(out)).toBe(false);
    const dup = file('dup.json', JSON.stringify({ momentum: 2 }));
    await rejects(['--config', dup], `${dup}: field "momentum": must be < 1, got 2`);
    // a flag overrides the file, and then the flag is named
    const r2 = await run(['run', 'synthetic', ...SMALL, '--config', odd, '--widths', '7', '--out', out]);
    expect(r2.err).toContain('--widths: the paired net of zhang2021 needs even widths, got 7');
  });

  it('checkOptions names the preset when a value came from neither a flag nor a file', () => {
    const defs = [{ key: 'momentum', kind: 'number', min: 0, max: 1, maxExclusive: true, help: '' }] as const;
    const { sources } = parseOptions([], [...defs], 'x');
    expect(() => checkOptions([...defs], { momentum: 1 }, sources, '--scale paper: field')).toThrow(
      '--scale paper: field "momentum": must be < 1, got 1',
    );
    expect(() => checkOptions([...defs], { momentum: 0.9 }, sources, 'x')).not.toThrow();
  });
});

describe('--device gpu on a machine without a GPU (the built CLI, a fresh process)', () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  it("prints only narrownet's own error, no raw onnxruntime or Vulkan log lines", (ctx) => {
    expect(existsSync(cli), `${cli} is missing: build the app first`).toBe(true);
    const out = join(root, 'gpu');
    const r = spawnSync(
      process.execPath,
      [cli, 'run', 'synthetic', ...SMALL.slice(0, -4), '--device', 'gpu', '--out', out],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    if (r.status === 0) ctx.skip('a GPU started on this machine: nothing to check');
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l, r.stderr).toMatch(/^narrownet: /);
    expect(r.stderr).toContain('Use device "cpu" to run without a GPU');
    expect(r.stderr).not.toMatch(/\[E:onnxruntime|Couldn't load Vulkan/);
  }, 90_000);
});
