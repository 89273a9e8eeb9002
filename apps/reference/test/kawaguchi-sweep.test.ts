import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fmt } from '../src/evidence.js';
import { notCovered } from '../src/experiments/kawaguchi-depth-width/report.js';
import { KAWAGUCHI_SCALES } from '../src/experiments/kawaguchi-depth-width/settings.js';
import type { KawaguchiRecord } from '../src/experiments/kawaguchi-depth-width/train.js';
import { main } from '../src/main.js';
import { io, records } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'narrownet-kdw-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const readRecords = (dir: string) => records<KawaguchiRecord>(dir);

describe('narrownet run kawaguchi-depth-width --scale smoke (end to end)', () => {
  const dir = join(root, 'smoke');
  const c = io();
  let code = -1;
  beforeAll(async () => {
    code = await main(['run', 'kawaguchi-depth-width', '--scale', 'smoke', '--out', dir], c);
  }, 300_000);

  it('exits 0 and stores every (data set, depth, width) cell under its stable id', () => {
    expect(code, c.err()).toBe(0);
    const s = KAWAGUCHI_SCALES.smoke;
    const ids = readRecords(dir)
      .map((r) => r.id)
      .sort();
    const want = s.datasets.flatMap((ds) =>
      s.depths.flatMap((h) => s.widths.map((m) => `${ds}/H${h}/m${m}`)),
    );
    expect(ids).toEqual(want.sort());
  });

  it('records √J and √L at init and trained, J ≤ L (Theorem 1 setting: bias-free ReLU), J method and flags', () => {
    for (const r of readRecords(dir)) {
      expect(['budget', 'diverged']).toContain(r.status);
      expect(r.sqrtLInit).not.toBeNull();
      expect(r.jInit?.method).toMatch(/sampleGram|parameterGram/);
      expect(typeof r.jInit?.converged).toBe('boolean');
      expect(typeof r.jInit?.certified).toBe('boolean');
      // positively homogeneous net: vec(Ŷ) is in the Jacobian's range, so J(θ) ≤ L(θ) at every θ
      if (r.sqrtJInit !== null) expect(r.sqrtJInit).toBeLessThanOrEqual(r.sqrtLInit! * (1 + 1e-9));
      if (r.status === 'budget') {
        expect(r.sqrtLTrained).not.toBeNull();
        if (r.sqrtJTrained !== null) expect(r.sqrtJTrained).toBeLessThanOrEqual(r.sqrtLTrained! * (1 + 1e-9));
      } else {
        expect(r.sqrtJTrained).toBeNull();
        expect(notCovered(r)).not.toBeNull();
      }
      const inputs = r.dataset === 'synthetic' ? 10 : 64;
      const outputs = r.dataset === 'synthetic' ? 1 : 10;
      expect(r.params).toBe(inputs * r.width + (r.depth - 1) * r.width ** 2 + r.width * outputs);
    }
  });

  it('writes report.html with both heat maps per data set and the verdict section', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const ds of KAWAGUCHI_SCALES.smoke.datasets)
      for (const panel of ['init', 'trained']) {
        expect(existsSync(join(dir, `fig1-${ds}-sqrtJ-${panel}.svg`))).toBe(true);
        expect(html).toContain(`${ds}: √J ${panel === 'init' ? 'at initialisation' : 'after training'}`);
      }
    // every covered cell reads √J / √L in its panel
    for (const r of readRecords(dir).filter((x) => notCovered(x) === null)) {
      const init = readFileSync(join(dir, `fig1-${r.dataset}-sqrtJ-init.svg`), 'utf8');
      const trained = readFileSync(join(dir, `fig1-${r.dataset}-sqrtJ-trained.svg`), 'utf8');
      expect(init).toContain(`${fmt(r.sqrtJInit!)} / ${fmt(r.sqrtLInit!)}`);
      expect(trained).toContain(`${fmt(r.sqrtJTrained!)} / ${fmt(r.sqrtLTrained!)}`);
    }
    expect(html).toContain("The paper's claims, checked");
    expect(html).toMatch(/√J falls as depth grows/);
    expect(html).toMatch(/√J falls as width grows/);
    expect(html).toMatch(/trained √L approaches √J/);
    expect(html).toMatch(/<b>(reproduced|partly|not reproduced|not covered)<\/b>/);
  });
});

describe('narrownet list / bad settings', () => {
  it('lists the experiment', async () => {
    const c = io();
    expect(await main(['list'], c)).toBe(0);
    expect(c.out()).toContain('kawaguchi-depth-width');
  });

  it('exits 2 naming a bad settings field, and writes nothing', async () => {
    for (const [flag, value] of [
      ['--depths', '0,1'],
      ['--datasets', 'cifar'],
      ['--widths', '5,5'],
      ['--cutoff', 'svd'],
      ['--mnist-n', '20000'],
    ] as const) {
      const c = io();
      const out = join(root, `bad-${flag.slice(2)}`);
      expect(
        await main(['run', 'kawaguchi-depth-width', '--scale', 'smoke', flag, value, '--out', out], c),
      ).toBe(2);
      expect(c.err()).toContain(flag);
      expect(existsSync(join(out, 'runs.jsonl'))).toBe(false);
    }
  });

  it('exits 2 naming a bad --config field and its file', async () => {
    const cfg = join(root, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ epochs: 0 }));
    const c = io();
    const out = join(root, 'bad-config');
    expect(await main(['run', 'kawaguchi-depth-width', '--config', cfg, '--out', out], c)).toBe(2);
    expect(c.err()).toContain(`${cfg}: field "epochs"`);
    expect(existsSync(join(out, 'runs.jsonl'))).toBe(false);
  });
});

describe('notCovered (evidence rule of a cell)', () => {
  const base: KawaguchiRecord = {
    id: 'synthetic/H1/m5',
    dataset: 'synthetic',
    depth: 1,
    width: 5,
    n: 10,
    steps: 1,
    params: 55,
    status: 'budget',
    sqrtJInit: 1,
    sqrtJTrained: 0.5,
    sqrtLInit: 2,
    sqrtLTrained: 0.6,
    jInit: { method: 'parameterGram', converged: true, certified: true, status: 'converged, certified' },
    jTrained: { method: 'parameterGram', converged: true, certified: true, status: 'converged, certified' },
    wallMs: 0,
    engine: { engine: 'x', backend: 'x', device: 'x' },
    finishedAt: '',
  };
  it('is covered when trained and both J converged; not when diverged, no descent or J unconverged', () => {
    expect(notCovered(base)).toBeNull();
    expect(
      notCovered({ ...base, status: 'diverged', sqrtLTrained: null, sqrtJTrained: null, jTrained: null }),
    ).toMatch(/diverged/);
    expect(notCovered({ ...base, sqrtLTrained: 2.5 })).toMatch(/not below the initial loss/);
    expect(
      notCovered({ ...base, jTrained: { ...base.jTrained!, converged: false, status: 'not converged: x' } }),
    ).toMatch(/trained J: not converged/);
  });
});
