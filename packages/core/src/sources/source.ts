import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { SourceRecord } from './types.js';

/** Which input feeds which table (CSV headers once read). For XML, JSON and NDJSON `table` is ''. */
export interface SourceFileInfo {
  readonly table: string;
  readonly file: string;
  readonly headers?: readonly string[];
}

/** An opened export: its files, the problems found before the first record, and the records themselves. */
export interface OpenedSource {
  /** Which input feeds which table; CSV headers once read. */
  readonly files: readonly SourceFileInfo[];
  /**
   * Problems found before the first record: unmatched inputs, tables without input, inputs matching several
   * tables, unreadable files, bad headers, missing columns. When one is fatal, records() yields nothing.
   */
  readonly diagnostics: readonly Diagnostic[];
  /**
   * The records in input order, rejected input included (with `data` undefined). Iterate once. With `each`,
   * its result for every record instead, computed as the record is yielded (no second async layer per record).
   */
  records(): AsyncIterable<SourceRecord>;
  records<T>(each: (record: SourceRecord) => T): AsyncIterable<T>;
}

export interface OpenSourceOptions {
  /** Table → columns the mapping reads; a CSV file without one of them gets SRC_CSV_MISSING_COLUMN. */
  readonly requiredColumns?: Readonly<Record<string, readonly string[]>>;
}

/** `records` of a source whose reader yields source records: with `each`, maps every record as it is yielded. */
export function eachRecord(read: () => AsyncIterable<SourceRecord>): OpenedSource['records'] {
  return (<T>(each?: (record: SourceRecord) => T) => (each === undefined ? read() : mapRecords(read(), each))) as OpenedSource['records'];
}

async function* mapRecords<T>(records: AsyncIterable<SourceRecord>, each: (record: SourceRecord) => T): AsyncGenerator<T> {
  for await (const record of records) {
    yield each(record);
  }
}
