import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../package.json';
import { analyze } from './analyze.js';
import { startTrainerEngine } from './engines.js';
import { EXPERIMENTS, experimentNamed } from './experiments/registry.js';
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
import { DirStore } from './sweep/dir-store.js';
import { type SweepHooks, enginesOf, runSweep } from './sweep/engine.js';
import { type AnyExperiment, type ExecEngine, SCALE_NAMES, type SweepRecord } from './sweep/experiment.js';
import { checkStoredSettings, settingsFrom } from './sweep/settings.js';
import { snapshot, statusText } from './sweep/status.js';
import type { SweepMeta, SweepStore } from './sweep/store.js';

/** Version of the app (from its package.json, bundled at build time). */
export const VERSION: string = pkg.version;

/** Streams and hooks of one CLI invocation (tests pass their own). */
export interface MainIo {
  stdout?: ProgressStream;
  stderr?: ProgressStream;
  /** Aborting stops a sweep after the run in progress is interrupted (it is not recorded). */
  signal?: AbortSignal;
  /** Called after each finished run of a sweep. */
  onRunDone?: (rec: SweepRecord, finishedThisSession: number) => void;
  /** Called after each committed checkpoint (`--checkpoint-every`) with its directory and step. */
  onCheckpoint?: (batchDir: string, step: number) => void;
}

