/**
 * @narrownet/regime (under construction).
 * @packageDocumentation
 */
export const PACKAGE_NAME = "@narrownet/regime";
