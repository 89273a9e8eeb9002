import { join } from 'node:path';
import { createRng } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import {
  type BatchContext,
  type RowSource,
  type TrainerConfig,
  createBatchOrder,
  createOnnxResNetTrainer,
  train,
} from '../src/index.js';
import { config, d, data, k, n, engineAndTempDir, regimeOf } from './resnet-fixture.js';

const env = engineAndTempDir('row-source-');

// The small ResNet problem of resnet-trainer.test.ts; X is its data's inputs.
const { X, Y } = data;
const EMPTY = new Float32Array(0);

/** Rows `idx` of X, gathered (the reference a row source must reproduce). */
function gather(idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) out.set(X.subarray(idx[i]! * d, (idx[i]! + 1) * d), i * d);
  return out;
}

/** A row source returning gather(X); `calls` records what the trainer asked for. */
function gatherSource(calls: { indices: number[]; batch?: BatchContext }[] = []): RowSource {
  return {
    n,
    d,
    rows(indices, batch) {
      calls.push({ indices: [...indices], ...(batch ? { batch: { ...batch } } : {}) });
      return gather(indices);
    },
  };
}

/**
 * A source whose training rows depend on (seed, epoch, step) — a stand-in for random crops:
 * X plus a perturbation drawn from a stream of those three only; evaluation rows are X.
 */
const noisySource: RowSource = {
  n,
  d,
  async rows(indices, batch) {
    const out = gather(indices);
    if (!batch) return out;
    const r = createRng(batch.seed).fork(`noise/${batch.epoch}/${batch.step}`);
    for (let i = 0; i < out.length; i++) out[i]! += 0.3 * r.normal();
    return out;
  },
};

const streamed = (rows: RowSource, over: Partial<TrainerConfig> = {}) =>
  config({ data: { X: EMPTY, Y, n, rows }, ...over });

describe('createOnnxResNetTrainer with data.rows (a RowSource)', () => {
  for (const augment of [false, true])
    it(`a source returning gather(X, indices) gives the iterates of X itself bit for bit (augment ${augment})`, async () => {
      const calls: { indices: number[]; batch?: BatchContext }[] = [];
      const a = await createOnnxResNetTrainer(env.engine, config(), { augment });
      const b = await createOnnxResNetTrainer(env.engine, streamed(gatherSource(calls)), {
        augment,
        predictRows: 5,
      });
      const lossesA: number[] = [];
      const lossesB: number[] = [];
      for (let i = 0; i < 5; i++) {
        lossesA.push(await a.run(1));
        lossesB.push(await b.run(1));
      }
      expect(lossesB).toEqual(lossesA);
      const [sa, sb] = [await a.state(), await b.state()];
      expect(sb.params).toEqual(sa.params);
      expect(sb.slots).toEqual(sa.slots);
      expect(sb.buffers).toEqual(sa.buffers);
      // the trainer asked for the batch order's rows, with the step's (seed, epoch, step)
      const order = createBatchOrder(n, 4, 7);
      expect(calls).toEqual(
        Array.from({ length: 5 }, (_, t) => ({
          indices: [...order.indices(t)],
          batch: { seed: 7, epoch: Math.floor(t / 3), step: t },
        })),
      );
      // run(0) reads the evaluation rows in chunks of predictRows (no batch context)
      calls.length = 0;
      expect(await b.run(0)).toBe(await a.run(0));
      expect(calls.map((c) => c.indices)).toEqual([
        [0, 1, 2, 3, 4],
        [5, 6, 7, 8, 9],
        [10, 11],
      ]);
      expect(calls.every((c) => c.batch === undefined)).toBe(true);
      expect(await b.predict(X, n)).toEqual(await a.predict(X, n));
      await Promise.all([a.dispose(), b.dispose()]);
    });

  it('setState mid-epoch continues bit-exactly with a source that depends on (seed, epoch, step)', async () => {
    const a = await createOnnxResNetTrainer(env.engine, streamed(noisySource));
    await a.run(4); // mid-epoch: 3 steps per epoch
    const mid = await a.state();
    await a.run(4);
    const end = await a.state();
    await a.dispose();
    const b = await createOnnxResNetTrainer(env.engine, streamed(noisySource));
    await b.setState(mid);
    await b.run(4);
    const resumed = await b.state();
    await b.dispose();
    expect(resumed.step).toBe(8);
    expect(resumed.params).toEqual(end.params);
    expect(resumed.slots).toEqual(end.slots);
    expect(resumed.buffers).toEqual(end.buffers);
    // and the source's perturbation reached the iterates (not the plain X run)
    const plain = await createOnnxResNetTrainer(env.engine, config());
    await plain.run(8);
    const p = await plain.state();
    await plain.dispose();
    expect(p.params['layer1.0.conv1.weight']!.data).not.toEqual(end.params['layer1.0.conv1.weight']!.data);
  });

  it('validation names the field: X not empty, n or d off, bad rows, frozen trunk', async () => {
    await expect(
      createOnnxResNetTrainer(env.engine, config({ data: { X, Y, n, rows: gatherSource() } })),
    ).rejects.toThrow(
      /data.X must be empty \(a Float32Array of length 0\) when data.rows gives the input rows/,
    );
    await expect(
      createOnnxResNetTrainer(env.engine, streamed({ ...gatherSource(), n: n - 1 })),
    ).rejects.toThrow(/data.rows.n must equal data.n = 12, got 11/);
    await expect(createOnnxResNetTrainer(env.engine, streamed({ ...gatherSource(), d: 3 }))).rejects.toThrow(
      /data.rows.d must equal the model's input dimension 64, got 3/,
    );
    await expect(
      createOnnxResNetTrainer(env.engine, streamed({ n, d } as unknown as RowSource)),
    ).rejects.toThrow(/data.rows must be a row source/);
    await expect(
      createOnnxResNetTrainer(env.engine, streamed(gatherSource()), { frozenTrunk: true }),
    ).rejects.toThrow(/frozenTrunk .* does not read data.rows/);
    // a batch of the wrong size or with a non-finite entry is refused at the step that reads it
    const short = await createOnnxResNetTrainer(
      env.engine,
      streamed({ n, d, rows: (idx) => gather(idx).subarray(d) }),
    );
    await expect(short.run(1)).rejects.toThrow(/data.rows.rows must return a Float32Array of rows·d = 4·64/);
    await short.dispose();
    const nan = await createOnnxResNetTrainer(
      env.engine,
      streamed({
        n,
        d,
        rows: (idx) => {
          const out = gather(idx);
          out[70] = Number.NaN;
          return out;
        },
      }),
    );
    await expect(nan.run(1)).rejects.toThrow(
      /returned NaN at entry 70 \(row \d+, column 6\); input rows must be finite/,
    );
    await nan.dispose();
  });
});