const HELP = `narrownet ${VERSION} — train narrow neural networks with the regimes of Zhang et al. 2021,
Kawaguchi et al. 2019 and Song et al. 2021, and print landscape diagnostics.

Usage:
  narrownet list                      the experiments, one line each, and their scales
  narrownet run synthetic [options]   reproduce Zhang et al. 2021 Fig. 4 (a)-(d) on the synthetic set
  narrownet run <experiment> [--scale smoke|default|paper] [options]
                                      run a sweep in a run directory (default), or with
                                      --store postgres://… create it there for workers
  narrownet worker --store postgres://… [--concurrency k]
                                      train queued runs of the database's sweeps
  narrownet report <run dir | postgres://…>
                                      rebuild the report from the store (partial results marked)
  narrownet status <run dir | postgres://…>
                                      done / running / failed / pending runs, per worker
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
    max: MAX_THREADS,
    help: 'onnxruntime CPU threads (0 = all cores)',
    defaultText: '0',
  },
  {
    key: 'sequential',
    kind: 'bool',
    help: 'one trainer per run (exact divergence steps) instead of one onnxruntime grid trainer per batch (stored with the sweep)',
  },
];

const RUN_DEFS: OptionDef[] = [
  {
    key: 'out',
    kind: 'string',
    help: 'run directory (the embedded store)',
    defaultText: 'runs/<experiment>-<timestamp>',
  },
  {
    key: 'store',
    kind: 'string',
    help: 'postgres://… URL: create the sweep there (its runs as jobs for `narrownet worker`) instead of a run directory',
    flagOnly: true,
  },
  {
    key: 'name',
    kind: 'string',
    help: 'name of the sweep in a --store database',
    defaultText: '<experiment>-<scale>',
  },
  {
    key: 'resume',
    kind: 'string',
    help: 'continue the run directory <dir> (its settings and execution mode; engine flags may change)',
    flagOnly: true,
  },
  {
    key: 'retries',
    kind: 'int',
    min: 0,
    help: 'times a run (grid: a batch) that throws is tried again before it is recorded failed',
    defaultText: '2',
  },
  {
    key: 'jobTimeout',
    kind: 'int',
    min: 1,
    help: 'with --store: seconds after which a job whose worker went silent is given to another worker',
    defaultText: '3600',
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

type Io = Required<Pick<MainIo, 'stdout' | 'stderr'>> & MainIo;

/** Whether a store target is a database URL (else a run directory). */
export function isDbUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

/** Opens the store a target names: a PostgreSQL URL (sweep `name`) or a run directory. */
async function openStore(target: string, name: string | undefined): Promise<SweepStore> {
  if (!isDbUrl(target)) return new DirStore(target);
  const { PgStore } = await import('./sweep/pg-store.js');
  return PgStore.connect(target, name);
}

/** Starts the engine of the engine flags; the label says how runs execute. */
async function startEngine(
  values: Record<string, unknown>,
  batched: boolean,
  stepsPerCall: number,
): Promise<ExecEngine> {
  const te = await startTrainerEngine({
    engine: (values.engine as 'onnx' | 'tfjs' | 'auto' | undefined) ?? 'auto',
    device: (values.device as 'cpu' | 'gpu' | 'auto' | undefined) ?? 'auto',
    threads: (values.threads as number | undefined) ?? 0,
  });
  const grid = te.grid;
  const useGrid = batched && grid !== undefined;
  return {
    label: `${te.label}${useGrid ? ', fused batch trainer' : ', one trainer per run'}`,
    createTrainer: te.factory(stepsPerCall),
    runtime: te.engine,
    ...(useGrid ? { grid: (configs) => grid(configs, stepsPerCall) } : {}),
  };
}

function hooksOf(io: Io): SweepHooks {
  return {
    ...(io.signal ? { signal: io.signal } : {}),
    ...(io.onRunDone ? { onRunDone: io.onRunDone } : {}),
    ...(io.onCheckpoint ? { onCheckpoint: io.onCheckpoint } : {}),
  };
}

async function runCommand(argv: readonly string[], io: Io): Promise<number> {
  const [what, ...rest] = argv;
  if (what === undefined || what === '--help' || what === '-h') {
    (what === undefined ? io.stderr : io.stdout).write(
      'Usage: narrownet run <experiment> [options]   (experiments: narrownet list; options: narrownet run <experiment> --help)\n',
    );
    return what === undefined ? 2 : 0;
  }
  const exp = experimentNamed(what);
  const defs = [...exp.options, ...ENGINE_DEFS, ...RUN_DEFS];
  const { values, sources, help, positionals } = parseOptions(rest, defs, `run ${exp.name}`);
  if (help) {
    io.stdout.write(
      `Usage: narrownet run ${exp.name} [options]\n\n${exp.help}\n\nOptions:\n${optionsHelp(defs)}\n`,
    );
    return 0;
  }
  if (positionals.length) throw new UsageError(`run ${exp.name}: unexpected argument "${positionals[0]}"`);
  const command = `narrownet run ${argv.join(' ')}`.trim();
  const resume = values.resume as string | undefined;
  const target = resume ?? (values.store as string | undefined);
  if (resume !== undefined) {
    const fixed = [...exp.options.map((d) => d.key), 'out', 'store', 'retries', 'jobTimeout'].filter(
      (k) => k in values,
    );
    if (fixed.length)
      throw new UsageError(
        `--resume: the store fixes the settings; drop ${fixed.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
      );
  }
  if (target !== undefined && isDbUrl(target)) {
    if ('out' in values) throw new UsageError('--out and --store: a sweep lives in one store');
    const store = await openStore(target, (values.name as string | undefined) ?? defaultName(exp, values));
    try {
      const { createDbSweep } = await import('./sweep/pg-store.js');
      const create =
        resume === undefined
          ? newSweep(exp, values, !values.sequential, values.name as string | undefined, sources)
          : undefined;
      if (create) await exp.prepare?.(create.settings, (l) => io.stderr.write(l));
      const { meta, queued } = await createDbSweep(store as never, exp, create, values, command);
      io.stderr.write(
        `narrownet: sweep "${meta.name}" (${exp.name}) in ${store.where}: ${queued} of ${exp.expand(meta.settings).length} runs queued (the others are stored); start workers with: narrownet worker --store <url>\n`,
      );
      io.stdout.write(`${meta.name}\n`);
      return 0;
    } finally {
      await store.close();
    }
  }
  if (resume !== undefined && !existsSync(join(resume, 'config.json')))
    throw new UsageError(`--resume ${resume}: no config.json there (not a run directory)`);
  const dir = resume ?? (values.out as string | undefined) ?? join('runs', `${exp.name}-${timestamp()}`);
  if (resume === undefined && existsSync(join(dir, 'runs.jsonl')))
    throw new UsageError(
      `--out ${dir}: already holds a run; continue it with --resume ${dir} or pick another --out`,
    );
  const store = new DirStore(dir);
  const stored = resume !== undefined ? await store.meta() : undefined;
  if (stored) {
    if (stored.experiment !== exp.name)
      throw new UsageError(
        `--resume ${dir}: holds a sweep of experiment "${stored.experiment}", not "${exp.name}"`,
      );
    exp.validate(checkStoredSettings(exp, stored.settings, join(dir, 'config.json')));
    if (values.sequential !== undefined && values.sequential === stored.execution.batched)
      throw new UsageError(
        `--resume ${dir}: the sweep was created ${stored.execution.batched ? 'in grid mode' : 'with --sequential'}; resume it without ${stored.execution.batched ? '--sequential' : '--sequential false'}`,
      );
  }
  const create = stored ? undefined : newSweep(exp, values, values.sequential !== true, dir, sources);
  const meta = (stored ?? create)!;
  await exp.prepare?.(meta.settings, (l) => io.stderr.write(l));
  const engine = await startEngine(values, meta.execution.batched, exp.stepsPerCall?.(meta.settings) ?? 1);
  if (create && !engine.grid) create.execution.batched = false;
  io.stderr.write(`narrownet: engine ${engine.label}; run directory ${dir}\n`);
  for (const p of store.recover())
    io.stderr.write(`narrownet: removed ${p} (left by a process killed mid-write)\n`);
  const res = await runSweep({
    exp,
    store,
    ...(create ? { create } : {}),
    engine,
    command,
    progress: io.stderr,
    reportDir: dir,
    hooks: hooksOf(io),
  });
  io.stdout.write(`${join(dir, 'report.html')}\n`);
  return res.complete ? 0 : 130;
}

