import { UsageError, checkOptions, flagOf, parseOptions } from '../options.js';
import { type AnyExperiment, SCALE_NAMES, type ScaleName } from './experiment.js';

/** The settings of a new sweep: the scale's preset, overridden by the option values given. */
export function settingsFrom(exp: AnyExperiment, values: Record<string, unknown>): Record<string, unknown> {
  const scale = (values.scale as ScaleName | undefined) ?? 'default';
  if (!SCALE_NAMES.includes(scale)) throw new UsageError(`--scale: must be one of ${SCALE_NAMES.join(', ')}`);
  const settings: Record<string, unknown> = { ...exp.scales[scale] };
  for (const d of exp.options) if (d.key !== 'scale' && d.key in values) settings[d.key] = values[d.key];
  return settings;
}

/**
 * Checks settings read back from a store field by field with the experiment's option table (the
 * same rules as flags): unknown and missing fields, wrong types (also numbers written as
 * strings) and values out of range are errors naming `where` and the field.
 */
export function checkStoredSettings(
  exp: AnyExperiment,
  settings: unknown,
  where: string,
): Record<string, unknown> {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings))
    throw new UsageError(`${where}: field "settings" is not an object`);
  const s = settings as Record<string, unknown>;
  const defs = new Map(exp.options.map((d) => [d.key, d]));
  for (const key of Object.keys(exp.scales.default))
    if (!(key in s)) throw new UsageError(`${where}: settings field "${key}" is missing`);
  for (const [key, value] of Object.entries(s)) {
    const def = defs.get(key);
    if (!def)
      throw new UsageError(
        `${where}: unknown settings field "${key}" for experiment ${exp.name} (fields: ${[...defs.keys()].join(', ')})`,
      );
    const text = Array.isArray(value) ? value.map(String).join(',') : String(value);
    let parsed: unknown;
    try {
      parsed = parseOptions([flagOf(key), text], [def], exp.name).values[key];
    } catch (e) {
      throw new UsageError(
        `${where}: settings field "${key}": ${(e as Error).message.replace(/^--[a-z0-9-]+: /, '')}`,
      );
    }
    if (JSON.stringify(parsed) !== JSON.stringify(value))
      throw new UsageError(
        `${where}: settings field "${key}" is ${JSON.stringify(value)}, expected ${def.kind === 'string' ? 'a string' : `a value of kind ${def.kind}`}`,
      );
  }
  checkOptions(exp.options, s, {}, `${where}: settings field`);
  return s;
}