const regime = regimeOf({ stopping: { maxSteps: 9 } });

describe('train() with data.rows', () => {
  const loop = {
    createTrainer: (c: TrainerConfig) => createOnnxResNetTrainer(env.engine, c),
    batchSize: 4,
    stationarity: false,
    seed: 5,
  };
  it('trains and evaluates through row sources exactly like X (train and test splits)', async () => {
    const common = { ...loop, evalEvery: 3 };
    const test = { X: X.slice(0, 6 * d), Y: Y.slice(0, 6 * k), n: 6 };
    const testRows: RowSource = { n: 6, d, rows: (idx) => gather(idx) };
    // the same chunks both ways (onnxruntime's last bits depend on the rows per call)
    const plain = await train(
      regime,
      { X, Y, n },
      { ...common, evaluation: { test, everyEpochs: 1, chunkRows: 5 } },
    );
    const rows = await train(
      regime,
      { X: EMPTY, Y, n, rows: gatherSource() },
      {
        ...common,
        evaluation: { test: { X: EMPTY, Y: test.Y, n: 6, rows: testRows }, everyEpochs: 1, chunkRows: 5 },
      },
    );
    expect(rows.params).toEqual(plain.params);
    expect(rows.finalLoss).toBe(plain.finalLoss);
    expect(rows.evaluations).toEqual(plain.evaluations);
    expect(rows.evaluations).toHaveLength(3);
  });

  it('a checkpointed run resumed mid-epoch equals the uninterrupted one (source depending on the step)', async () => {
    const common = { ...loop, evalEvery: 2 };
    const data = { X: EMPTY, Y, n, rows: noisySource };
    const full = await train(regime, data, common);
    const path = join(env.dir, 'ck');
    const first = await train(regime, data, { ...common, steps: 4, checkpointPath: path });
    expect(first.steps).toBe(4);
    const resumed = await train(regime, data, { ...common, resumeFrom: path });
    expect(resumed.steps).toBe(9);
    expect(resumed.params).toEqual(full.params);
    expect(resumed.finalLoss).toBe(full.finalLoss);
  });

  it('rejects X beside rows and a source of another size, naming the field', async () => {
    const o = {
      createTrainer: (c: TrainerConfig) => createOnnxResNetTrainer(env.engine, c),
      stationarity: false,
    };
    await expect(train(regime, { X, Y, n, rows: gatherSource() }, o)).rejects.toThrow(
      /train: data.X must be empty \(a Float32Array of length 0\) when data.rows gives the input rows, got 768 entries/,
    );
    await expect(
      train(
        regime,
        { X: EMPTY, Y, n, rows: gatherSource() },
        {
          ...o,
          evaluation: { test: { X: EMPTY, Y: Y.slice(0, 3 * k), n: 3, rows: gatherSource() } },
        },
      ),
    ).rejects.toThrow(/train: evaluation.test.rows.n must equal data.n = 3, got 12/);
  });
});
