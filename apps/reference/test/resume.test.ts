import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

// Reliability of the embedded store (the run directory) under interruption and hostile input.
// Each test here failed on the code before the sweep engine (see the README's test list).

const root = mkdtempSync(join(tmpdir(), 'narrownet-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const TINY = [
  ...['--widths', '4,6', '--radii', '0.3,1000', '--lrs1', '0.01', '--lrs2', '0.01,0.05'],
  ...['--steps', '40', '--eval-every', '10', '--n', '24', '--d', '5', '--seed', '2'],
];
const ONNX = ['--engine', 'onnx', '--device', 'cpu'];

/** Every file under dir; an entry the running sweep renames or removes during the walk is skipped. */
function files(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return [];
    return st.isDirectory() ? files(p) : [p];
  });
}

describe('resume restores the sweep, never rewrites provenance', () => {
  it('a --sequential sweep resumed without the flag stays sequential: the same numbers as one uninterrupted run', async () => {
    const ref = join(root, 'seq-ref');
    expect(await main(['run', 'synthetic', ...TINY, ...ONNX, '--sequential', '--out', ref], io())).toBe(0);
    const part = join(root, 'seq-part');
    const ac = new AbortController();
    const code1 = await main(['run', 'synthetic', ...TINY, ...ONNX, '--sequential', '--out', part], {
      ...io(),
      signal: ac.signal,
      onRunDone: (_r, k) => {
        if (k === 2) ac.abort();
      },
    });
    expect(code1).toBe(130);
    expect(records(part)).toHaveLength(2);
    const c2 = io();
    expect(await main(['run', 'synthetic', '--resume', part, ...ONNX], c2)).toBe(0);
    const want = new Map(records(ref).map((r) => [r.id, r]));
    const got = records(part);
    expect(got).toHaveLength(16);
    for (const r of got) {
      expect(r.finalLoss, r.id).toBe(want.get(r.id)!.finalLoss);
      expect(r.curve, r.id).toEqual(want.get(r.id)!.curve);
    }
  });

  it('--resume --engine tfjs of a finished onnx sweep trains nothing and leaves the report saying onnx', async () => {
    const dir = join(root, 'prov');
    expect(await main(['run', 'synthetic', ...TINY, ...ONNX, '--out', dir], io())).toBe(0);
    const before = readFileSync(join(dir, 'runs.jsonl'), 'utf8');
    const engineLine = (html: string) => /Engine: <code>([^<]*)<\/code>/.exec(html)?.[1] ?? '';
    expect(engineLine(readFileSync(join(dir, 'report.html'), 'utf8'))).toContain('onnx');
    expect(
      await main(['run', 'synthetic', '--resume', dir, '--engine', 'tfjs', '--device', 'cpu'], io()),
    ).toBe(0);
    expect(readFileSync(join(dir, 'runs.jsonl'), 'utf8')).toBe(before);
    const line = engineLine(readFileSync(join(dir, 'report.html'), 'utf8'));
    expect(line).toContain('onnx');
    expect(line).not.toContain('tfjs');
  });
});

