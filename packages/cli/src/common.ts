import { resolve } from 'node:path';
import { loadMapping, renderDiagnostics, type Diagnostic, type LoadMappingOptions, type Mapping } from '@cadmap/core';
import { displayPathFrom, LineSource, MappingInvalid, UsageError, type CliIo } from './io.js';

export { MappingInvalid };

export interface Renderer {
  readonly lines: LineSource;
  render(diagnostics: readonly Diagnostic<string>[]): string;
}

export function makeRenderer(io: CliIo, mapping: Mapping | undefined, color: boolean): Renderer {
  const inputEncoding = mapping?.source.encoding ?? 'utf-8';
  const mappingFiles = new Set(mapping?.files ?? []);
  const isMappingFile = (file: string): boolean => mappingFiles.has(file) || file.endsWith('.yaml') || file.endsWith('.yml');
  const lines = new LineSource(
    (file) => (isMappingFile(file) ? 'utf-8' : inputEncoding),
    (file) => !isMappingFile(file) && mapping?.source.format === 'csv',
  );
  const displayPath = displayPathFrom(io.cwd);
  return {
    lines,
    render: (diagnostics) => renderDiagnostics(diagnostics, { lineOf: lines.lineOf, displayPath, color }),
  };
}

/** The mapping root from `--mapping-root` or CADMAP_MAPPING_ROOT, relative to the working directory. */
export function mappingLoadOptions(io: CliIo): LoadMappingOptions {
  const root = io.mappingRoot ?? io.env.CADMAP_MAPPING_ROOT;
  return root === undefined || root === '' ? {} : { root: resolve(io.cwd, root) };
}

export async function loadMappingOrReport(io: CliIo, path: string | undefined, color: boolean): Promise<Mapping> {
  if (path === undefined) {
    throw new UsageError('Missing --mapping <file.yaml>.');
  }
  const file = resolve(io.cwd, path);
  const { mapping, diagnostics } = await loadMapping(file, mappingLoadOptions(io));
  if (diagnostics.length > 0) {
    io.stderr.write(`${makeRenderer(io, mapping, color).render(diagnostics)}\n`);
  }
  if (!mapping) {
    throw new MappingInvalid(diagnostics.length);
  }
  return mapping;
}


export { parseInputs, parseSettingsText, reportingOptions, reportingSettings, useColor } from './args.js';
