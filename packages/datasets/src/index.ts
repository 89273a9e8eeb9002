/**
 * @narrownet/datasets (under construction).
 * @packageDocumentation
 */
export const PACKAGE_NAME = "@narrownet/datasets";
