/**
 * Thrown when an engine, backend or device that was asked for is missing or cannot start.
 * The message is one paragraph: what was asked, why it failed, and how to install or fix it.
 */
export class EngineUnavailableError extends Error {
  /** What was asked for, e.g. `tfjs backend "tensorflow-gpu"`. */
  readonly what: string;
  /** Why it could not start (the underlying error's message, shortened). */
  readonly why: string;
  /** How to make it available. */
  readonly howToFix: string;

  constructor(what: string, why: string, howToFix: string, options?: { cause?: unknown }) {
    super(`${what} is not available: ${why}. ${howToFix}`, options);
    this.name = 'EngineUnavailableError';
    this.what = what;
    this.why = why;
    this.howToFix = howToFix;
  }
}

/** First line of an error's message, at most 300 characters. */
export function shortReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n').find((l) => l.trim().length > 0) ?? text;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line.trim();
}
