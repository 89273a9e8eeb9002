/** A numeric range: bounds (closed unless marked open) and whether it holds integers only. */
export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  readonly minOpen?: boolean;
  readonly maxOpen?: boolean;
  readonly integer?: boolean;
}

/** The range in words: `in [0, 1)`, `≥ 0`, `> 0`, or `finite`. */
function describe(r: NumberRange): string {
  const lo = r.min !== undefined ? `${r.minOpen ? '(' : '['}${r.min}` : undefined;
  const hi = r.max !== undefined ? `${r.max}${r.maxOpen ? ')' : ']'}` : undefined;
  const kind = r.integer ? 'an integer' : 'a finite number';
  if (lo && hi) return `${kind} in ${lo}, ${hi}`;
  if (lo) return `${kind} ${r.minOpen ? '>' : '≥'} ${r.min}`;
  if (hi) return `${kind} ${r.maxOpen ? '<' : '≤'} ${r.max}`;
  return kind;
}

/**
 * Checks that `value` is a finite number in `range` and returns it; otherwise throws a RangeError
 * `<path>: must be <range>, got <value>` (path = the field, e.g. `optimizer.groups[0].lr`).
 */
export function checkNumber(value: unknown, path: string, range: NumberRange = {}): number {
  const v = value as number;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(v) &&
    (!range.integer || Number.isInteger(v)) &&
    (range.min === undefined || (range.minOpen ? v > range.min : v >= range.min)) &&
    (range.max === undefined || (range.maxOpen ? v < range.max : v <= range.max));
  if (!ok) throw new RangeError(`${path}: must be ${describe(range)}, got ${JSON.stringify(value)}`);
  return v;
}

/** Throws `<path>: must be an object` unless `value` is a non-null object. */
export function checkObject(value: unknown, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new RangeError(`${path}: must be an object, got ${JSON.stringify(value)}`);
}
