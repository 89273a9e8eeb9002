#!/usr/bin/env node
import { main } from './main.js';

// Ctrl-C / SIGTERM: stop the sweep at once (the interrupted run is not recorded; --resume redoes
// it), write the report of what finished, exit 130. A second signal exits immediately.
const controller = new AbortController();
let signals = 0;
const stop = () => {
  signals++;
  if (signals > 1) process.exit(130);
  process.stderr.write('\nnarrownet: interrupted; finishing the report (press Ctrl-C again to quit now)\n');
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main(process.argv.slice(2), { signal: controller.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? `narrownet: ${err.message}` : err);
    process.exitCode = 1;
  },
);
