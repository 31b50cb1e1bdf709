import { existsSync, statSync, readdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { loadMapping, renderDiagnostics, type Diagnostic, type InputFile, type Mapping } from '@cadmap/core';
import { displayPathFrom, LineSource, UsageError, type CliIo } from './io.js';

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

export interface Renderer {
  readonly lines: LineSource;
  render(diagnostics: readonly Diagnostic<string>[]): string;
}

export function makeRenderer(io: CliIo, mapping: Mapping | undefined, color: boolean): Renderer {
  const inputEncoding = mapping?.source.encoding ?? 'utf-8';
  const mappingFiles = new Set(mapping?.files ?? []);
  const lines = new LineSource((file) => (mappingFiles.has(file) || file.endsWith('.yaml') || file.endsWith('.yml') ? 'utf-8' : inputEncoding));
  const displayPath = displayPathFrom(io.cwd);
  return {
    lines,
    render: (diagnostics) => renderDiagnostics(diagnostics, { lineOf: lines.lineOf, displayPath, color }),
  };
}

export async function loadMappingOrReport(io: CliIo, path: string | undefined, color: boolean): Promise<Mapping> {
  if (path === undefined) {
    throw new UsageError('Missing --mapping <file.yaml>.');
  }
  const file = resolve(io.cwd, path);
  const { mapping, diagnostics } = await loadMapping(file);
  if (diagnostics.length > 0) {
    io.stderr.write(`${makeRenderer(io, mapping, color).render(diagnostics)}\n`);
  }
  if (!mapping) {
    throw new MappingInvalid(diagnostics.length);
  }
  return mapping;
}

export class MappingInvalid extends Error {
  constructor(readonly count: number) {
    super(`The mapping has ${count} problem${count === 1 ? '' : 's'}.`);
  }
}

export function useColor(io: CliIo, flag: boolean | undefined): boolean {
  if (flag !== undefined) {
    return flag;
  }
  return io.stderr.isTTY === true && io.env.NO_COLOR === undefined;
}
