import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Most CPU threads an option may ask for: 4 × the cores of this machine, at most 256. */
export const MAX_THREADS: number = Math.min(256, 4 * availableParallelism());

/** Largest seed (seeds are used as unsigned 32-bit integers). */
export const SEED_MAX = 2 ** 32 - 1;

/** A bad flag, config field or value: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Kind = 'int' | 'number' | 'string' | 'intList' | 'numberList' | 'enumList' | 'bool';

/** One option of a command, settable by flag (`--kebab-name`) or config field (`camelName`). */
export interface OptionDef {
  /** Config-file field name (camelCase); the flag is its kebab-case form. */
  key: string;
  kind: Kind;
  /** Allowed values (`string` / `enumList`). */
  values?: readonly string[];
  /** Lower bound (inclusive) for numbers and list entries. */
  min?: number;
  /** Whether the lower bound is exclusive. */
  minExclusive?: boolean;
  /** Upper bound (inclusive) for numbers and list entries. */
  max?: number;
  /** Whether the upper bound is exclusive. */
  maxExclusive?: boolean;
  /** Lists: every entry at most once. */
  unique?: boolean;
  /**
   * A rule between options, checked on the final settings by {@link checkOptions}: returns what
   * is wrong with `value` given the other settings, or undefined.
   */
  check?: (value: unknown, settings: Readonly<Record<string, unknown>>) => string | undefined;
  /** Help text. */
  help: string;
  /** Shown default. */
  defaultText?: string;
  /** Not settable from a config file (e.g. `config`, `resume`). */
  flagOnly?: boolean;
}

/** `widthsList` → `--widths-list`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** What is wrong with a single number for `def`'s range, or undefined. */
function rangeError(def: OptionDef, n: number): string | undefined {
  if (def.min !== undefined && (def.minExclusive ? n <= def.min : n < def.min))
    return `must be ${def.minExclusive ? '>' : '≥'} ${def.min}, got ${n}`;
  if (def.max !== undefined && (def.maxExclusive ? n >= def.max : n > def.max))
    return `must be ${def.maxExclusive ? '<' : '≤'} ${def.max}, got ${n}`;
  return undefined;
}

/**
 * What is wrong with an already typed value of `def` (range of numbers and list entries,
 * duplicates in lists, allowed values, the cross-option rule), or undefined. The one place the
 * ranges are checked: at parse time for flags and config fields, and by {@link checkOptions}.
 */
function valueError(
  def: OptionDef,
  value: unknown,
  settings?: Readonly<Record<string, unknown>>,
): string | undefined {
  const items = Array.isArray(value) ? value : [value];
  for (const x of items) {
    const e = typeof x === 'number' ? rangeError(def, x) : undefined;
    if (e) return e;
    if (def.values && typeof x === 'string' && !def.values.includes(x))
      return `${Array.isArray(value) ? 'entries must be among' : 'must be one of'} ${def.values.join(', ')}, got ${JSON.stringify(x)}`;
  }
  if (def.unique && Array.isArray(value)) {
    const dup = value.find((x, i) => value.indexOf(x) !== i);
    if (dup !== undefined)
      return `${JSON.stringify(dup)} is listed twice (each entry once: a repeated entry would train the same runs twice)`;
  }
  return settings && def.check ? def.check(value, settings) : undefined;
}

/**
 * Converts a raw value to the option's type and checks its range. Flags are strings ("20",
 * "4,6"); a config file must use its own types (a number, a list), so a string where a number or
 * a list is expected is an error there.
 */
function convert(def: OptionDef, raw: unknown, where: string, fromFile: boolean): unknown {
  const fail = (msg: string): never => {
    throw new UsageError(`${where}: ${msg}`);
  };
  const num = (x: unknown, int: boolean): number => {
    if (fromFile && typeof x !== 'number')
      fail(
        `expected a number, got ${JSON.stringify(x)}${typeof x === 'string' ? ' (a string: write the number without quotes)' : ''}`,
      );
    const v = typeof x === 'string' && x.trim() !== '' ? Number(x) : x;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`expected a number, got ${JSON.stringify(x)}`);
    if (int && !Number.isInteger(v)) fail(`expected an integer, got ${JSON.stringify(x)}`);
    return v as number;
  };
  const list = (x: unknown): unknown[] => {
    if (fromFile && !Array.isArray(x)) fail(`expected a list, got ${JSON.stringify(x)}`);
    const items = typeof x === 'string' ? x.split(',').map((s) => s.trim()) : x;
    if (!Array.isArray(items) || items.length === 0 || items.some((s) => s === ''))
      fail(`expected a non-empty comma-separated list, got ${JSON.stringify(x)}`);
    return items as unknown[];
  };
  let value: unknown;
  switch (def.kind) {
    case 'int':
      value = num(raw, true);
      break;
    case 'number':
      value = num(raw, false);
      break;
    case 'bool':
      if (raw === true || (!fromFile && (raw === 'true' || raw === ''))) value = true;
      else if (raw === false || (!fromFile && raw === 'false')) value = false;
      else fail(`expected true or false, got ${JSON.stringify(raw)}`);
      break;
    case 'string':
      if (typeof raw !== 'string' || raw === '') fail(`expected a string, got ${JSON.stringify(raw)}`);
      value = raw;
      break;
    case 'intList':
      value = list(raw).map((x) => num(x, true));
      break;
    case 'numberList':
      value = list(raw).map((x) => num(x, false));
      break;
    case 'enumList':
      value = list(raw).map((x) => {
        if (typeof x !== 'string')
          fail(`entries must be among ${def.values!.join(', ')}, got ${JSON.stringify(x)}`);
        return x;
      });
      break;
  }
  const e = valueError(def, value);
  if (e) fail(e);
  return value;
}