function defaultName(exp: AnyExperiment, values: Record<string, unknown>): string {
  return `${exp.name}-${(values.scale as string | undefined) ?? 'default'}`;
}

/** The sweep a `run` command asks for (settings from scale + flags, checked). */
function newSweep(
  exp: AnyExperiment,
  values: Record<string, unknown>,
  batched: boolean,
  name: string | undefined,
  sources: Readonly<Record<string, string>>,
): Omit<SweepMeta, 'sessions' | 'createdAt' | 'format' | 'version'> {
  const raw = settingsFrom(exp, values);
  // every option's range and the cross-option checks, on the final settings; errors name the flag,
  // the config file and field, or the scale's preset
  checkOptions(
    exp.options,
    raw,
    sources,
    `--scale ${(values.scale as string | undefined) ?? 'default'}: field`,
  );
  const settings = exp.validate(raw);
  return {
    name: name ?? defaultName(exp, values),
    experiment: exp.name,
    settings,
    execution: { batched, attempts: 1 + ((values.retries as number | undefined) ?? 2) },
  };
}

const TARGET_DEFS: OptionDef[] = [
  { key: 'name', kind: 'string', help: 'sweep name (a database may hold several)' },
];

/** `narrownet report <dir | url>`: rebuilds the report from what the store holds now. */
async function reportCommand(argv: readonly string[], io: Io): Promise<number> {
  const defs = [
    ...TARGET_DEFS,
    {
      key: 'out',
      kind: 'string',
      help: 'report directory (default: the run directory; for a database reports/<name>)',
    } as OptionDef,
  ];
  const { values, help, positionals } = parseOptions(argv, defs, 'report');
  if (help || positionals.length !== 1) {
    (help ? io.stdout : io.stderr).write(
      `Usage: narrownet report <run dir | postgres://…> [options]\n\nOptions:\n${optionsHelp(defs)}\n`,
    );
    return help ? 0 : 2;
  }
  const target = positionals[0]!;
  const store = await openStore(target, values.name as string | undefined);
  try {
    const snap = await snapshot(store);
    const dir =
      (values.out as string | undefined) ?? (isDbUrl(target) ? join('reports', snap.meta.name) : target);
    mkdirSync(dir, { recursive: true });
    const lines = await snap.exp.report(dir, snap.records, {
      settings: snap.settings,
      engine: enginesOf(snap.meta),
      wallSeconds: snap.meta.sessions.reduce((s, x) => s + x.wallSeconds, 0),
      command: snap.meta.sessions[0]?.command ?? '',
      complete: snap.status.pending === 0 && snap.status.running === 0,
      totalRuns: snap.status.total,
    });
    for (const l of lines) io.stderr.write(`${l}\n`);
    io.stderr.write(`${statusText(snap.status)}\n`);
    io.stdout.write(`${join(dir, 'report.html')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/** `narrownet status <dir | url>`: done / running / failed / pending, per worker. */
async function statusCommand(argv: readonly string[], io: Io): Promise<number> {
  const defs = [...TARGET_DEFS, { key: 'json', kind: 'bool', help: 'print JSON' } as OptionDef];
  const { values, help, positionals } = parseOptions(argv, defs, 'status');
  if (help || positionals.length !== 1) {
    (help ? io.stdout : io.stderr).write(
      `Usage: narrownet status <run dir | postgres://…> [options]\n\nOptions:\n${optionsHelp(defs)}\n`,
    );
    return help ? 0 : 2;
  }
  const store = await openStore(positionals[0]!, values.name as string | undefined);
  try {
    const { status } = await snapshot(store);
    io.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : `${statusText(status)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/** `narrownet worker --store <url>`: trains queued runs of the database's sweeps. */
async function workerCommand(argv: readonly string[], io: Io): Promise<number> {
  const defs = [
    { key: 'store', kind: 'string', help: 'postgres://… URL of the store' } as OptionDef,
    {
      key: 'concurrency',
      kind: 'int',
      min: 1,
      help: 'jobs trained at the same time',
      defaultText: '1',
    } as OptionDef,
    {
      key: 'untilEmpty',
      kind: 'bool',
      help: 'exit when no job is left (default: keep polling)',
    } as OptionDef,
    {
      key: 'maintenanceEvery',
      kind: 'int',
      min: 1,
      help: "seconds between pg-boss maintenance passes (they hand a dead worker's expired job to another)",
      defaultText: '10',
    } as OptionDef,
    ...ENGINE_DEFS.filter((d) => d.key !== 'sequential'),
  ];
  const { values, help, positionals } = parseOptions(argv, defs, 'worker');
  if (help) {
    io.stdout.write(
      `Usage: narrownet worker --store postgres://… [options]\n\nOptions:\n${optionsHelp(defs)}\n`,
    );
    return 0;
  }
  if (positionals.length) throw new UsageError(`worker: unexpected argument "${positionals[0]}"`);
  const url = values.store as string | undefined;
  if (!url || !isDbUrl(url)) throw new UsageError('worker: --store postgres://… is required');
  const { runWorker } = await import('./sweep/pg-store.js');
  const engines = new Map<string, ExecEngine>();
  await runWorker({
    url,
    concurrency: (values.concurrency as number | undefined) ?? 1,
    untilEmpty: values.untilEmpty === true,
    maintenanceSeconds: (values.maintenanceEvery as number | undefined) ?? 10,
    engine: async (batched, stepsPerCall) => {
      const key = `${batched}/${stepsPerCall}`;
      if (!engines.has(key)) engines.set(key, await startEngine(values, batched, stepsPerCall));
      return engines.get(key)!;
    },
    log: io.stderr,
    hooks: hooksOf(io),
  });
  return io.signal?.aborted ? 130 : 0;
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
    if (cmd === 'list') {
      for (const e of EXPERIMENTS)
        out.write(
          `${e.name.padEnd(12)} ${e.title}\n${' '.repeat(13)}scales: ${SCALE_NAMES.join(', ')} (default: default)\n`,
        );
      return 0;
    }
    if (cmd === 'report') return await reportCommand(rest, full);
    if (cmd === 'status') return await statusCommand(rest, full);
    if (cmd === 'worker') return await workerCommand(rest, full);
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
    throw new UsageError(
      `unknown command "${cmd}" (commands: list, run, worker, report, status, analyze; see narrownet --help)`,
    );
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`narrownet: ${e.message}\n`);
      return 2;
    }
    err.write(`narrownet: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
