/**
 * narrownet — the reference app. Programmatic entry points of the CLI.
 * @packageDocumentation
 */
export { type MainIo, VERSION, main } from './main.js';
