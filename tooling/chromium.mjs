// Debian's headless chromium for the workspace's browser tests (driven by playwright-core; a
// downloaded browser is never used). One place for where it is and how it is started.
import { existsSync } from 'node:fs';

/** Where Debian's chromium package puts the browser (NARROWNET_CHROMIUM overrides). */
export const CHROMIUM = process.env.NARROWNET_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the browser is installed. */
export const hasChromium = () => existsSync(CHROMIUM);

/**
 * Flags of a headless start on a machine without network: without the background-networking
 * ones chromium keeps trying (and failing) to reach Google's hosts.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
