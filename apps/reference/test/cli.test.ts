import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zhangSynthetic } from '@narrownet/datasets';
import { type TfModule, startTfjs } from '@narrownet/engine';
import { jacobianLambdaMin } from '@narrownet/landscape';
import { createRng, forward64, saveCheckpoint } from '@narrownet/models';
import { initParams } from '@narrownet/init';
import { type RegimeSpec, constrainedRegular, createTfjsTrainer, train, zhang2021 } from '@narrownet/regime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { io } from './helpers.js';
import { stationarityByHand } from './stationarity-by-hand.js';
import type { RunRecord } from '../src/runs.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  ...['--widths', '4,6', '--radii', '0.3,1000', '--lrs1', '0.01', '--lrs2', '0.01,0.05'],
  ...[
    '--steps',
    '40',
    '--eval-every',
    '10',
    '--n',
    '24',
    '--d',
    '5',
    '--seed',
    '2',
    '--engine',
    'onnx',
    '--device',
    'cpu',
  ],
];

function readRecords(dir: string): RunRecord[] {
  return readFileSync(join(dir, 'runs.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RunRecord);
}

describe('narrownet run synthetic (tiny grid, in-process)', () => {
  const dir = join(root, 'full');
  let code = -1;
  let records: RunRecord[] = [];
  let tf: TfModule;
  beforeAll(async () => {
    tf = (await startTfjs({ backend: 'cpu' })).tf;
    const c = io();
    code = await main(['run', 'synthetic', ...TINY, '--out', dir], c);
    records = readRecords(dir);
  });

  it('writes one record per run of the sweep, SVG heat maps and report.html', () => {
    expect(code).toBe(0);
    expect(records).toHaveLength(2 * 2 * 2 * 2);
    expect(new Set(records.map((r) => r.id)).size).toBe(16);
    for (const f of [
      'fig4a-zhang2021-loss.svg',
      'fig4b-constrained-regular-loss.svg',
      'fig4c-zhang2021-lambda-min.svg',
      'fig4d-constrained-regular-lambda-min.svg',
    ]) {
      const svg = readFileSync(join(dir, f), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('width m');
    }
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('onnx cpu');
    expect(html).toContain('Complete');
    // the summary compares the two regimes cell by cell at the smallest widths (4 and 6 × 2 radii)
    const summary = html.slice(html.indexOf('<h2>Summary</h2>'), html.indexOf('<h2>Settings</h2>'));
    expect(summary.match(/<tr><td>/g)).toHaveLength(4);
    for (const r of records) {
      expect(r.engine.engine).toBe('onnx');
      expect(['budget', 'converged', 'diverged']).toContain(r.status);
      expect(r.steps).toBeLessThanOrEqual(40);
    }
  });

  it('each cell best has λ_min(J) at its final iterate; ε bounds ‖W − W0‖_F', () => {
    const cells = new Map<string, RunRecord[]>();
    for (const r of records)
      cells.set(`${r.regime}/${r.width}/${r.radius}`, [
        ...(cells.get(`${r.regime}/${r.width}/${r.radius}`) ?? []),
        r,
      ]);
    expect(cells.size).toBe(8);
    for (const rs of cells.values()) {
      const ok = rs.filter((r) => r.finalLoss !== null);
      if (ok.length === 0) continue;
      const best = ok.reduce((a, b) => (b.finalLoss! < a.finalLoss! ? b : a));
      expect(best.lambdaMin).toBeGreaterThan(0);
      for (const r of ok) {
        if (r.distanceW !== null) expect(r.distanceW).toBeLessThanOrEqual(r.radius * (1 + 1e-5));
        expect(r.distanceV).toBeGreaterThan(0);
        // no constraint can block the gradient of an unconstrained run: stationarity is exactly 1;
        // a run on its ball's boundary has part of its gradient blocked
        if (r.radius === 1000) expect(r.stationarity).toBeCloseTo(1, 9);
        else if (r.distanceW! >= r.radius * (1 - 1e-5)) expect(r.stationarity).toBeLessThan(1);
      }
    }
  });

  it('a run of the sweep matches an independent tfjs run of the same regime (float32 tolerance)', async () => {
    const rec = records.find((r) => r.id === 'zhang2021/m4/eps0.3/lr0.01,0.05')!;
    expect(rec.status).toBe('budget');
    const data = zhangSynthetic({ n: 24, d: 5, seed: 2 });
    const regime = zhang2021({ inputDim: 5, width: 4, radius: 0.3, lr1: 0.01, lr2: 0.05, steps: 40 });
    const res = await train(regime, data, {
      createTrainer: (c) => createTfjsTrainer(tf, c),
      seed: 2,
      evalEvery: 10,
      lambdaMinAtEnd: true,
    });
    expect(rec.finalLoss).toBeCloseTo(res.finalLoss, 3);
    expect(Math.abs(rec.finalLoss! - res.finalLoss) / res.finalLoss).toBeLessThan(1e-4);
    if (rec.lambdaMin !== null)
      expect(Math.abs(rec.lambdaMin - res.lambdaMin!) / res.lambdaMin!).toBeLessThan(1e-3);
    // the recorded loss curve (grid trainer) follows the independent run at every evaluation
    expect(rec.curve!.map(([s]) => s)).toEqual([0, 10, 20, 30, 40]);
    expect(res.metrics.map((m) => m.step)).toEqual([0, 10, 20, 30, 40]);
    for (const [i, [, loss]] of rec.curve!.entries())
      expect(Math.abs(loss - res.metrics[i]!.loss) / res.metrics[i]!.loss).toBeLessThan(1e-4);
    expect(rec.curve!.at(-1)![1]).toBe(Math.fround(rec.finalLoss!));
    // ‖v − v0‖ at the end, against the independent run's final v and the same seeded init
    const v0 = initParams(regime.model, regime.init, createRng(2)).v!.data;
    const vEnd = res.params.v!.data;
    const dv = Math.sqrt(vEnd.reduce((acc, x, i) => acc + (x - v0[i]!) ** 2, 0));
    expect(dv).toBeGreaterThan(1e-3);
    expect(Math.abs(rec.distanceV! - dv) / dv).toBeLessThan(1e-3);
    // the recorded stationarity against an independent one at the independent run's end point
    // (finite-difference gradient, closed-form tangent cone); this run ends on its ball's sphere
    expect(rec.distanceW).toBeCloseTo(0.3, 5);
    const s = stationarityByHand(
      regime.model,
      res.params,
      initParams(regime.model, regime.init, createRng(2)),
      data,
      0.3,
    );
    expect(s).toBeLessThan(0.99);
    expect(Math.abs(rec.stationarity! - s)).toBeLessThan(1e-3);
  });

  it("the report checks the paper's claims and draws the loss curves of the smallest widths", () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain("The paper's claims, checked");
    expect(html.match(/<b>(reproduced|not reproduced|partly|not covered)<\/b>/g)).toHaveLength(5);
    for (const m of [4, 6]) {
      const svg = readFileSync(join(dir, `loss-curves-m${m}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('Alg. 2, ε = 0.3, lr 0.01 / ');
    }
  });

  for (const mode of ['grid', 'sequential'] as const) {
    it(`--resume continues an interrupted run directory without repeating finished runs (${mode})`, async () => {
      const part = join(root, `part-${mode}`);
      const extra = mode === 'sequential' ? ['--sequential'] : [];
      const ac = new AbortController();
      const c1 = io();
      const code1 = await main(['run', 'synthetic', ...TINY, ...extra, '--out', part], {
        ...c1,
        signal: ac.signal,
        onRunDone: (_r, k) => {
          if (k === 5) ac.abort();
        },
      });
      expect(code1).toBe(130);
      const first = readRecords(part);
      // grid mode records whole (regime, width) groups of 4 runs; sequential mode single runs
      expect(first).toHaveLength(mode === 'grid' ? 8 : 5);
      // a torn last line (the process died mid-write) is ignored
      appendFileSync(join(part, 'runs.jsonl'), '{"id":"zhang2021/m6/eps0.3/lr0.01,0.0');
      const c2 = io();
      const seen: string[] = [];
      const code2 = await main(
        ['run', 'synthetic', '--resume', part, '--engine', 'onnx', '--device', 'cpu', ...extra],
        {
          ...c2,
          onRunDone: (r) => seen.push(r.id),
        },
      );
      expect(code2).toBe(0);
      expect(c2.err()).toContain(`${first.length} of 16 runs already finished`);
      const all = readRecords(part);
      expect(all).toHaveLength(16);
      expect(new Set(all.map((r) => r.id)).size).toBe(16);
      expect(all.slice(0, first.length)).toEqual(first);
      expect(seen).toHaveLength(16 - first.length);
      for (const id of first.map((r) => r.id)) expect(seen).not.toContain(id);
      expect(new Set(all.map((r) => r.id))).toEqual(new Set(records.map((r) => r.id)));
      // same results as the uninterrupted (grid) sweep, to float32 tolerance
      const byId = new Map(records.map((r) => [r.id, r]));
      for (const r of all) {
        const ref = byId.get(r.id)!;
        expect(r.status).toBe(ref.status);
        if (r.finalLoss !== null)
          expect(Math.abs(r.finalLoss - ref.finalLoss!) / ref.finalLoss!).toBeLessThan(1e-3);
      }
    });
  }

  it('grid mode with --checkpoint-every resumes a (regime, width) batch mid-run at its last checkpoint, exactly', async () => {
    const part = join(root, 'part-grid-ck');
    const ac = new AbortController();
    const steps: number[] = [];
    const c1 = io();
    const code1 = await main(['run', 'synthetic', ...TINY, '--checkpoint-every', '20', '--out', part], {
      ...c1,
      signal: ac.signal,
      onCheckpoint: (batchDir, step) => {
        steps.push(step);
        // the first batch (zhang2021, m = 4) has checkpointed step 20 of 40: stop here
        expect(existsSync(join(batchDir, 'batch.json'))).toBe(true);
        expect(existsSync(join(batchDir, 'step-20', '0.safetensors'))).toBe(true);
        ac.abort();
      },
    });
    expect(code1).toBe(130);
    expect(steps).toEqual([20]);
    expect(existsSync(join(part, 'runs.jsonl')) ? readRecords(part) : []).toHaveLength(0);
    const c2 = io();
    const code2 = await main(
      ['run', 'synthetic', '--resume', part, '--engine', 'onnx', '--device', 'cpu'],
      c2,
    );
    expect(code2).toBe(0);
    expect(c2.err()).toContain('resumed at step 20');
    const all = readRecords(part);
    expect(all).toHaveLength(16);
    // the batch checkpoints are gone once their runs are recorded
    expect(existsSync(join(part, 'checkpoints')) ? readdirSync(join(part, 'checkpoints')) : []).toEqual([]);
    // exact resume: the same losses and curves as the sweep that never stopped
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const r of all) {
      const ref = byId.get(r.id)!;
      expect(r.finalLoss).toBe(ref.finalLoss);
      expect(r.curve).toEqual(ref.curve);
    }
  });
});

describe('narrownet run synthetic --update adam --schedule cosine (extensions)', () => {
  it('trains both groups with cosine-annealed Adam on the grid trainer, matching an independent tfjs run', async () => {
    const dir = join(root, 'adam');
    const c = io();
    const code = await main(
      [
        'run',
        'synthetic',
        ...TINY,
        ...['--widths', '4', '--radii', '0.3', '--update', 'adam', '--schedule', 'cosine', '--out', dir],
      ],
      c,
    );
    expect(code).toBe(0);
    const recs = readRecords(dir);
    expect(recs).toHaveLength(4);
    for (const r of recs) {
      expect(r.config.update).toBe('adam');
      expect(r.config.schedule).toBe('cosine');
    }
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      settings: { update: string };
    };
    expect(cfg.settings.update).toBe('adam');
    const tf = (await startTfjs({ backend: 'cpu' })).tf;
    const data = zhangSynthetic({ n: 24, d: 5, seed: 2 });
    const opts = { inputDim: 5, width: 4, radius: 0.3, lr1: 0.01, lr2: 0.05, steps: 40 };
    const adam = { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const;
    const cosine = { kind: 'cosine', tMax: 40, etaMin: 0 } as const;
    const independent = (r: RegimeSpec) =>
      train(
        {
          ...r,
          optimizer: { groups: r.optimizer.groups.map((g) => ({ ...g, update: adam, schedule: cosine })) },
        },
        data,
        { createTrainer: (cf) => createTfjsTrainer(tf, cf), seed: 2, evalEvery: 10 },
      );
    // both nets: Alg. 2's paired net and the ablation's shallow net
    for (const [regime, id] of [
      [zhang2021(opts), 'zhang2021/m4/eps0.3/lr0.01,0.05'],
      [constrainedRegular(opts), 'constrainedRegular/m4/eps0.3/lr0.01,0.05'],
    ] as const) {
      const res = await independent(regime);
      const rec = recs.find((r) => r.id === id)!;
      expect(Math.abs(rec.finalLoss! - res.finalLoss) / res.finalLoss, id).toBeLessThan(1e-4);
    }
    const base = zhang2021(opts);
    const rec = recs.find((r) => r.id === 'zhang2021/m4/eps0.3/lr0.01,0.05')!;
    // and it is not the SGD run of the same cell
    const sgd = await train(base, data, {
      createTrainer: (cf) => createTfjsTrainer(tf, cf),
      seed: 2,
      evalEvery: 10,
    });
    expect(Math.abs(sgd.finalLoss - rec.finalLoss!) / rec.finalLoss!).toBeGreaterThan(1e-3);
  });
});

describe('narrownet errors and help', () => {
  const run = async (argv: string[]) => {
    const c = io();
    const code = await main(argv, c);
    return { code, out: c.out(), err: c.err() };
  };

  it('help and version', async () => {
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('narrownet run synthetic');
    const v = await run(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(v.out.trim()).toBe(pkg.version);
    const rh = await run(['run', 'synthetic', '--help']);
    expect(rh.code).toBe(0);
    expect(rh.out).toContain('--widths');
    expect(rh.out).toContain('--resume');
    const ah = await run(['analyze', '--help']);
    expect(ah.code).toBe(0);
    expect(ah.out).toContain('--checkpoint');
    expect((await run([])).code).toBe(2);
  });

  it('unknown commands, flags and bad values exit 2 naming the flag', async () => {
    let r = await run(['train']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "train"');
    r = await run(['run', 'synthetic', '--widht', '4']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--widht');
    r = await run(['run', 'synthetic', '--widths', '4,x']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--widths');
    r = await run(['run', 'synthetic', '--engine', 'cuda']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--engine.*onnx, tfjs, auto/);
    r = await run(['run', 'synthetic', '--widths', '5', '--out', join(root, 'odd')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/widths.*even/);
    expect(existsSync(join(root, 'odd'))).toBe(false);
    r = await run(['run', 'synthetic', '--steps']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--steps: expected a value');
    r = await run(['run', 'synthetic', '--resume', join(root, 'nothing-here')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('not a run directory');
    r = await run(['run', 'synthetic', '--resume', join(root, 'full'), '--steps', '5']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--steps');
    r = await run(['run', 'synthetic', '--out', join(root, 'full')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--resume');
  });

  it('config files: unknown fields and bad values name the file and field', async () => {
    const y = join(root, 'bad.yaml');
    writeFileSync(y, 'widths: [4, 6]\nradiuses: [1]\n');
    let r = await run(['run', 'synthetic', '--config', y]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${y}: unknown field "radiuses"`);
    const j = join(root, 'bad.json');
    writeFileSync(j, JSON.stringify({ widths: [4, 6], steps: 'many' }));
    r = await run(['run', 'synthetic', '--config', j]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${j}: field "steps"`);
    writeFileSync(j, '{"widths": [4,');
    r = await run(['run', 'synthetic', '--config', j]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('not valid JSON');
    r = await run(['run', 'synthetic', '--config', join(root, 'x.toml')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot read');
  });

  it('a YAML config runs, flags override it', async () => {
    const y = join(root, 'ok.yaml');
    writeFileSync(
      y,
      'widths: [4]\nradii: [1000]\nlrs1: [0.01]\nlrs2: [0.01]\nsteps: 100\nn: 12\nd: 4\nregimes: [zhang2021]\n',
    );
    const out = join(root, 'yaml-run');
    const r = await run([
      'run',
      'synthetic',
      '--config',
      y,
      '--steps',
      '20',
      '--eval-every',
      '10',
      '--engine',
      'onnx',
      '--device',
      'cpu',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const recs = readRecords(out);
    expect(recs).toHaveLength(1);
    expect(recs[0]!.config.stepBudget).toBe(20);
    expect(recs[0]!.config.n).toBe(12);
  });
});

describe('narrownet analyze', () => {
  it('prints λ_min(J) and the width condition of a checkpoint as JSON', async () => {
    const regime = zhang2021({ inputDim: 8, width: 6, radius: 1, lr1: 0.01, lr2: 0.01 });
    const W = new Float32Array(6 * 8).map((_, i) => Math.sin(i + 1) * 0.3);
    const v = Float32Array.from([0.5, -0.2, 0.9]);
    const base = join(root, 'ck');
    saveCheckpoint(base, {
      spec: regime.model,
      params: { W: { shape: [6, 8], data: W }, v: { shape: [3], data: v } },
    });
    const c = io();
    const code = await main(
      ['analyze', '--checkpoint', base, '--data', 'zhang-synthetic', '--n', '10', '--d', '8'],
      c,
    );
    expect(code).toBe(0);
    const res = JSON.parse(c.out()) as {
      loss: { halfSse: number };
      zhang: { jacobianLambdaMin: { value: number }; widthCondition: { required: number } };
      kawaguchiHuang: unknown;
      song: unknown;
    };
    const ds = zhangSynthetic({ n: 10, d: 8 });
    expect(res.zhang.jacobianLambdaMin.value).toBeCloseTo(
      jacobianLambdaMin(regime.model, { W, v }, ds.X, 10),
      10,
    );
    expect(res.zhang.widthCondition.required).toBe(4);
    expect(res.song).toBeDefined();
    const f = forward64(regime.model, { W, v }, ds.X, 10);
    let sse = 0;
    for (let i = 0; i < 10; i++) sse += (ds.Y[i]! - f[i]!) ** 2;
    expect(res.loss.halfSse).toBeCloseTo(sse / 2, 4);
    const bad = io();
    expect(await main(['analyze', '--data', 'zhang-synthetic'], bad)).toBe(2);
    expect(bad.err()).toContain('--checkpoint');
    const bad2 = io();
    expect(
      await main(['analyze', '--checkpoint', base, '--data', 'zhang-synthetic', '--n', '10'], bad2),
    ).toBe(2);
    expect(bad2.err()).toContain('d = 200');
  });
});
