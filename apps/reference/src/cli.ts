#!/usr/bin/env node
import { main } from './main.js';

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? `narrownet: ${err.message}` : err);
    process.exitCode = 1;
  },
);
