import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';

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

function convert(def: OptionDef, raw: unknown, where: string): unknown {
  const fail = (msg: string): never => {
    throw new UsageError(`${where}: ${msg}`);
  };
  const num = (x: unknown, int: boolean): number => {
    const v = typeof x === 'string' && x.trim() !== '' ? Number(x) : x;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`expected a number, got ${JSON.stringify(x)}`);
    if (int && !Number.isInteger(v)) fail(`expected an integer, got ${JSON.stringify(x)}`);
    const n = v as number;
    if (def.min !== undefined && (def.minExclusive ? n <= def.min : n < def.min))
      fail(`must be ${def.minExclusive ? '>' : '≥'} ${def.min}, got ${n}`);
    return n;
  };
  const list = (x: unknown): unknown[] => {
    const items = typeof x === 'string' ? x.split(',').map((s) => s.trim()) : x;
    if (!Array.isArray(items) || items.length === 0 || items.some((s) => s === ''))
      fail(`expected a non-empty comma-separated list, got ${JSON.stringify(x)}`);
    return items as unknown[];
  };
  switch (def.kind) {
    case 'int':
      return num(raw, true);
    case 'number':
      return num(raw, false);
    case 'bool':
      if (raw === true || raw === 'true' || raw === '') return true;
      if (raw === false || raw === 'false') return false;
      return fail(`expected true or false, got ${JSON.stringify(raw)}`);
    case 'string':
      if (typeof raw !== 'string' || raw === '') fail(`expected a string, got ${JSON.stringify(raw)}`);
      if (def.values && !def.values.includes(raw as string))
        fail(`must be one of ${def.values.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
    case 'intList':
      return list(raw).map((x) => num(x, true));
    case 'numberList':
      return list(raw).map((x) => num(x, false));
    case 'enumList':
      return list(raw).map((x) => {
        if (typeof x !== 'string' || !def.values!.includes(x))
          fail(`entries must be among ${def.values!.join(', ')}, got ${JSON.stringify(x)}`);
        return x;
      });
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
): { values: Record<string, unknown>; help: boolean; positionals: string[] } {
  const byFlag = new Map(defs.map((d) => [flagOf(d.key), d]));
  const fromFlags: Record<string, unknown> = {};
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
    fromFlags[def.key] = convert(def, raw, flag);
  }
  const values: Record<string, unknown> = {};
  if (configPath !== undefined && !help) {
    const cfg = readConfigFile(configPath);
    const byKey = new Map(defs.filter((d) => !d.flagOnly).map((d) => [d.key, d]));
    for (const [k, v] of Object.entries(cfg)) {
      const def = byKey.get(k);
      if (!def)
        throw new UsageError(`${configPath}: unknown field "${k}" (fields: ${[...byKey.keys()].join(', ')})`);
      values[k] = convert(def, v, `${configPath}: field "${k}"`);
    }
  }
  Object.assign(values, fromFlags);
  return { values, help, positionals };
}

/** Help text of a command's options. */
export function optionsHelp(defs: readonly OptionDef[]): string {
  const lines = defs.map((d) => {
    const arg = d.kind === 'bool' ? '' : ` <${d.values ? d.values.join('|') : d.kind}>`;
    const head = `  ${flagOf(d.key)}${arg}`;
    const tail = `${d.help}${d.defaultText ? ` (default: ${d.defaultText})` : ''}`;
    return head.length < 34 ? `${head.padEnd(34)}${tail}` : `${head}\n${' '.repeat(34)}${tail}`;
  });
  return [
    ...lines,
    `  ${'--config <file.json|.yaml>'.padEnd(32)}read options from a file (fields = camelCase names); flags win`,
    `  ${'--help'.padEnd(32)}this help`,
  ].join('\n');
}
