import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Plugin, createLogger, defaultClientConditions, defineConfig } from 'vite';

const require = createRequire(import.meta.url);

/**
 * Serves onnxruntime-web's WASM runtime from the built page itself (ort/…): no CDN. The
 * `onnxruntime-web-use-extern-wasm` condition picks the ort build that loads these files from
 * `env.wasm.wasmPaths` (and starts its worker threads from them) instead of inlining them.
 */
function ortWasmFiles(): Plugin {
  const files = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];
  return {
    name: 'narrownet-ort-wasm-files',
    generateBundle() {
      for (const f of files)
        this.emitFile({
          type: 'asset',
          fileName: `ort/${f}`,
          source: readFileSync(require.resolve(`onnxruntime-web/${f}`)),
        });
    },
  };
}

// The engine's browser entry imports tfjs's backends lazily while other modules import tfjs-core
// statically; vite then prints a screenful naming every tfjs kernel file. That note is dropped.
const logger = createLogger();
const warn = logger.warn.bind(logger);
logger.warn = (msg, options) => {
  if (!msg.includes('dynamic import will not move module into another chunk')) warn(msg, options);
};

export default defineConfig({
  customLogger: logger,
  root: 'src',
  base: './',
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  build: { outDir: '../dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  plugins: [ortWasmFiles()],
});
