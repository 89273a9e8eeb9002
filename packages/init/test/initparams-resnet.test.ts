import { createRng, resnet18 } from '@narrownet/models';
import { describe, expect, it } from 'vitest';
import { initParams, initResNet } from '../src/index.js';

const net = { ...resnet18({ classes: 3, widths: [4, 4, 4, 8], input: [1, 8, 8] }), head: 'paired' as const };

describe('initParams on a ResNet spec', () => {
  it('lecun and mirroredLecun are initResNet with the same stream', () => {
    const a = initParams(net, { kind: 'lecun' }, createRng(5));
    expect(a).toEqual(initResNet(net, {}, createRng(5)).params);
    const b = initParams(net, { kind: 'mirroredLecun', absOuter: true }, createRng(5));
    expect(b).toEqual(initResNet(net, { mirrorFinalStage: true, absOuter: true }, createRng(5)).params);
    // mirrored: the final stage's conv rows c + m/2 equal rows c (not so under plain LeCun)
    const w = b['layer4.0.conv1.weight']!;
    const half = w.data.length / 2;
    expect(Array.from(w.data.subarray(half))).toEqual(Array.from(w.data.subarray(0, half)));
    expect(b['linear.weight']!.data.every((x) => x >= 0)).toBe(true);
  });

  it('rejects init kinds that are not defined for a conv net, naming init.kind', () => {
    expect(() => initParams(net, { kind: 'song', ratio: 1 }, createRng(0))).toThrow(
      /init.kind "song" is not defined for a ResNet/,
    );
  });
});
