import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../package.json';
import { analyze } from './analyze.js';
import { startTrainerEngine } from './engines.js';
import {
  MAX_THREADS,
  type OptionDef,
  SEED_MAX,
  UsageError,
  checkOptions,
  optionsHelp,
  parseOptions,
} from './options.js';
import type { ProgressStream } from './progress.js';
import type { RunRecord } from './runs.js';
import {
  SCALES,
  SYNTHETIC_REGIMES,
  type SyntheticSettings,
  runSynthetic,
  validateSettings,
} from './synthetic.js';

/** Version of the app (from its package.json, bundled at build time). */
export const VERSION: string = pkg.version;

/** Streams and hooks of one CLI invocation (tests pass their own). */
export interface MainIo {
  stdout?: ProgressStream;
  stderr?: ProgressStream;
  /** Aborting stops a sweep after the run in progress is interrupted (it is not recorded). */
  signal?: AbortSignal;
  /** Called after each finished run of a sweep. */
  onRunDone?: (rec: RunRecord, finishedThisSession: number) => void;
  /** Called after each grid-batch checkpoint (`--checkpoint-every` in grid mode). */
  onCheckpoint?: (batchDir: string, step: number) => void;
}

const HELP = `narrownet ${VERSION} — train narrow neural networks with the regimes of Zhang et al. 2021,
Kawaguchi et al. 2019 and Song et al. 2021, and print landscape diagnostics.

Usage:
  narrownet run synthetic [options]   reproduce Zhang et al. 2021 Fig. 4 (a)-(d) on the synthetic set
  narrownet analyze --checkpoint <path> --data <x.npy,y.npy | dataset name>
                                      print the landscape quantities of a checkpoint as JSON
  narrownet <command> --help          options of a command
  narrownet --version                 print the version

Exit codes: 0 success, 1 runtime failure, 2 bad command, flag, config field or value,
130 interrupted (a sweep can be continued with --resume).`;

const ENGINE_DEFS: OptionDef[] = [
  {
    key: 'engine',
    kind: 'string',
    values: ['onnx', 'tfjs', 'auto'],
    help: 'compute engine',
    defaultText: 'auto (onnx, then tfjs)',
  },
  { key: 'device', kind: 'string', values: ['cpu', 'gpu', 'auto'], help: 'device', defaultText: 'auto' },
  {
    key: 'threads',
    kind: 'int',
    min: 0,
    // more threads than this only oversubscribes the cores (999 threads hang for minutes)
    max: MAX_THREADS,
    help: 'onnxruntime CPU threads (0 = all cores)',
    defaultText: '0',
  },
  {
    key: 'sequential',
    kind: 'bool',
    help: 'one trainer per run (exact divergence steps) instead of one onnxruntime grid trainer per (regime, width)',
  },
];

const SWEEP_DEFS: OptionDef[] = [
  {
    key: 'scale',
    kind: 'string',
    values: ['default', 'paper'],
    help: 'preset of all settings below',
    defaultText: 'default',
  },
  {
    key: 'widths',
    kind: 'intList',
    min: 2,
    unique: true,
    help: 'hidden widths m, comma-separated',
    check: (w, s) =>
      (s.regimes as string[]).includes('zhang2021') && (w as number[]).some((m) => m % 2 !== 0)
        ? `the paired net of zhang2021 needs even widths, got ${(w as number[]).filter((m) => m % 2 !== 0).join(', ')}`
        : undefined,
  },
  {
    key: 'radii',
    kind: 'numberList',
    min: 0,
    minExclusive: true,
    unique: true,
    help: 'ball radii ε (1000 = unconstrained)',
  },
  { key: 'lrs1', kind: 'numberList', min: 0, minExclusive: true, unique: true, help: 'step-size grid of W' },
  { key: 'lrs2', kind: 'numberList', min: 0, minExclusive: true, unique: true, help: 'step-size grid of v' },
  { key: 'regimes', kind: 'enumList', values: SYNTHETIC_REGIMES, unique: true, help: 'regimes to run' },
  { key: 'steps', kind: 'int', min: 1, help: 'optimizer steps per run' },
  { key: 'n', kind: 'int', min: 1, help: 'sample size of the synthetic set' },
  { key: 'd', kind: 'int', min: 1, help: 'input dimension of the synthetic set' },
  { key: 'seed', kind: 'int', min: 0, max: SEED_MAX, help: 'seed of the data and the inits' },
  {
    key: 'momentum',
    kind: 'number',
    min: 0,
    max: 1,
    maxExclusive: true,
    help: 'heavy-ball momentum (with --update sgd)',
  },
  {
    key: 'update',
    kind: 'string',
    values: ['sgd', 'adam'],
    help: 'update rule of W and v: sgd = heavy ball (the paper), adam = Adam with lrs1/lrs2 (an extension)',
    defaultText: 'sgd',
  },
  {
    key: 'schedule',
    kind: 'string',
    values: ['constant', 'cosine'],
    help: 'step-size schedule of W and v: constant (the paper) or cosine annealing to 0 over --steps (an extension)',
    defaultText: 'constant',
  },
  {
    key: 'vConstraint',
    kind: 'string',
    values: ['none', 'exact', 'paperHeuristic'],
    help: 'B_{ζ,κ} constraint on v (zhang2021)',
  },
  { key: 'evalEvery', kind: 'int', min: 1, help: 'metrics every this many steps' },
  { key: 'lossTolerance', kind: 'number', min: 0, help: 'stop a run at this loss' },
  {
    key: 'lambdaMin',
    kind: 'string',
    values: ['best', 'all', 'none'],
    help: 'which runs get λ_min(J) at their end',
  },
  {
    key: 'checkpointEvery',
    kind: 'int',
    min: 0,
    help: 'checkpoint unfinished runs (grid mode: whole batches) every this many steps; --resume continues from there',
  },
];

