import { describe, expect, it } from 'vitest';
import { EngineUnavailableError, engineInfo, startEngine, startOnnx, startTfjs } from '../src/index.js';

describe('onnx engine', () => {
  it('starts on cpu and runs a session', async () => {
    const e = await startOnnx({ device: 'cpu', threads: 1 });
    expect(e.device).toBe('cpu');
    expect(e.describe()).toMatch(/onnxruntime .*cpu/);
  });
  it('auto picks something that starts and reports it', async () => {
    const e = await startEngine({ engine: 'onnx', device: 'auto' });
    const info = engineInfo(e);
    expect(info.engine).toBe('onnx');
    expect(['cpu', 'webgpu', 'cuda']).toContain(info.backend);
  });
  it('cuda without a GPU is a clear one-paragraph error', async () => {
    const hasCuda = await startOnnx({ device: 'cuda' }).then(
      () => true,
      () => false,
    );
    if (hasCuda) return; // a machine with CUDA: nothing to check here
    const err = await startOnnx({ device: 'cuda' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as Error).message).toMatch(
      /execution provider "cuda" is not available: .*(NVIDIA GPU|libonnxruntime_providers_cuda|CUDA)/,
    );
    expect((err as Error).message).not.toContain('\n');
  });
  it('startEngine rejects bad options naming the option', async () => {
    await expect(startEngine({ engine: 'jax' as never })).rejects.toThrow(
      /engine must be onnx, tfjs or auto/,
    );
    await expect(startEngine({ device: 'tpu' as never })).rejects.toThrow(/device must be cpu, gpu or auto/);
    await expect(startTfjs({ backend: 'webgl' as never })).rejects.toThrow(/backend must be one of auto/);
  });
  it('startEngine with device cpu and engine tfjs starts a CPU tfjs backend', async () => {
    const info = engineInfo(await startEngine({ engine: 'tfjs', device: 'cpu' }));
    expect(info).toMatchObject({ engine: 'tfjs', device: 'cpu' });
    expect(['wasm', 'cpu']).toContain(info.backend);
  });
  it('rejects bad options naming the parameter', async () => {
    await expect(startOnnx({ threads: -1 })).rejects.toThrow(/threads/);
    await expect(startOnnx({ device: 'tpu' as never })).rejects.toThrow(/device/);
  });
});

describe('tfjs engine', () => {
  it('starts the cpu backend and computes', async () => {
    const e = await startTfjs({ backend: 'cpu' });
    expect(e.backend).toBe('cpu');
    const s = e.tf.sum(e.tf.tensor1d([1, 2, 3])).dataSync()[0];
    expect(s).toBe(6);
  });
  it('registers tfjs-core gradients, so tf.grad works on the started backend', async () => {
    const { tf } = await startTfjs({ backend: 'cpu' });
    // d/dx Σ x·tanh(x) = tanh(x) + x·(1 − tanh²(x)), computed here in float64.
    const xs = [-1.5, 0.5, 2];
    const g = tf
      .grad((x) => tf.sum(tf.mul(x, tf.tanh(x))))(tf.tensor1d(xs))
      .dataSync();
    xs.forEach((x, i) => {
      const t = Math.tanh(x);
      expect(g[i]).toBeCloseTo(t + x * (1 - t * t), 5);
    });
  });
  it('starts the wasm backend', async () => {
    const e = await startTfjs({ backend: 'wasm' });
    expect(e.tf.getBackend()).toBe('wasm');
    expect(e.tf.matMul(e.tf.tensor2d([[1, 2]]), e.tf.tensor2d([[3], [4]])).dataSync()[0]).toBe(11);
  });
  it('a missing GPU backend says what, why and how to install', async () => {
    const err = await startTfjs({ backend: 'tensorflow-gpu' }).catch((e: unknown) => e);
    if (!(err instanceof Error)) return; // tfjs-node-gpu is installed and works here
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect(err.message).toMatch(
      /tfjs backend "tensorflow-gpu" is not available: .*Install `@tensorflow\/tfjs-node-gpu`/,
    );
  });
  it('auto falls back to a backend that starts', async () => {
    const e = await startTfjs({ backend: 'auto' });
    expect(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']).toContain(e.backend);
  });
});