/**
 * Checks final settings (defaults of a preset merged with flags and config fields) against the
 * option table: every range, and every option's cross-option `check`. An error names where the
 * value came from: `sources[key]` (the flag or `<file>: field "key"`, from {@link parseOptions}),
 * else `<fallback> "key"` (e.g. `preset default: field`).
 */
export function checkOptions(
  defs: readonly OptionDef[],
  settings: Readonly<Record<string, unknown>>,
  sources: Readonly<Record<string, string>>,
  fallback: string,
): void {
  for (const def of defs) {
    if (!(def.key in settings) || settings[def.key] === undefined) continue;
    const e = valueError(def, settings[def.key], settings);
    if (e) throw new UsageError(`${sources[def.key] ?? `${fallback} "${def.key}"`}: ${e}`);
  }
}

/** Reads a `.json`, `.yaml` or `.yml` config file into a plain object; errors name the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${path}: cannot read the file (${(err as Error).message})`);
  }
  const ext = extname(path).toLowerCase();
  let value: unknown;
  try {
    if (ext === '.json') value = JSON.parse(text);
    else if (ext === '.yaml' || ext === '.yml') value = parseYaml(text);
    else throw new UsageError(`--config ${path}: the file must end in .json, .yaml or .yml`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `--config ${path}: not valid ${ext.slice(1).toUpperCase()}: ${(err as Error).message}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`--config ${path}: the top level must be an object of option fields`);
  return value as Record<string, unknown>;
}

/**
 * Parses `argv` (after the command words) against the option table, merging a `--config` file
 * (fields = camelCase keys) under the flags. Unknown flags and fields, missing values and bad
 * values throw {@link UsageError}s that name the flag or `<file>: field`.
 */
export function parseOptions(
  argv: readonly string[],
  defs: readonly OptionDef[],
  command: string,
): {
  values: Record<string, unknown>;
  /** Where each value came from: its flag, or `<file>: field "key"` (for {@link checkOptions}). */
  sources: Record<string, string>;
  help: boolean;
  positionals: string[];
} {
  const byFlag = new Map(defs.map((d) => [flagOf(d.key), d]));
  const fromFlags: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const positionals: string[] = [];
  let help = false;
  let configPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (!a.startsWith('-')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    if (flag === '--config') {
      configPath = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (!configPath) throw new UsageError('--config: expected a file path');
      continue;
    }
    const def = byFlag.get(flag);
    if (!def) throw new UsageError(`${command}: unknown flag ${flag} (see \`narrownet ${command} --help\`)`);
    let raw: string | undefined;
    if (eq >= 0) raw = a.slice(eq + 1);
    else if (def.kind === 'bool' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')))
      raw = 'true';
    else raw = argv[++i];
    if (raw === undefined) throw new UsageError(`${flag}: expected a value`);
    fromFlags[def.key] = convert(def, raw, flag, false);
    sources[def.key] = flag;
  }
  const values: Record<string, unknown> = {};
  if (configPath !== undefined && !help) {
    const cfg = readConfigFile(configPath);
    const byKey = new Map(defs.filter((d) => !d.flagOnly).map((d) => [d.key, d]));
    for (const [k, v] of Object.entries(cfg)) {
      const def = byKey.get(k);
      if (!def)
        throw new UsageError(`${configPath}: unknown field "${k}" (fields: ${[...byKey.keys()].join(', ')})`);
      const where = `${configPath}: field "${k}"`;
      values[k] = convert(def, v, where, true);
      sources[k] ??= where;
    }
  }
  Object.assign(values, fromFlags);
  return { values, sources, help, positionals };
}

/** Help text of a command's options. */
export function optionsHelp(defs: readonly OptionDef[]): string {
  const lines = defs.map((d) => {
    const arg = d.kind === 'bool' ? '' : ` <${d.values ? d.values.join('|') : d.kind}>`;
    const head = `  ${flagOf(d.key)}${arg}`;
    const range =
      d.min !== undefined || d.max !== undefined
        ? `; ${d.minExclusive ? '(' : '['}${d.min ?? '−∞'}, ${d.max ?? '∞'}${d.maxExclusive || d.max === undefined ? ')' : ']'}`
        : '';
    const tail = `${d.help}${range}${d.defaultText ? ` (default: ${d.defaultText})` : ''}`;
    return head.length < 34 ? `${head.padEnd(34)}${tail}` : `${head}\n${' '.repeat(34)}${tail}`;
  });
  return [
    ...lines,
    `  ${'--config <file.json|.yaml>'.padEnd(32)}read options from a file (fields = camelCase names); flags win`,
    `  ${'--help'.padEnd(32)}this help`,
  ].join('\n');
}
