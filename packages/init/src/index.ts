/**
 * @narrownet/init (under construction).
 * @packageDocumentation
 */
export const PACKAGE_NAME = "@narrownet/init";
