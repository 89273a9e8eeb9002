/** Where Debian's chromium package puts the browser (NARROWNET_CHROMIUM overrides). */
export const CHROMIUM: string;
/** Whether the browser is installed. */
export function hasChromium(): boolean;
/** Flags of a headless start on a machine without network. */
export const CHROMIUM_ARGS: string[];
