import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { io } from './helpers.js';
import type { RunRecord } from '../src/runs.js';

// The PostgreSQL store against a real server: NARROWNET_TEST_PG is the URL of a database the
// tests may wipe (.ci/run installs Debian's postgresql, starts it and sets the variable).
const url = process.env.NARROWNET_TEST_PG;
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'narrownet-pg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A sequential sweep of 16 runs long enough (≈ 0.2-1 s each) to be killed mid-run after a checkpoint. */
const SWEEP = [
  ...['run', 'synthetic', '--scale', 'smoke', '--steps', '6000', '--eval-every', '200'],
  // a job timeout far beyond the test: only the heartbeat can give the killed worker's job back
  ...['--checkpoint-every', '1000', '--sequential', '--job-timeout', '3600'],
];

function worker(extra: string[] = []): {
  child: ChildProcess;
  log: () => string;
  done: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    [
      cli,
      'worker',
      '--store',
      url!,
      '--until-empty',
      '--engine',
      'onnx',
      '--device',
      'cpu',
      '--threads',
      '1',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, log: () => log, done };
}

if (!url) {
  describe('PostgreSQL store', () => {
    it.skip('skipped: NARROWNET_TEST_PG is unset (.ci/run starts a PostgreSQL server and sets it)', () => {});
  });
} else {
  describe('PostgreSQL store with pg-boss workers', () => {
    const db = new pg.Pool({ connectionString: url, max: 2 });
    beforeAll(async () => {
      await db.query('DROP SCHEMA IF EXISTS narrownet CASCADE');
      await db.query('DROP SCHEMA IF EXISTS pgboss CASCADE');
    });
    afterAll(() => db.end());
    const rows = async (sweep: string) =>
      (
        await db.query('SELECT id, record FROM narrownet.result WHERE sweep = $1 ORDER BY id', [sweep])
      ).rows.map((r) => r.record as RunRecord);

    it('two workers, one SIGKILLed mid-run: one row per run, the killed run resumes from its checkpoint, the same report', async () => {
      expect(existsSync(cli), `${cli} is missing: build the app first (npx tsup)`).toBe(true);
      const c = io();
      expect(await main([...SWEEP, '--store', url, '--name', 'killed'], c), c.err()).toBe(0);
      const queued = await db.query("SELECT count(*)::int AS n FROM pgboss.job WHERE state = 'created'");
      expect(queued.rows[0].n).toBe(16);
      const a = worker(['--maintenance-every', '1']);
      const b = worker(['--maintenance-every', '1']);
      // wait until worker a has a checkpoint of a run it trains now, then kill it
      const t0 = Date.now();
      let victim: { unit: string; step: number } | undefined;
      while (!victim && Date.now() - t0 < 120_000) {
        const r = await db.query(
          `SELECT c.unit FROM narrownet.checkpoint c JOIN narrownet.worker w
             ON w.sweep = c.sweep AND w.running ? c.unit WHERE w.worker LIKE $1`,
          [`%:${a.child.pid}`],
        );
        if (r.rowCount) victim = { unit: r.rows[0].unit, step: 0 };
        else await new Promise((res) => setTimeout(res, 20));
      }
      expect(victim, a.log()).toBeDefined();
      a.child.kill('SIGKILL');
      await a.done;
      expect(await b.done, b.log()).toBe(0);
      const got = await rows('killed');
      expect(got).toHaveLength(16);
      expect(new Set(got.map((r) => r.id)).size).toBe(16);
      const killed = got.find((r) => r.id === victim!.unit)!;
      expect(killed.resumedFrom, b.log()).toBeGreaterThan(0);
      expect(killed.worker).toContain(`:${b.child.pid}`);
      expect(b.log()).toContain(`worker ${killed.worker!.split(':')[0]}:${a.child.pid} silent for 30 s`);
      // nothing left over: no checkpoint, no job waiting
      expect((await db.query('SELECT count(*)::int AS n FROM narrownet.checkpoint')).rows[0].n).toBe(0);

      // the same sweep by one uninterrupted worker
      expect(await main([...SWEEP, '--store', url, '--name', 'single'], io())).toBe(0);
      const s = worker();
      expect(await s.done, s.log()).toBe(0);
      const ref = new Map((await rows('single')).map((r) => [r.id, r]));
      for (const r of got) {
        expect(r.finalLoss, r.id).toBe(ref.get(r.id)!.finalLoss);
        expect(r.curve, r.id).toEqual(ref.get(r.id)!.curve);
      }
      // each report in its own process (Vega numbers its gradients and clip paths per process)
      const report = async (name: string) => {
        const out = join(root, `report-${name}`);
        const r = spawnSync(process.execPath, [cli, 'report', url, '--name', name, '--out', out], {
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
        return readFileSync(join(out, 'report.html'), 'utf8')
          .split('\n')
          .filter((l) => !/Engine:|Wall time|Command:/.test(l))
          .join('\n');
      };
      expect(await report('killed')).toBe(await report('single'));
      const st = io();
      expect(await main(['status', url, '--name', 'killed'], st)).toBe(0);
      expect(st.out()).toContain('16 done');
      expect(st.out()).toContain('0 pending');
    }, 300_000);

    it('same name with other settings, an unreachable server, a wrong schema version: clear errors, exit 2', async () => {
      // the same command again is fine: nothing left to queue
      const c0 = io();
      expect(await main([...SWEEP, '--store', url, '--name', 'single'], c0), c0.err()).toBe(0);
      expect(c0.err()).toContain('0 of 16 runs queued');
      const c1 = io();
      expect(await main([...SWEEP, '--steps', '7000', '--store', url, '--name', 'single'], c1)).toBe(2);
      expect(c1.err()).toContain('single');
      expect(c1.err()).toContain('other settings');
      const c2 = io();
      expect(await main(['status', 'postgres://nobody:pw@127.0.0.1:1/none'], c2)).toBe(2);
      expect(c2.err()).toContain('postgres://nobody:***@127.0.0.1:1/none');
      expect(c2.err()).not.toContain(':pw@');
      await db.query('UPDATE narrownet.schema_version SET version = 99');
      try {
        const c3 = io();
        expect(await main(['status', url, '--name', 'single'], c3)).toBe(2);
        expect(c3.err()).toContain('schema version 99');
      } finally {
        await db.query('UPDATE narrownet.schema_version SET version = 1');
      }
    });

    it("a worker on a machine without the sweep's data: exit 2 naming what is missing, before it takes a job", async () => {
      // The sweep is created where the data is (prepare passes: the four MNIST files are there);
      // the worker then runs where they are not (the files removed). It must run the experiment's
      // prepare first: no job fetched, failed or stored.
      const data = join(root, 'mnist-here');
      mkdirSync(data);
      const markers = ['train-images-idx3', 'train-labels-idx1', 't10k-images-idx3', 't10k-labels-idx1'].map(
        (f) => join(data, `${f}-ubyte`),
      );
      for (const marker of markers) writeFileSync(marker, '');
      const c = io();
      const created = await main(
        [
          ...['run', 'mnist-widths', '--scale', 'smoke', '--data', 'mnist', '--data-dir', data],
          ...['--store', url, '--name', 'no-data'],
        ],
        c,
      );
      expect(created, c.err()).toBe(0);
      const jobs = async () =>
        (
          await db.query(
            "SELECT state, count(*)::int AS n FROM pgboss.job WHERE data->>'sweep' = 'no-data' GROUP BY state",
          )
        ).rows.map((r) => `${r.state}:${r.n}`);
      const before = await jobs();
      expect(before.length).toBe(1);
      expect(before[0]).toMatch(/^created:\d+$/);
      for (const marker of markers) rmSync(marker);
      try {
        const w = io();
        const code = await main(
          ['worker', '--store', url, '--until-empty', '--engine', 'onnx', '--device', 'cpu'],
          w,
        );
        expect(code).toBe(2);
        expect(w.err()).toContain('sweep "no-data"');
        expect(w.err()).toContain(`${data} does not hold mnist (no train-images-idx3-ubyte,`);
        expect(await jobs()).toEqual(before);
        expect(await rows('no-data')).toEqual([]);
      } finally {
        // leave no job behind for the other tests' workers
        await db.query("DELETE FROM pgboss.job WHERE data->>'sweep' = 'no-data'");
      }
    });
  });
}
