/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32, Gaussian draws by the
 * Box–Muller transform in float64. The same seed gives the same stream on every platform.
 */
export interface Rng {
  /** Uniform draw in [0, 1) with 32 random bits. */
  uniform(): number;
  /** Standard normal draw N(0, 1). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Fills `out` with N(mean, std²) draws and returns it. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean?: number, std?: number): T;
  /** An independent stream derived from this generator's seed and a label (does not advance this one). */
  fork(label: string | number): Rng;
  /** The seed this generator was created with. */
  readonly seed: number;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(seed: number, label: string | number): number {
  const text = `${seed}:${label}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Creates a seeded generator. `seed` must be a finite integer (any sign; taken modulo 2^32).
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed) || !Number.isInteger(seed)) {
    throw new RangeError(`createRng: seed must be a finite integer, got ${seed}`);
  }
  const sm = splitmix32(seed >>> 0);
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  if ((a | b | c | d) === 0) a = 1;
  const next = (): number => {
    const r = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = ((d << 11) | (d >>> 21)) >>> 0;
    return r;
  };
  let spare: number | null = null;
  const rng: Rng = {
    seed,
    uniform: () => next() / 4294967296,
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = rng.uniform();
      const v = rng.uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      if (!Number.isInteger(n) || n <= 0)
        throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
      return Math.floor(rng.uniform() * n);
    },
    fillNormal(out, mean = 0, std = 1) {
      for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.normal();
      return out;
    },
    fork: (label) => createRng(hashLabel(seed, label) | 0),
  };
  return rng;
}
