import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS, experimentNamed } from '../src/experiments/registry.js';
import { main } from '../src/main.js';
import { UsageError } from '../src/options.js';
import { DirStore } from '../src/sweep/dir-store.js';
import { runSweep } from '../src/sweep/engine.js';
import type { Experiment, SweepRecord } from '../src/sweep/experiment.js';
import { checkStoredSettings } from '../src/sweep/settings.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-sweep-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sink = { write: () => true };

interface FakeSettings {
  count: number;
  checkpointEvery: number;
}
interface FakeRecord extends SweepRecord {
  value: number | null;
}

/**
 * A stand-in experiment: run `r<i>` computes i², except `r1` (always throws), `r2` (throws on its
 * first attempt) and `r3` (its loss is NaN: diverged).
 */
function fakeExperiment(tries: Map<string, number>): Experiment<FakeSettings, number, FakeRecord> {
  const engine = { engine: 'fake', backend: 'none', device: 'cpu' };
  return {
    name: 'fake',
    title: 'a stand-in',
    help: '',
    options: [
      { key: 'count', kind: 'int', min: 1, help: 'runs' },
      { key: 'checkpointEvery', kind: 'int', min: 0, help: '' },
    ],
    scales: {
      smoke: { count: 5, checkpointEvery: 0 },
      default: { count: 5, checkpointEvery: 0 },
      paper: { count: 50, checkpointEvery: 0 },
    },
    validate: (s) => s,
    expand: (s) => Array.from({ length: s.count }, (_, i) => ({ id: `r${i}`, key: i, cost: 1 })),
    async train(runs) {
      const [run] = runs;
      const n = (tries.get(run!.id) ?? 0) + 1;
      tries.set(run!.id, n);
      if (run!.key === 1 || (run!.key === 2 && n === 1)) throw new Error(`boom ${run!.id}`);
      const value = run!.key === 3 ? Number.NaN : run!.key ** 2;
      return [
        {
          id: run!.id,
          status: Number.isFinite(value) ? 'budget' : 'diverged',
          value: Number.isFinite(value) ? value : null,
          wallMs: 0,
          engine,
          finishedAt: new Date().toISOString(),
        },
      ];
    },
    failedRecord: (run, _s, error, attempts) => ({
      id: run.id,
      status: 'failed',
      error,
      attempts,
      value: null,
      wallMs: 0,
      engine: { engine: 'none', backend: 'none', device: 'none' },
      finishedAt: new Date().toISOString(),
    }),
    report: async (_dir, records, info) => [
      `${records.length}/${info.totalRuns} ${info.complete ? 'complete' : 'partial'}`,
    ],
  };
}

const fakeEngine = { label: 'fake', createTrainer: async () => Promise.reject(new Error('unused')) };

/** A request to run the stand-in experiment in `dir` with `count` runs. */
function fakeSweep(dir: string, count: number, attempts: number, tries = new Map<string, number>()) {
  return {
    exp: fakeExperiment(tries),
    store: new DirStore(dir),
    create: {
      name: dir,
      experiment: 'fake',
      settings: { count, checkpointEvery: 0 },
      execution: { batched: false, attempts },
    },
    engine: fakeEngine,
    command: 'test',
    progress: sink,
    reportDir: dir,
  };
}

