import type { SourceSpec } from '../mapping/model.js';
import { openCsvSource } from './csv-source.js';
import { openJsonSource } from './json-source.js';
import { checkRecordLimits, csvRecordDepth, limitsOf } from './limits.js';
import type { OpenedSource, OpenSourceOptions } from './source.js';
import type { InputFile, SourceRecord } from './types.js';
import { openXmlSource } from './xml-source.js';

export type { OpenedSource, OpenSourceOptions, SourceFileInfo } from './source.js';
export { ORIGIN, originOf, setOrigin, inputName } from './types.js';
export type { InputFile, NodeOrigin, RawContent, SourceNode, SourceRecord, SourceValue } from './types.js';

/**
 * Opens a CAD export for reading: matches the inputs to the declared tables, reads CSV headers and checks the
 * columns, and returns the problems found so far with a lazy, streaming record iterator. Never throws on bad
 * input: every problem is a diagnostic, every unreadable piece of input a rejected record.
 */
export async function openSource(
  spec: SourceSpec,
  inputs: readonly InputFile[],
  options: OpenSourceOptions = {},
): Promise<OpenedSource> {
  const opened = await openByFormat(spec, inputs, options);
  const limits = limitsOf(spec);
  const knownDepth = spec.format === 'csv' ? csvRecordDepth(spec.tables) : undefined;
  return {
    files: opened.files,
    diagnostics: opened.diagnostics,
    records: (<T>(each?: (record: SourceRecord) => T) =>
      each === undefined
        ? opened.records((record) => checkRecordLimits(record, limits, knownDepth))
        : opened.records((record) => each(checkRecordLimits(record, limits, knownDepth)))) as OpenedSource['records'],
  };
}

function openByFormat(spec: SourceSpec, inputs: readonly InputFile[], options: OpenSourceOptions): Promise<OpenedSource> {
  switch (spec.format) {
    case 'csv':
      return openCsvSource(spec, inputs, options);
    case 'json':
    case 'ndjson':
      return openJsonSource(spec, inputs);
    case 'xml':
      return openXmlSource(spec, inputs);
  }
}
