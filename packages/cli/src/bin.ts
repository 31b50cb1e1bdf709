#!/usr/bin/env node
import { main } from './main.js';

const io = { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr };
main(io, process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`cadmap: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\nPlease report this with the command you ran.\n`);
    process.exitCode = 70;
  },
);
