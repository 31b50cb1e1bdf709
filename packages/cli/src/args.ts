import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { InputFile } from '@cadmap/core';
import type { CliIo } from './io.js';

/** `table=path` assigns an input to a table explicitly; a directory stands for the files in it. */
export function parseInputs(args: readonly string[], cwd: string): InputFile[] {
  const inputs: InputFile[] = [];
  for (const arg of args) {
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(arg);
    const path = resolve(cwd, assignment && !existsSync(resolve(cwd, arg)) ? assignment[2]! : arg);
    const table = assignment && !existsSync(resolve(cwd, arg)) ? assignment[1] : undefined;
    if (existsSync(path) && statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        const child = join(path, name);
        if (statSync(child).isFile() && !name.startsWith('.')) {
          inputs.push(table !== undefined ? { path: child, table } : { path: child });
        }
      }
      continue;
    }
    inputs.push(table !== undefined ? { path, table } : { path });
  }
  return inputs;
}

export function useColor(io: CliIo, flag: boolean | undefined): boolean {
  if (flag !== undefined) {
    return flag;
  }
  return io.stderr.isTTY === true && io.env.NO_COLOR === undefined;
}
