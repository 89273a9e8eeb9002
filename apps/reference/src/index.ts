/**
 * narrownet — the reference app. Programmatic entry points of the CLI.
 * @packageDocumentation
 */
export { main } from './main.js';
