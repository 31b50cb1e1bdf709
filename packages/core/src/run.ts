import type { Diagnostic } from './diagnostics/diagnostic.js';
import { closest } from './diagnostics/suggest.js';
import { csvColumnOf, FieldAccounting, type AccountingContext } from './mapping/field-accounting.js';
import type { Mapping } from './mapping/load.js';
import { readPathsOf, type ReadPath } from './mapping/read-paths.js';
import { bounded } from './diagnostics/text.js';
import { openSource, type OpenedSource } from './sources/index.js';
import type { InputFile } from './sources/types.js';
import { transformRecord, type MapResult, type TransformOptions } from './transform/engine.js';

/** A started mapping run: setup diagnostics, then results as an async iterable in input order. */
export interface MappingRun {
  /** Problems found before the first record: inputs that match no table, missing columns, unreadable files. */
  readonly diagnostics: readonly Diagnostic[];
  /** Which input feeds which table (CSV headers when known). */
  readonly files: OpenedSource['files'];
  /** One result per source record (and per piece of input that could not become a record). */
  results(): AsyncIterable<MapResult>;
  /**
   * Field accounting of the records read so far (call it once `results()` is exhausted): MAP_FIELD_NEVER_PRESENT
   * for every path the mapping reads that no record had, at the YAML position of each expression reading it.
   */
  fieldAccounting(): Diagnostic[];
}

export type RunOptions = TransformOptions;

/**
 * Opens the inputs of a mapping and maps them record by record in bounded memory.
 * Fatal setup problems (e.g. no input for a table) are in `diagnostics`; `results()` then yields nothing.
 */
export async function runMapping(mapping: Mapping, inputs: readonly InputFile[], options: RunOptions = {}): Promise<MappingRun> {
  const opened = await openSource(mapping.source, inputs);
  const diagnostics = [...opened.diagnostics, ...checkColumns(mapping, opened.files)];
  const fatal = diagnostics.some((d) => d.severity === 'fatal' || (d.severity === 'error' && d.code === 'MAP_UNKNOWN_COLUMN'));
  const accounting = new FieldAccounting(mapping, accountingContext(mapping, opened.files));
  return {
    diagnostics,
    files: opened.files,
    results: () =>
      fatal
        ? noResults()
        : opened.records((record) => {
            accounting.observe(record.data);
            return withBoundedMessages(transformRecord(mapping, record, options));
          }),
    fieldAccounting: () => accounting.diagnostics(),
  };
}

/**
 * Field accounting without mapping: reads every record of the inputs and reports, as a run would at its end,
 * each path the mapping reads that no record had (what `cadmap lint <mapping> <inputs…>` shows), after the
 * problems found opening the inputs.
 */
export async function accountFields(mapping: Mapping, inputs: readonly InputFile[]): Promise<{ readonly diagnostics: readonly Diagnostic[]; readonly records: number }> {
  const opened = await openSource(mapping.source, inputs);
  const diagnostics = [...opened.diagnostics, ...checkColumns(mapping, opened.files)];
  if (diagnostics.some((d) => d.severity === 'fatal' || (d.severity === 'error' && d.code === 'MAP_UNKNOWN_COLUMN'))) {
    return { diagnostics, records: 0 };
  }
  const accounting = new FieldAccounting(mapping, accountingContext(mapping, opened.files));
  for await (const record of opened.records()) {
    accounting.observe(record.data);
  }
  return { diagnostics: [...diagnostics, ...accounting.diagnostics()], records: accounting.records };
}

async function* noResults(): AsyncGenerator<MapResult> {}

/** The result with every message that quotes a runaway value cut short (see `bounded`). */
function withBoundedMessages(result: MapResult): MapResult {
  const diagnostics = result.diagnostics;
  for (let i = 0; i < diagnostics.length; i++) {
    if (bounded(diagnostics[i]!) !== diagnostics[i]) {
      return { ...result, diagnostics: diagnostics.map(bounded) };
    }
  }
  return result;
}

/** Maps a whole input set into memory. For tests and small inputs; use runMapping for exports. */
export async function mapAll(
  mapping: Mapping,
  inputs: readonly InputFile[],
  options: RunOptions = {},
): Promise<{ diagnostics: readonly Diagnostic[]; results: MapResult[]; fieldAccounting: readonly Diagnostic[] }> {
  const run = await runMapping(mapping, inputs, options);
  const results: MapResult[] = [];
  for await (const result of run.results()) {
    results.push(result);
  }
  return { diagnostics: run.diagnostics, results, fieldAccounting: run.fieldAccounting() };
}

/** CSV: the columns of each table's files, which declare its fields; paths already reported as unknown columns. */
function accountingContext(mapping: Mapping, files: OpenedSource['files']): AccountingContext {
  if (mapping.source.format !== 'csv') {
    return {};
  }
  const headers = tableHeaders(files);
  return { headers, skip: (read) => unknownColumn(mapping, headers, read) !== undefined };
}

function tableHeaders(files: OpenedSource['files']): Map<string, { file: string; columns: Set<string> }> {
  const headers = new Map<string, { file: string; columns: Set<string> }>();
  for (const file of files) {
    if (file.headers) {
      const entry = headers.get(file.table) ?? { file: file.file, columns: new Set<string>() };
      file.headers.forEach((h) => entry.columns.add(h));
      headers.set(file.table, entry);
    }
  }
  return headers;
}

/** The table and column of a CSV path whose table's files have no such column (undefined when it has, or no file was read). */
function unknownColumn(mapping: Mapping, headers: ReadonlyMap<string, { readonly columns: ReadonlySet<string> }>, read: ReadPath): { table: string; column: string } | undefined {
  const column = csvColumnOf(mapping.source, read.segments);
  if (column === undefined) {
    return undefined;
  }
  const columns = headers.get(column.table)?.columns;
  return columns === undefined || columns.has(column.column) ? undefined : column;
}

/**
 * CSV only: every column an expression reads must be in the header of the table it belongs to. The table of a
 * path is found from the record's root through child tables, so columns read through `forEach`, `$forEach`,
 * `let`, `as` variables, `%record`, `where`, `iif` and `$this` are all checked.
 */
export function checkColumns(mapping: Mapping, files: OpenedSource['files']): Diagnostic[] {
  if (mapping.source.format !== 'csv') {
    return [];
  }
  const headers = tableHeaders(files);
  const tables = mapping.source.tables;
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  for (const read of readPathsOf(mapping)) {
    const unknown = unknownColumn(mapping, headers, read);
    const id = unknown === undefined ? '' : `${read.expression.span.file}:${read.expression.span.line}:${read.expression.span.column}\u0000${unknown.table}\u0000${unknown.column}`;
    if (unknown === undefined || reported.has(id)) {
      continue;
    }
    reported.add(id);
    const { table, column } = unknown;
    const known = [...headers.get(table)!.columns, ...tables.filter((t) => t.parent === table).map((t) => t.name)];
    const suggestion = closest(column, known);
    const file = files.find((f) => f.table === table)?.file ?? table;
    diagnostics.push({
      code: 'MAP_UNKNOWN_COLUMN',
      severity: 'error',
      message: `'=${read.expression.text}' reads '${column}', but table '${table}' (${file}) has no such column.`,
      hint: suggestion ? `Did you mean '${suggestion}'? Columns: ${known.join(', ')}.` : `Columns: ${known.join(', ')}.`,
      rule: read.expression.span,
      input: { file, line: 1, table },
    });
  }
  return diagnostics;
}


