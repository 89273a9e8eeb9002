/** The fenced ```ts blocks of a markdown text (`run: false` for ```ts no-run). */
export function tsBlocks(text: string): { code: string; line: number; run: boolean }[];
/** Relative link targets of a markdown text. */
export function relativeLinks(text: string): string[];
/** Paths that `npm pack --dry-run` puts into the tarball of the package in `pkgDir`. */
export function packedFiles(pkgDir: string): string[];
/** Registers the README tests (snippets run, packed files) of the calling package. */
export function readmeTests(testFileUrl: string, options?: { timeout?: number }): void;
