export { main, usage } from './main.js';
export type { CliIo } from './io.js';
export { exitCodes } from './io.js';