const RUN_DEFS: OptionDef[] = [
  ...SWEEP_DEFS,
  ...ENGINE_DEFS,
  { key: 'out', kind: 'string', help: 'run directory', defaultText: 'runs/synthetic-<timestamp>' },
  {
    key: 'resume',
    kind: 'string',
    help: 'continue the run directory <dir> (its settings; engine flags may change)',
    flagOnly: true,
  },
];

const ANALYZE_DEFS: OptionDef[] = [
  { key: 'checkpoint', kind: 'string', help: 'checkpoint base path (<base>.json + <base>.safetensors)' },
  { key: 'data', kind: 'string', help: '"x.npy,y.npy" or a dataset name (e.g. zhang-synthetic)' },
  { key: 'n', kind: 'int', min: 1, help: 'sample size for a generated dataset' },
  { key: 'd', kind: 'int', min: 1, help: 'input dimension for a generated dataset' },
  { key: 'seed', kind: 'int', min: 0, max: SEED_MAX, help: 'seed for a generated dataset' },
];

function timestamp(): string {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

async function runCommand(
  argv: readonly string[],
  io: Required<Pick<MainIo, 'stdout' | 'stderr'>> & MainIo,
): Promise<number> {
  const [what, ...rest] = argv;
  if (what === undefined || what === '--help' || what === '-h') {
    (what === undefined ? io.stderr : io.stdout).write(
      'Usage: narrownet run synthetic [options]   (see narrownet run synthetic --help)\n',
    );
    return what === undefined ? 2 : 0;
  }
  if (what !== 'synthetic') throw new UsageError(`run: unknown experiment "${what}" (available: synthetic)`);
  const { values, sources, help, positionals } = parseOptions(rest, RUN_DEFS, 'run synthetic');
  if (help) {
    io.stdout.write(
      `Usage: narrownet run synthetic [options]\n\nReproduces Zhang et al. 2021 Fig. 4: widths × radii × {zhang2021, constrainedRegular},\nthe best final loss over the step-size grid per cell, and λ_min(J) at the end points.\nWrites runs.jsonl, four SVG heat maps and report.html into the run directory.\n\nOptions:\n${optionsHelp(RUN_DEFS)}\n`,
    );
    return 0;
  }
  if (positionals.length) throw new UsageError(`run synthetic: unexpected argument "${positionals[0]}"`);
  let settings: SyntheticSettings;
  let dir: string;
  if (values.resume !== undefined) {
    dir = values.resume as string;
    const cfg = join(dir, 'config.json');
    if (!existsSync(cfg)) throw new UsageError(`--resume ${dir}: no config.json there (not a run directory)`);
    const clash = SWEEP_DEFS.map((d) => d.key).filter((k) => k in values);
    if (clash.length || 'out' in values)
      throw new UsageError(
        `--resume: the run directory fixes the settings; drop ${[...clash, ...('out' in values ? ['out'] : [])].map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
      );
    try {
      settings = (JSON.parse(readFileSync(cfg, 'utf8')) as { settings: SyntheticSettings }).settings;
    } catch (err) {
      throw new UsageError(`--resume ${dir}: config.json is unreadable (${(err as Error).message})`);
    }
  } else {
    const scale = (values.scale as 'default' | 'paper' | undefined) ?? 'default';
    settings = { ...SCALES[scale] };
    for (const d of SWEEP_DEFS)
      if (d.key !== 'scale' && d.key in values)
        (settings as unknown as Record<string, unknown>)[d.key] = values[d.key];
    checkOptions(
      SWEEP_DEFS,
      settings as unknown as Record<string, unknown>,
      sources,
      `--scale ${scale}: field`,
    );
    dir = (values.out as string | undefined) ?? join('runs', `synthetic-${timestamp()}`);
    if (existsSync(join(dir, 'runs.jsonl')))
      throw new UsageError(
        `--out ${dir}: already holds a run; continue it with --resume ${dir} or pick another --out`,
      );
  }
  validateSettings(settings);
  const te = await startTrainerEngine({
    engine: (values.engine as 'onnx' | 'tfjs' | 'auto' | undefined) ?? 'auto',
    device: (values.device as 'cpu' | 'gpu' | 'auto' | undefined) ?? 'auto',
    threads: (values.threads as number | undefined) ?? 0,
  });
  io.stderr.write(`narrownet: engine ${te.label}; run directory ${dir}\n`);
  const k = settings.evalEvery % 50 === 0 ? 50 : 1;
  const sequential = values.sequential === true || !te.grid;
  const grid = te.grid;
  const res = await runSynthetic(
    settings,
    dir,
    {
      label: `${te.label}${sequential ? ', one trainer per run' : ', grid trainer per (regime, width)'}`,
      createTrainer: te.factory(k),
      ...(!sequential && grid ? { grid: (configs) => grid(configs, k) } : {}),
    },
    io.stderr,
    `narrownet run synthetic ${argv.slice(1).join(' ')}`.trim(),
    {
      ...(io.signal ? { signal: io.signal } : {}),
      ...(io.onRunDone ? { onRunDone: io.onRunDone } : {}),
      ...(io.onCheckpoint ? { onCheckpoint: io.onCheckpoint } : {}),
    },
  );
  io.stdout.write(`${join(res.dir, 'report.html')}\n`);
  return res.complete ? 0 : 130;
}

/**
 * Runs the CLI with the given arguments and resolves to the process exit code: 0 success,
 * 1 runtime failure, 2 usage error (unknown command or flag, bad config field or value),
 * 130 interrupted sweep.
 */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  io: MainIo = {},
): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const full = { ...io, stdout: out, stderr: err };
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined) {
      err.write(`${HELP}\n`);
      return 2;
    }
    if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
      out.write(`${HELP}\n`);
      return 0;
    }
    if (cmd === '--version' || cmd === '-v') {
      out.write(`${VERSION}\n`);
      return 0;
    }
    if (cmd === 'run') return await runCommand(rest, full);
    if (cmd === 'analyze') {
      const { values, help, positionals } = parseOptions(rest, ANALYZE_DEFS, 'analyze');
      if (help) {
        out.write(
          `Usage: narrownet analyze --checkpoint <path> --data <x.npy,y.npy | dataset name>\n\nPrints every landscape quantity that applies to the checkpoint's model as JSON.\n\nOptions:\n${optionsHelp(ANALYZE_DEFS)}\n`,
        );
        return 0;
      }
      if (positionals.length) throw new UsageError(`analyze: unexpected argument "${positionals[0]}"`);
      if (!values.checkpoint) throw new UsageError('analyze: --checkpoint is required');
      if (!values.data) throw new UsageError('analyze: --data is required');
      const result = await analyze({
        checkpoint: values.checkpoint as string,
        data: values.data as string,
        ...(values.n !== undefined ? { n: values.n as number } : {}),
        ...(values.d !== undefined ? { d: values.d as number } : {}),
        ...(values.seed !== undefined ? { seed: values.seed as number } : {}),
      });
      out.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    throw new UsageError(`unknown command "${cmd}" (commands: run, analyze; see narrownet --help)`);
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`narrownet: ${e.message}\n`);
      return 2;
    }
    err.write(`narrownet: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