describe('SIGKILL of a sequential run mid-training, then --resume', () => {
  it('keeps the curve before the checkpoint and the total wall time; leaves no temporary file', async () => {
    expect(existsSync(cli), `${cli} is missing: build the app first (npx tsup)`).toBe(true);
    // one run long enough that its part before the checkpoint dominates its wall time
    const args = [
      ...[
        '--widths',
        '40',
        '--radii',
        '1000',
        '--regimes',
        'constrainedRegular',
        '--lrs1',
        '1e-3',
        '--lrs2',
        '1e-3',
      ],
      ...[
        '--steps',
        '14000',
        '--eval-every',
        '1000',
        '--n',
        '200',
        '--d',
        '50',
        '--checkpoint-every',
        '12000',
      ],
      ...ONNX,
      '--sequential',
    ];
    const ref = join(root, 'kill-ref');
    expect(await main(['run', 'synthetic', ...args, '--out', ref], io())).toBe(0);
    const [want] = records(ref);
    const dir = join(root, 'kill');
    const child = spawn(process.execPath, [cli, 'run', 'synthetic', ...args, '--out', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const t0 = Date.now();
    const ckpt = () => files(join(dir, 'checkpoints')).some((p) => p.endsWith('.safetensors'));
    while (!ckpt() && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await exited;
    expect(ckpt(), stderr).toBe(true);
    expect(records(dir)).toHaveLength(0);
    // what a kill in the middle of an atomic write leaves behind
    const ckDir = join(dir, 'checkpoints');
    writeFileSync(join(ckDir, 'torn.safetensors.tmp-1234-abc'), 'half');
    writeFileSync(join(dir, 'config.json.tmp-1234'), '{"half');
    const c2 = io();
    // --sequential given again (allowed: it matches the stored mode) isolates this test from the flag's restore
    expect(await main(['run', 'synthetic', '--resume', dir, ...ONNX, '--sequential'], c2), c2.err()).toBe(0);
    const [got] = records(dir);
    expect(got!.finalLoss).toBe(want!.finalLoss);
    expect(got!.curve).toEqual(want!.curve);
    expect(got!.curve![0]![0]).toBe(0);
    // the resumed part is 2,000 of 14,000 steps: a wall time of the resumed part alone is far below
    expect(got!.wallMs).toBeGreaterThan(0.5 * want!.wallMs);
    expect(files(dir).filter((p) => p.includes('.tmp-'))).toEqual([]);
  }, 180_000);
});

describe('SIGKILL of a grid sweep mid-batch, then --resume', () => {
  it('repeats no stored run, loses none, and continues the batch from its checkpoint exactly', async () => {
    expect(existsSync(cli), `${cli} is missing: build the app first (npx tsup)`).toBe(true);
    const args = [...TINY, '--steps', '6000', '--eval-every', '100', '--checkpoint-every', '500', ...ONNX];
    const ref = join(root, 'grid-kill-ref');
    expect(await main(['run', 'synthetic', ...args, '--out', ref], io())).toBe(0);
    const dir = join(root, 'grid-kill');
    const child = spawn(process.execPath, [cli, 'run', 'synthetic', ...args, '--out', dir], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // kill once a batch is stored and the next one has a checkpoint
    const t0 = Date.now();
    // (a batch.json of runs not yet stored: the previous batch's is deleted only after its records)
    const ready = () => {
      const stored = new Set(records(dir).map((r) => r.id));
      const present = files(join(dir, 'checkpoints'));
      return (
        stored.size >= 4 &&
        present.some((p) => {
          if (!p.endsWith('batch.json')) return false;
          try {
            return (JSON.parse(readFileSync(p, 'utf8')) as { ids: string[] }).ids.some(
              (id) => !stored.has(id),
            );
          } catch {
            return false;
          }
        })
      );
    };
    while (!ready() && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await exited;
    expect(ready()).toBe(true);
    const before = readFileSync(join(dir, 'runs.jsonl'), 'utf8');
    const first = records(dir);
    expect(first.length).toBeLessThan(16);
    // what a kill between storing a batch's records and dropping its checkpoint leaves
    mkdirSync(join(dir, 'checkpoints', 'batch-0123456789abcdef'), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', 'batch-0123456789abcdef', 'batch.json'), '{}');
    const c2 = io();
    const seen: string[] = [];
    expect(
      await main(['run', 'synthetic', '--resume', dir, ...ONNX], {
        ...c2,
        onRunDone: (r) => seen.push(r.id),
      }),
      c2.err(),
    ).toBe(0);
    expect(c2.err()).toMatch(/resumed at step [1-9]/);
    expect(c2.err()).toContain('batch-0123456789abcdef (checkpoint of a unit whose runs are stored)');
    expect(existsSync(join(dir, 'checkpoints'))).toBe(false);
    const all = records(dir);
    expect(readFileSync(join(dir, 'runs.jsonl'), 'utf8').startsWith(before)).toBe(true);
    expect(all).toHaveLength(16);
    expect(new Set(all.map((r) => r.id)).size).toBe(16);
    expect(seen).toHaveLength(16 - first.length);
    const want = new Map(records(ref).map((r) => [r.id, r]));
    for (const r of all) {
      expect(r.finalLoss, r.id).toBe(want.get(r.id)!.finalLoss);
      expect(r.curve, r.id).toEqual(want.get(r.id)!.curve);
    }
    expect(files(dir).filter((p) => p.includes('.tmp-'))).toEqual([]);
  }, 180_000);
});

describe('bad input: clear errors, exit 2, nothing half-written', () => {
  it('a foreign or garbled config.json in --resume names the file', async () => {
    for (const [name, text] of [
      ['foreign', '{"foo": 1}\n'],
      ['garbled', '{"format": "narrownet-sw'],
      ['strings', ''],
    ] as const) {
      const dir = join(root, `bad-${name}`);
      mkdirSync(dir, { recursive: true });
      let body: string = text;
      if (name === 'strings') {
        // a real sweep whose numbers were edited into strings
        const good = join(root, 'bad-src');
        if (!existsSync(join(good, 'config.json')))
          expect(await main(['run', 'synthetic', ...TINY, ...ONNX, '--out', good], io())).toBe(0);
        const cfg = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8'));
        cfg.settings.steps = '40';
        body = JSON.stringify(cfg);
      }
      writeFileSync(join(dir, 'config.json'), body);
      const c = io();
      expect(await main(['run', 'synthetic', '--resume', dir, ...ONNX], c)).toBe(2);
      expect(c.err()).toContain(join(dir, 'config.json'));
      if (name === 'strings') expect(c.err()).toContain('"steps"');
      expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(body);
      expect(existsSync(join(dir, 'runs.jsonl'))).toBe(false);
    }
  });

  it('an unknown experiment, an unknown settings field, another sweep in the same directory', async () => {
    const c1 = io();
    expect(await main(['run', 'nosuch'], c1)).toBe(2);
    expect(c1.err()).toContain('unknown experiment "nosuch"');
    expect(c1.err()).toContain('synthetic');
    const cfg = join(root, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ widths: [4], wdiths: [6] }));
    const c2 = io();
    expect(await main(['run', 'synthetic', '--config', cfg, '--out', join(root, 'never')], c2)).toBe(2);
    expect(c2.err()).toContain('wdiths');
    expect(existsSync(join(root, 'never'))).toBe(false);
    const dir = join(root, 'bad-src');
    if (!existsSync(join(dir, 'runs.jsonl')))
      expect(await main(['run', 'synthetic', ...TINY, ...ONNX, '--out', dir], io())).toBe(0);
    const c3 = io();
    expect(await main(['run', 'synthetic', ...TINY, '--steps', '80', ...ONNX, '--out', dir], c3)).toBe(2);
    expect(c3.err()).toContain(dir);
    const c4 = io();
    expect(await main(['run', 'synthetic', '--resume', dir, '--steps', '80'], c4)).toBe(2);
    expect(c4.err()).toContain('--steps');
  });
});
