import { writeReport } from '../../report.js';
import { type RunKey, type RunRecord, runId } from '../../runs.js';
import type { Experiment, RunPlan } from '../../sweep/experiment.js';
import {
  SCALES,
  SYNTHETIC_OPTIONS,
  type SyntheticSettings,
  regimeOf,
  sweepRuns,
  validateSettings,
} from './settings.js';
import { GRID_UNITS, baseRecord, dataOf, trainBatch, trainOne } from './train.js';

/**
 * Zhang et al. 2021 Sec. 5.1 / Fig. 4 (a)-(d) on App. H.2's synthetic set: widths × radii ×
 * {zhang2021, constrainedRegular} × the step-size grid; best final loss per cell, λ_min(J) at the
 * end points, and the section's four messages checked.
 */
export const synthetic: Experiment<SyntheticSettings, RunKey, RunRecord> = {
  name: 'synthetic',
  title: 'Zhang et al. 2021 Fig. 4 (a)-(d): Alg. 2 vs regular training, narrow nets on synthetic data',
  help: `Reproduces Zhang et al. 2021 Fig. 4: widths × radii × {zhang2021, constrainedRegular},
the best final loss over the step-size grid per cell, and λ_min(J) at the end points.
Writes runs.jsonl, four SVG heat maps and report.html into the run directory.`,
  options: SYNTHETIC_OPTIONS,
  scales: SCALES,
  validate: validateSettings,
  expand: (s) =>
    sweepRuns(s).map((key) => ({
      id: runId(key),
      key,
      // progress in units of (steps × cost of a step ∝ width + d) so the ETA weighs wide runs more
      cost: s.steps * (key.width + 20),
    })),
  batches(_s, runs) {
    // one grid trainer per (regime, width): every radius × step-size pair in one fused graph,
    // at most GRID_UNITS stacked hidden units per graph (memory: n × G·m activations)
    const groups = new Map<string, RunPlan<RunKey>[]>();
    for (const r of runs) {
      const g = `${r.key.regime}/${r.key.width}`;
      groups.set(g, [...(groups.get(g) ?? []), r]);
    }
    const out: RunPlan<RunKey>[][] = [];
    for (const rs of groups.values()) {
      const per = Math.max(1, Math.floor(GRID_UNITS / rs[0]!.key.width));
      for (let i = 0; i < rs.length; i += per) out.push(rs.slice(i, i + per));
    }
    return out;
  },
  stepsPerCall: (s) => (s.evalEvery % 50 === 0 ? 50 : 1),
  train: (runs, ctx) => (ctx.batched && ctx.engine.grid ? trainBatch(runs, ctx) : trainOne(runs[0]!, ctx)),
  failedRecord: (run, s, error, attempts) => ({
    ...baseRecord(s, run.key, regimeOf(s, run.key).loss),
    status: 'failed',
    error,
    attempts,
    steps: 0,
    finalLoss: null,
    distanceW: null,
    distanceV: null,
    kktResidual: null,
    stationarity: null,
    lambdaMin: null,
    curve: [],
    wallMs: 0,
    engine: { engine: 'none', backend: 'none', device: 'none' },
    finishedAt: new Date().toISOString(),
  }),
  async report(dir, records, info) {
    const data = dataOf(info.settings);
    let ybar = 0;
    for (let i = 0; i < data.n; i++) ybar += data.Y[i]! / data.n;
    let constantLoss = 0;
    for (let i = 0; i < data.n; i++) constantLoss += 0.5 * (data.Y[i]! - ybar) ** 2;
    const { claims } = await writeReport(dir, records, {
      constantLoss,
      settings: { ...info.settings },
      engine: info.engine,
      wallSeconds: info.wallSeconds,
      command: info.command,
      complete: info.complete,
      totalRuns: info.totalRuns,
    });
    return claims.map((c) => `${c.verdict.padEnd(14)} ${c.paper}\n${' '.repeat(15)}${c.measured}`);
  },
};
