/**
 * @narrownet/optim (under construction).
 * @packageDocumentation
 */
export const PACKAGE_NAME = "@narrownet/optim";
