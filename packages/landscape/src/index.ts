/**
 * @narrownet/landscape (under construction).
 * @packageDocumentation
 */
export const PACKAGE_NAME = "@narrownet/landscape";
