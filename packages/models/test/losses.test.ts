import { describe, expect, it } from 'vitest';
import { LOSS_NAMES, type LossName, loss64 } from '../src/index.js';

describe('loss64 on hand-computed cases', () => {
  const pred = [1, 2, 3];
  const target = [0, 4, 3]; // residuals P − Y = [1, −2, 0], Σr² = 5
  it("halfSse = ½ Σ r² (the papers' ℓ), gradient r", () => {
    const { value, grad } = loss64('halfSse', pred, target, 1);
    expect(value).toBe(2.5);
    expect(Array.from(grad)).toEqual([1, -2, 0]);
  });
  it('mse = Σ r² / (n·k) (PyTorch MSELoss), gradient 2r/(n·k)', () => {
    const { value, grad } = loss64('mse', pred, target, 1);
    expect(value).toBeCloseTo(5 / 3, 15);
    expect(Array.from(grad)).toEqual([2 / 3, -4 / 3, 0]);
    // The mean runs over all n·k entries, not only over the n rows.
    expect(loss64('mse', [1, 2, 3, 4], [0, 0, 0, 0], 2).value).toBe(30 / 4);
  });
  it('softmaxCrossEntropy = mean of −Σ y log softmax, gradient (softmax − y)/n', () => {
    // Row 1: logits [0, ln 3] → softmax [1/4, 3/4], target class 1 → −ln(3/4).
    // Row 2: logits [1, 1] → [1/2, 1/2], target class 0 → ln 2.
    const { value, grad } = loss64('softmaxCrossEntropy', [0, Math.log(3), 1, 1], [0, 1, 1, 0], 2);
    expect(value).toBeCloseTo((Math.log(4 / 3) + Math.LN2) / 2, 15);
    const want = [0.25 / 2, -0.25 / 2, -0.5 / 2, 0.5 / 2];
    for (const [i, g] of grad.entries()) expect(g).toBeCloseTo(want[i]!, 15);
  });
  it('softmaxCrossEntropy is stable for huge logits', () => {
    const { value, grad } = loss64('softmaxCrossEntropy', [1000, 0], [0, 1], 2);
    expect(value).toBeCloseTo(1000, 10);
    expect(Array.from(grad)).toEqual([1, -1]);
  });
  it('rejects mismatched sizes and unknown names', () => {
    expect(() => loss64('mse', [1, 2], [1], 1)).toThrow(/predictions have 2 entries but targets have 1/);
    expect(() => loss64('mse', [1, 2, 3], [1, 2, 3], 2)).toThrow(/k = 2 does not divide/);
    expect(() => loss64('l1' as LossName, [1], [1], 1)).toThrow(/unknown loss "l1"/);
    expect(LOSS_NAMES).toEqual(['halfSse', 'mse', 'softmaxCrossEntropy']);
  });
});
