import { describe, expect, it } from 'vitest';
import { createHostOptimizer, projectOnto } from '../src/index.js';

describe('smoke', () => {
  it('steps sgd with a ball', () => {
    const params = { W: { shape: [2], data: new Float32Array([1, 2]) } };
    const opt = createHostOptimizer(
      {
        groups: [
          { params: ['W'], lr: 1, update: { kind: 'sgd' }, projection: { kind: 'frobeniusBall', radius: 1 } },
        ],
      },
      params,
    );
    opt.step(params, { W: { shape: [2], data: new Float32Array([3, 4]) } });
    expect(Array.from(params.W.data)).toEqual([1 - 0.6, 2 - 0.8].map(Math.fround));
    const v = new Float64Array([0.5, 2, 3]);
    projectOnto({ kind: 'zetaKappa', zeta: 0.1, kappa: 1, method: 'exact' }, [v]);
    expect(Array.from(v)).toEqual([11 / 6, 11 / 6, 11 / 6]);
  });
});