describe('the sweep engine', () => {
  it('a run that throws is retried, then recorded failed with its error; a diverged run is recorded; the sweep completes', async () => {
    const tries = new Map<string, number>();
    const dir = join(root, 'fake');
    const res = await runSweep(fakeSweep(dir, 5, 3, tries));
    expect(res.complete).toBe(true);
    expect(res.lines).toEqual(['5/5 complete']);
    const byId = new Map((await new DirStore(dir).records()).map((r) => [r.id, r as FakeRecord]));
    expect(byId.size).toBe(5);
    expect(byId.get('r1')).toMatchObject({ status: 'failed', error: 'boom r1', attempts: 3 });
    expect(tries.get('r1')).toBe(3);
    expect(byId.get('r2')).toMatchObject({ status: 'budget', value: 4, attempts: 2 });
    expect(byId.get('r3')).toMatchObject({ status: 'diverged', value: null });
    expect(byId.get('r4')).toMatchObject({ status: 'budget', value: 16 });
    expect(tries.get('r4')).toBe(1);
    // the config records the session: who trained, with what, how many runs
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg.sessions).toHaveLength(1);
    expect(cfg.sessions[0]).toMatchObject({ engine: 'fake', runs: 5 });
    // a second sweep with other settings in the same store is refused, nothing written
    await expect(runSweep(fakeSweep(dir, 6, 3))).rejects.toThrow(/other settings/);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).sessions).toHaveLength(1);
  });

  it('a second process on a run directory another live process works on is refused', async () => {
    const dir = join(root, 'busy');
    mkdirSync(dir, { recursive: true });
    // the parent process (alive) says it trains a run of this directory
    const beat = [
      { worker: `${hostname()}:${process.ppid}`, running: ['r0'], updatedAt: new Date().toISOString() },
    ];
    writeFileSync(join(dir, 'workers.json'), JSON.stringify(beat));
    const req = fakeSweep(dir, 2, 1);
    await expect(runSweep(req)).rejects.toThrow(`worker ${hostname()}:${process.ppid} is training 1 run(s)`);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
    // once that process is gone (a pid that does not exist), the directory is free
    beat[0]!.worker = `${hostname()}:2147483646`;
    writeFileSync(join(dir, 'workers.json'), JSON.stringify(beat));
    expect((await runSweep(req)).complete).toBe(true);
  });

  it('stored settings are checked field by field (unknown, missing, strings for numbers)', () => {
    const exp = experimentNamed('synthetic');
    const good = { ...exp.scales.smoke };
    expect(checkStoredSettings(exp, good, 'x/config.json')).toEqual(good);
    expect(() => checkStoredSettings(exp, { ...good, wdiths: [4] }, 'x/config.json')).toThrow(
      /x\/config.json: unknown settings field "wdiths"/,
    );
    const { steps: _, ...missing } = good;
    expect(() => checkStoredSettings(exp, missing, 'x/config.json')).toThrow(
      /settings field "steps" is missing/,
    );
    expect(() => checkStoredSettings(exp, { ...good, steps: '40' }, 'x/config.json')).toThrow(/"steps"/);
    expect(() => checkStoredSettings(exp, { ...good, momentum: -1 }, 'x/config.json')).toThrow(UsageError);
  });

  it('the registry: every experiment has three scales and distinct stable run ids', () => {
    expect(EXPERIMENTS.map((e) => e.name)).toContain('synthetic');
    for (const e of EXPERIMENTS)
      for (const scale of ['smoke', 'default', 'paper'] as const) {
        const runs = e.expand(e.validate(e.scales[scale]));
        expect(new Set(runs.map((r: { id: string }) => r.id)).size).toBe(runs.length);
        expect(e.expand(e.scales[scale]).map((r: { id: string }) => r.id)).toEqual(
          runs.map((r: { id: string }) => r.id),
        );
      }
    expect(() => experimentNamed('nosuch')).toThrow(/unknown experiment "nosuch" \(available: synthetic/);
  });

  it('narrownet list; run --scale smoke; status and report of the run directory', async () => {
    const out: string[] = [];
    expect(await main(['list'], { stdout: { write: (s: string) => out.push(s) }, stderr: sink })).toBe(0);
    expect(out.join('')).toMatch(/^synthetic +Zhang et al\. 2021 Fig\. 4/);
    expect(out.join('')).toContain('smoke, default, paper');
    const dir = join(root, 'smoke');
    const ac = new AbortController();
    expect(
      await main(
        ['run', 'synthetic', '--scale', 'smoke', '--engine', 'onnx', '--device', 'cpu', '--out', dir],
        {
          stdout: sink,
          stderr: sink,
          signal: ac.signal,
          onRunDone: (_r, k) => {
            if (k === 4) ac.abort();
          },
        },
      ),
    ).toBe(130);
    const st: string[] = [];
    expect(await main(['status', dir], { stdout: { write: (s: string) => st.push(s) }, stderr: sink })).toBe(
      0,
    );
    expect(st.join('')).toMatch(/4 done \(\d+ diverged\), 0 running, 0 failed, 12 pending of 16/);
    rmSync(join(dir, 'report.html'));
    expect(await main(['report', dir], { stdout: sink, stderr: sink })).toBe(0);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<b>Incomplete</b>: 4 of 16 runs');
    expect(existsSync(join(dir, 'workers.json'))).toBe(true);
  });
});
