import { type RunKey, type RunRecord, runId } from '../src/runs.js';

/**
 * A run record as the synthetic sweep writes it, for tests of what is computed from records. A
 * null `finalLoss` is a diverged run (status `diverged` unless given); otherwise the loss curve
 * goes geometrically from `loss0` at step 0 to `finalLoss` at `steps` in `points` evaluations.
 */
export function syntheticRecord(
  key: RunKey,
  o: {
    loss0: number;
    finalLoss: number | null;
    status?: RunRecord['status'];
    lambdaMin?: number | null;
    steps?: number;
    points?: number;
  },
): RunRecord {
  const steps = o.steps ?? 200;
  const points = o.points ?? 4;
  const curve: [number, number][] = [[0, o.loss0]];
  if (o.finalLoss !== null)
    for (let i = 1; i <= points; i++)
      curve.push([
        (steps * i) / points,
        i === points ? o.finalLoss : o.loss0 * (o.finalLoss / o.loss0) ** (i / points),
      ]);
  const diverged = o.finalLoss === null;
  return {
    id: runId(key),
    ...key,
    config: {
      momentum: 0.9,
      vConstraint: 'none',
      stepBudget: steps,
      lossTolerance: 0,
      n: 24,
      d: 5,
      seed: 0,
      loss: 'halfSse',
    },
    status: o.status ?? (diverged ? 'diverged' : 'budget'),
    steps: diverged ? Math.round(steps * 0.6) : steps,
    ...(diverged ? { divergedAt: Math.round(steps * 0.6) } : {}),
    finalLoss: o.finalLoss,
    distanceW: diverged ? null : Math.min(key.radius, 2),
    distanceV: diverged ? null : 0.5,
    kktResidual: null,
    stationarity: diverged ? null : 0.5,
    lambdaMin: o.lambdaMin ?? null,
    curve,
    wallMs: 1,
    engine: { engine: 'onnx', backend: 'cpu', device: 'cpu' },
    finishedAt: '',
  };
}
