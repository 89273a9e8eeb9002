import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../src/runs.js';

/** Streams for `main(argv, io)` that capture what the CLI writes. */
export function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/** The records of a run directory's `runs.jsonl` ([] when there is none); `R`: the experiment's record type. */
export function records<R = RunRecord>(dir: string): R[] {
  const p = join(dir, 'runs.jsonl');
  return existsSync(p)
    ? readFileSync(p, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as R)
    : [];
}
