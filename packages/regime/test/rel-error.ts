/** max |got − want| / max(max |want|, floor): float32 tolerance, absolute below the floor; ∞ on a length mismatch. */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>, floor = 1e-3): number {
  let scale = floor;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  return got.length === want.length ? err / scale : Number.POSITIVE_INFINITY;
}
