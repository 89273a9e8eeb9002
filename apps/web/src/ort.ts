// onnxruntime-web's WASM build, with its .wasm/.mjs files served from the page's own ort/ folder
// (copied there by vite.config.ts; no CDN), started through @narrownet/engine.
import { type OnnxEngine, type OrtModule, startOnnx } from '@narrownet/engine';
import * as ort from 'onnxruntime-web/wasm';

/** Starts onnxruntime-web on WASM with `threads` threads (0: its default; > 1 needs cross-origin isolation). */
export function startPageEngine(threads: number): Promise<OnnxEngine> {
  ort.env.wasm.wasmPaths = new URL('./ort/', document.baseURI).href;
  return startOnnx({ ort: ort as unknown as OrtModule, device: 'wasm', threads });
}
