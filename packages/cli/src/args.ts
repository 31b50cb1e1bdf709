import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { InputFile } from '@cadmap/core';
import { parse as parseYaml } from 'yaml';
import { UsageError, type CliIo } from './io.js';

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

/** Options of the commands that report diagnostics as records go by (`map`, `submit`). */
export const reportingOptions = {
  json: { type: 'boolean' },
  'max-diagnostics': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const;

/** Colour and how many diagnostics to print (default 20) from the reporting options. */
export function reportingSettings(
  io: CliIo,
  values: { readonly color?: boolean | undefined; readonly 'no-color'?: boolean | undefined; readonly 'max-diagnostics'?: string | undefined },
): { readonly color: boolean; readonly maxDiagnostics: number } {
  const color = useColor(io, values['no-color'] === true ? false : values.color);
  const maxDiagnostics = values['max-diagnostics'] === undefined ? 20 : Number(values['max-diagnostics']);
  if (!Number.isInteger(maxDiagnostics) || maxDiagnostics < 0) {
    throw new UsageError('--max-diagnostics takes a whole number.');
  }
  return { color, maxDiagnostics };
}

/**
 * A YAML settings file's text as plain data. YAML 1.1 tags stay the text written, and the yaml library prints
 * nothing (a list or map used as a key becomes text, which the caller then reports as an unknown setting).
 */
export const parseSettingsText = (text: string): unknown => parseYaml(text, { logLevel: 'error', resolveKnownTags: false });
