/** Where progress goes: a writable with an optional TTY flag (process.stderr fits). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** `83` → `1m23s`, `3725` → `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A progress bar with ETA over units of work with known cost (e.g. optimizer steps): on a TTY a
 * single line redrawn in place; otherwise plain lines, at most one per `lineEverySec` seconds
 * (plus the last). The ETA extrapolates the rate of this session (work done before a resume is
 * counted as done but not used for the rate).
 */
export class ProgressBar {
  private done: number;
  private readonly startDone: number;
  private readonly t0 = performance.now();
  private lastLine = -Infinity;
  private lastDraw = -Infinity;

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    initialDone = 0,
    private readonly label = 'progress',
    private readonly lineEverySec = 10,
  ) {
    this.done = initialDone;
    this.startDone = initialDone;
  }

  /** Text of the bar for the current state (without ANSI codes). */
  render(note = ''): string {
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const elapsed = (performance.now() - this.t0) / 1000;
    const rate = (this.done - this.startDone) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - this.done) / rate : Number.NaN;
    const width = 24;
    const fill = Math.round(frac * width);
    const bar = `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}]`;
    return `${this.label} ${bar} ${(frac * 100).toFixed(1).padStart(5)}%  elapsed ${formatDuration(elapsed)}  ETA ${formatDuration(eta)}${note ? `  ${note}` : ''}`;
  }

  /** Adds `units` of finished work and redraws (TTY) or prints a line when due. */
  tick(units: number, note = ''): void {
    this.done += units;
    const now = performance.now();
    if (this.stream.isTTY) {
      if (now - this.lastDraw < 100 && this.done < this.total) return;
      this.lastDraw = now;
      let line = this.render(note);
      const cols = this.stream.columns ?? 120;
      if (line.length > cols - 1) line = line.slice(0, cols - 1);
      this.stream.write(`\r\x1b[2K${line}`);
    } else if (now - this.lastLine >= this.lineEverySec * 1000 || this.done >= this.total) {
      this.lastLine = now;
      this.stream.write(`${this.render(note)}\n`);
    }
  }

  /** Ends the bar (newline on a TTY). */
  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
