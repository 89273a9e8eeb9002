// The browser build of the engine, exercised in Node where it can be: its refusals and its
// device reporting. Running onnxruntime-web for real is apps/web's headless-chromium test.
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { EngineUnavailableError, type OrtModule, engineInfo, isGpuDevice } from '../src/browser.js';
import { startOnnx as startOnnxBrowser } from '../src/onnx-browser.js';
import { startOnnx } from '../src/index.js';

const ort = ((ortNode as { default?: OrtModule }).default ?? ortNode) as OrtModule;

describe('startOnnx, browser build', () => {
  it('requires the onnxruntime-web module as options.ort', async () => {
    await expect(startOnnxBrowser()).rejects.toThrow(/options\.ort must be the onnxruntime-web module/);
  });

  it('refuses devices of the Node build', async () => {
    await expect(startOnnxBrowser({ ort, device: 'cpu' })).rejects.toThrow(
      /device must be one of wasm, webgpu, auto/,
    );
  });

  it('refuses more than one thread on a page that is not cross-origin isolated', async () => {
    const err = await startOnnxBrowser({ ort, threads: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as Error).message).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
  });

  it('refuses webgpu where navigator.gpu gives no adapter', async () => {
    const err = await startOnnxBrowser({ ort, device: 'webgpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as Error).message).toMatch(/navigator\.gpu gave no adapter/);
  });
});

describe('device reporting', () => {
  it('counts wasm and cpu as CPU devices, webgpu and cuda as GPUs', () => {
    expect(['cpu', 'wasm', 'webgpu', 'cuda'].map(isGpuDevice)).toEqual([false, false, true, true]);
  });

  it('engineInfo reports an onnxruntime-web wasm engine on device cpu', async () => {
    const e = await startOnnx({ device: 'cpu', threads: 1, ort });
    expect(engineInfo(e)).toMatchObject({ engine: 'onnx', backend: 'cpu', device: 'cpu' });
    expect(engineInfo({ ...e, device: 'wasm' })).toMatchObject({ backend: 'wasm', device: 'cpu' });
    expect(engineInfo({ ...e, device: 'webgpu' }).device).toBe('gpu');
  });
});
