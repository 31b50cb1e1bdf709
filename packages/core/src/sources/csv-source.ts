import type { Diagnostic, DiagnosticCode, InputSpan } from '../diagnostics/diagnostic.js';
import type { CsvDialect, CsvTable, SourceSpec } from '../mapping/model.js';
import { CsvFileReader, NEED_MORE, type CsvRow } from './csv-reader.js';
import { changedByWindows1252, TextChunks } from './decode.js';
import { inputBytes, matchInputs, unreadable } from './inputs.js';
import { limitsOf } from './limits.js';
import { compareKey } from './keys.js';
import { rowNodeFactory, type RowNodeFactory } from './row-class.js';
import type { InputFile, NodeOrigin, RawContent, SourceNode, SourceRecord } from './types.js';
import type { OpenedSource, OpenSourceOptions, SourceFileInfo } from './source.js';

/** One input file of a table, with its header and the column positions the join needs. */
interface TableFile {
  readonly plan: TablePlan;
  readonly reader: CsvFileReader;
  readonly file: string;
  readonly headers: readonly string[];
  /** Positions of the columns carrying the root key parts, in root key order. */
  readonly rootKeyIndexes: readonly number[];
  /** Positions of this table's `on` columns (child side) and of the parent columns they name, when parsed. */
  readonly onIndexes: readonly number[];
  /** Positions of the parent-side columns that this file's children join to, by the child table's position. */
  readonly parentIndexes: readonly (readonly number[] | undefined)[];
  readonly newNode: RowNodeFactory;
}

interface TablePlan {
  readonly table: CsvTable;
  readonly name: string;
  /** 0 for the root table, then 1, 2… in join order (indexes the per-record arrays of the join). */
  position: number;
  parent: TablePlan | undefined;
  readonly children: TablePlan[];
  /** This table's columns that carry each root key column. */
  rootKeyColumns: string[];
  /** Child-side `on` columns and the parent columns they equal, in the same order. */
  readonly onColumns: readonly string[];
  readonly onParentColumns: readonly string[];
  files: TableFile[];
}

/** A row of one table, ready to join; also the origin its source node carries (it locates the row and its cells). */
class TableRow implements NodeOrigin {
  node: SourceNode | undefined;
  constructor(
    readonly file: TableFile,
    readonly csv: CsvRow,
    readonly keyParts: string[],
    readonly key: string,
    readonly missingKey: boolean,
  ) {}
  get plan(): TablePlan {
    return this.file.plan;
  }

  locate(field?: string): InputSpan {
    const { file, csv, key } = this;
    if (field === undefined) {
      return { file: file.file, table: file.plan.name, line: csv.line, row: csv.row, recordKey: key };
    }
    // one literal per case: spreading a base object here showed as microseconds per call in profiles
    const index = file.headers.indexOf(field);
    return index === -1
      ? { file: file.file, table: file.plan.name, line: csv.line, row: csv.row, recordKey: key, field }
      : { file: file.file, table: file.plan.name, line: csv.line, row: csv.row, recordKey: key, field, fieldIndex: index + 1 };
  }
}

const keySeparator = '|';
const indexSeparator = '\u0000';

/** Builds the join plan: parents, children (in declaration order) and the columns carrying the root key. */
function planTables(spec: SourceSpec, diagnostics: Diagnostic[]): { root: TablePlan; order: TablePlan[] } | undefined {
  const plans = new Map<string, TablePlan>();
  for (const table of spec.tables) {
    const onColumns = Object.keys(table.on);
    plans.set(table.name, {
      table,
      name: table.name,
      position: 0,
      parent: undefined,
      children: [],
      rootKeyColumns: [],
      onColumns,
      onParentColumns: onColumns.map((column) => table.on[column]!),
      files: [],
    });
  }
  const fatal = (code: DiagnosticCode, message: string, hint: string, table: CsvTable): void => {
    diagnostics.push({ code, severity: 'fatal', message, hint, rule: table.span });
  };
  const roots = [...plans.values()].filter((plan) => plan.table.parent === undefined);
  for (const plan of plans.values()) {
    const parentName = plan.table.parent;
    if (parentName === undefined) {
      continue;
    }
    const parent = plans.get(parentName);
    if (parent === undefined) {
      fatal('MAP_UNKNOWN_TABLE', `Table "${plan.name}" joins to "${parentName}", which is not declared.`, 'Name a declared table as `parent`.', plan.table);
    } else {
      plan.parent = parent;
      parent.children.push(plan);
    }
  }
  if (roots.length !== 1) {
    const first = spec.tables[0];
    diagnostics.push({
      code: 'MAP_SCHEMA',
      severity: 'fatal',
      message: `source.tables must have exactly one root table (without \`parent\`); found ${roots.length === 0 ? 'none' : roots.map((r) => r.name).join(', ')}.`,
      hint: 'Give every table but the one holding the calls a `parent`.',
      rule: first?.span ?? spec.span,
    });
    return undefined;
  }
  const root = roots[0]!;
  root.rootKeyColumns = [...root.table.key];
  if (root.rootKeyColumns.length === 0) {
    fatal('MAP_SCHEMA', `The root table "${root.name}" declares no key column.`, 'Add `key: <column>` to the root table.', root.table);
  }
  const order: TablePlan[] = [];
  const visit = (plan: TablePlan): void => {
    for (const child of plan.children) {
      child.rootKeyColumns = plan.rootKeyColumns.map((carrier) => {
        const index = child.onParentColumns.indexOf(carrier);
        return index === -1 ? '' : child.onColumns[index]!;
      });
      const lost = child.rootKeyColumns.findIndex((column) => column === '');
      if (lost !== -1) {
        fatal(
          'MAP_UNKNOWN_COLUMN',
          `Table "${child.name}" joins to "${plan.name}" without carrying the root key column "${root.table.key[lost]}" (on: ${JSON.stringify(child.table.on)}).`,
          `Add the column holding ${root.table.key[lost]} to \`on\`: every child table must carry the root key.`,
          child.table,
        );
      }
      child.position = order.push(child);
      visit(child);
    }
  };
  visit(root);
  for (const plan of plans.values()) {
    if (plan !== root && !order.includes(plan)) {
      fatal('MAP_SCHEMA', `Table "${plan.name}" does not reach the root table through its parents (a cycle?).`, 'Make every parent chain end at the root table.', plan.table);
    }
  }
  return { root, order };
}

/** The characters the CSV tokenizer looks for. */
const csvSyntax = (dialect: CsvDialect): string[] => [dialect.delimiter, dialect.quote ?? '', dialect.escape, dialect.comment ?? ''];

function requiredColumns(plan: TablePlan, extra: readonly string[] | undefined): Map<string, 'fatal' | 'error'> {
  const required = new Map<string, 'fatal' | 'error'>();
  for (const column of [...plan.table.columns, ...(extra ?? [])]) {
    required.set(column, 'error');
  }
  for (const column of [...plan.rootKeyColumns, ...plan.onColumns]) {
    if (column !== '') {
      required.set(column, 'fatal');
    }
  }
  for (const child of plan.children) {
    for (const column of child.onParentColumns) {
      required.set(column, 'fatal');
    }
  }
  return required;
}

/** Opens a CSV source: matches inputs to tables, reads every header and checks the columns the join and mapping need. */
export async function openCsvSource(
  spec: SourceSpec,
  inputs: readonly InputFile[],
  options: OpenSourceOptions,
): Promise<OpenedSource> {
  const diagnostics: Diagnostic[] = [];
  const files: SourceFileInfo[] = [];
  const planned = planTables(spec, diagnostics);
  const { matched, diagnostics: matchDiagnostics } = matchInputs(spec, inputs);
  diagnostics.push(...matchDiagnostics);
  const readers: CsvFileReader[] = [];
  if (planned !== undefined) {
    const plans = new Map([planned.root, ...planned.order].map((plan) => [plan.name, plan]));
    for (const { table, input, file } of matched) {
      const plan = plans.get(table)!;
      const chunks = new TextChunks(inputBytes(input, limitsOf(spec).maxFileBytes), spec.encoding, !csvSyntax(spec.csv).some(changedByWindows1252));
      const reader = new CsvFileReader(chunks, spec.csv, file, table, limitsOf(spec).maxRecordBytes);
      readers.push(reader);
      const headerProblems = await reader.readHeader();
      diagnostics.push(...headerProblems);
      const headers = reader.headers;
      files.push(headers === undefined ? { table, file } : { table, file, headers });
      if (headers === undefined) {
        continue;
      }
      for (const [column, severity] of requiredColumns(plan, options.requiredColumns?.[table])) {
        if (!headers.includes(column)) {
          diagnostics.push({
            code: 'SRC_CSV_MISSING_COLUMN',
            severity,
            message: `${file} (table ${table}) has no column "${column}"; its columns are: ${headers.join(', ')}.`,
            hint: 'Check the delimiter and the column names against the export, or correct the mapping.',
            input: { file, table, line: 1, field: column },
          });
        }
      }
      for (const child of plan.children) {
        if (headers.includes(child.name)) {
          diagnostics.push({
            code: 'SRC_CSV_HEADER',
            severity: 'fatal',
            message: `${file} (table ${table}) has a column named "${child.name}", the name of its child table: the joined rows would replace the column.`,
            hint: `Rename the child table "${child.name}" in source.tables.`,
            input: { file, table, line: 1, field: child.name },
          });
        }
      }
      const indexes = (columns: readonly string[]): number[] => columns.map((column) => headers.indexOf(column));
      const parentIndexes: number[][] = [];
      for (const child of plan.children) {
        parentIndexes[child.position] = indexes(child.onParentColumns);
      }
      plan.files.push({
        plan,
        reader,
        file,
        headers,
        rootKeyIndexes: indexes(plan.rootKeyColumns),
        onIndexes: indexes(plan.onColumns),
        parentIndexes,
        newNode: rowNodeFactory(headers),
      });
    }
  }
  const fatal = planned === undefined || diagnostics.some((d) => d.severity === 'fatal');
  if (fatal) {
    await Promise.all(readers.map((reader) => reader.close()));
  }
  return {
    files,
    diagnostics,
    records: (<T>(each?: (record: SourceRecord) => T) =>
      fatal || planned === undefined ? emptyRecords() : new CsvJoin(spec, planned.root, planned.order).records(each ?? (identity as (record: SourceRecord) => T))) as OpenedSource['records'],
  };
}

const identity = (record: SourceRecord): SourceRecord => record;

async function* emptyRecords(): AsyncGenerator<never> {}

/** Reads the files of one table in order, one row ahead. */
class TableStream {
  head: TableRow | undefined;
  last: string[] | undefined;
  private fileIndex = 0;

  constructor(
    readonly plan: TablePlan,
    private readonly emit: (record: SourceRecord) => void,
  ) {}

  /** The current row from buffered text, undefined at the end of the table, or NEED_MORE when {@link peek} must read. */
  peekBuffered(): TableRow | undefined | typeof NEED_MORE {
    for (;;) {
      if (this.head !== undefined) {
        return this.head;
      }
      const file = this.plan.files[this.fileIndex];
      if (file === undefined) {
        return undefined;
      }
      const csv = file.reader.readRow();
      if (csv === NEED_MORE) {
        return NEED_MORE;
      }
      if (csv === undefined) {
        const error = file.reader.readError;
        if (error !== undefined) {
          this.emit({ key: '', data: undefined, origin: { file: file.file, table: this.plan.name }, raw: {}, diagnostics: [{ ...unreadable(file.file, error, this.plan.name), severity: 'error' }] });
        }
        this.fileIndex++;
        continue;
      }
      this.head = makeRow(file, csv);
    }
  }

  /** The current row (reading more text when needed), or undefined at the end of the table. */
  async peek(): Promise<TableRow | undefined> {
    for (;;) {
      const row = this.peekBuffered();
      if (row !== NEED_MORE) {
        return row;
      }
      await this.plan.files[this.fileIndex]!.reader.fill();
    }
  }
}

/** The current row of a stream, awaiting only when its buffered text is used up. */
async function current(stream: TableStream): Promise<TableRow | undefined> {
  const row = stream.peekBuffered();
  return row === NEED_MORE ? stream.peek() : row;
}

function makeRow(file: TableFile, csv: CsvRow): TableRow {
  const fields = csv.fields;
  const indexes = file.rootKeyIndexes;
  let missingKey = false;
  const keyParts: string[] = [];
  for (let k = 0; k < indexes.length; k++) {
    const value = fields[indexes[k]!] ?? '';
    if (value === '') {
      missingKey = true;
    }
    keyParts.push(value);
  }
  const key = keyParts.length === 1 ? keyParts[0]! : keyParts.join(keySeparator);
  const row = new TableRow(file, csv, keyParts, key, missingKey);
  const headers = file.headers;
  if (fields.length === 0 && csv.problems !== undefined) {
    return row; // cut at maxRecordBytes (see CsvFileReader.cutRunaway)
  }
  if (fields.length !== headers.length) {
    (csv.problems ??= []).push({
      code: 'SRC_CSV_RAGGED_ROW',
      severity: 'error',
      message: `Row ${csv.row} (line ${csv.line}) of ${file.file} has ${fields.length} field${fields.length === 1 ? '' : 's'}; the header has ${headers.length}.`,
      hint: 'Check for an unquoted delimiter or line break inside a value, or a missing value.',
      input: { file: file.file, table: file.plan.name, line: csv.line, row: csv.row, ...(key === '' ? {} : { recordKey: key }) },
    });
    return row;
  }
  const node = file.newNode(fields, row);
  row.node = node;
  return row;
}

const spanOf = (row: TableRow): InputSpan =>
  row.key === ''
    ? { file: row.file.file, table: row.plan.name, line: row.csv.line, row: row.csv.row }
    : { file: row.file.file, table: row.plan.name, line: row.csv.line, row: row.csv.row, recordKey: row.key };

/**
 * A joined record. Its origin and the raw lines for the dead letter are built when first read: most records
 * map without either being needed.
 */
class JoinedRecord implements SourceRecord {
  private originSpan: InputSpan | undefined;
  private rawLines: RawContent | undefined;

  constructor(
    readonly key: string,
    readonly data: SourceNode | undefined,
    readonly diagnostics: readonly Diagnostic[],
    readonly rawLength: number,
    private readonly root: TableRow,
    /** The rows joined, by table position (the root's table first). */
    private readonly kept: readonly (readonly TableRow[])[],
    private readonly order: readonly TablePlan[],
  ) {}

  get origin(): InputSpan {
    return (this.originSpan ??= spanOf(this.root));
  }

  get raw(): RawContent {
    if (this.rawLines === undefined) {
      const raw: Record<string, string[]> = { [this.root.plan.name]: [this.root.csv.raw] };
      for (const plan of this.order) {
        const rows = this.kept[plan.position] ?? [];
        if (rows.length > 0) {
          raw[plan.name] = rows.map((row) => row.csv.raw);
        }
      }
      this.rawLines = raw;
    }
    return this.rawLines;
  }
}

/** Joins the tables of a CSV source into one record per root row. */
class CsvJoin {
  private readonly queue: SourceRecord[] = [];
  private readonly rootStream: TableStream;
  private readonly childStreams: TableStream[];

  constructor(
    private readonly spec: SourceSpec,
    private readonly root: TablePlan,
    private readonly order: readonly TablePlan[],
  ) {
    const emit = (record: SourceRecord): void => {
      this.queue.push(record);
    };
    this.rootStream = new TableStream(root, emit);
    this.childStreams = order.map((plan) => new TableStream(plan, emit));
  }

  /** The joined records, each passed through `each` as it is yielded. */
  async *records<T>(each: (record: SourceRecord) => T): AsyncGenerator<T> {
    const queue = this.queue;
    try {
      if (this.spec.order === 'any') {
        await this.indexChildren();
      }
      let previous: string[] | undefined;
      const seen = this.spec.order === 'any' ? new Set<string>() : undefined;
      for (;;) {
        let row = this.rootStream.peekBuffered();
        if (row === NEED_MORE) {
          row = await this.rootStream.peek();
        }
        if (row === undefined) {
          break;
        }
        this.rootStream.head = undefined;
        if (row.missingKey) {
          this.reject(row, 'SRC_MISSING_KEY', `Row ${row.csv.row} (line ${row.csv.line}) of ${row.file.file} has no value for the key column(s) ${this.root.rootKeyColumns.join(', ')}.`, 'Every call row needs its key; the row is set aside.');
        } else if (seen !== undefined) {
          const id = row.keyParts.join(indexSeparator);
          if (seen.has(id)) {
            this.duplicate(row);
          } else {
            seen.add(id);
            this.assemble(row, this.takeIndexed(row));
          }
        } else {
          const order = previous === undefined ? 1 : compareKey(row.keyParts, previous);
          if (order < 0) {
            this.outOfOrder(row, previous!);
          } else if (order === 0) {
            this.duplicate(row);
          } else {
            previous = row.keyParts;
            const groups: TableRow[][] = [];
            for (const stream of this.childStreams) {
              const rows: TableRow[] = [];
              groups[stream.plan.position] = rows;
              while (!this.collectBuffered(stream, row.keyParts, rows)) {
                await stream.peek();
              }
            }
            this.assemble(row, groups);
          }
        }
        while (queue.length > 0) {
          yield each(queue.shift()!);
        }
      }
      if (seen !== undefined) {
        this.orphanIndexed();
      } else {
        for (const stream of this.childStreams) {
          await this.collect(stream, undefined);
        }
      }
      while (queue.length > 0) {
        yield each(queue.shift()!);
      }
    } finally {
      for (const plan of [this.root, ...this.order]) {
        for (const file of plan.files) {
          await file.reader.close();
        }
      }
    }
  }

  /** Takes the rows of one table up to root key `key` (all of them when undefined); earlier keys are orphans. */
  private async collect(stream: TableStream, key: string[] | undefined): Promise<TableRow[]> {
    const rows: TableRow[] = [];
    while (!this.collectBuffered(stream, key, rows)) {
      await stream.peek();
    }
    return rows;
  }

  /** {@link collect} from buffered text into `rows`: false when more text must be read first (then call again). */
  private collectBuffered(stream: TableStream, key: string[] | undefined, rows: TableRow[]): boolean {
    for (;;) {
      const row = stream.peekBuffered();
      if (row === NEED_MORE) {
        return false;
      }
      if (row === undefined) {
        return true;
      }
      if (row.missingKey) {
        stream.head = undefined;
        this.orphan(row);
        continue;
      }
      if (stream.last !== undefined && compareKey(row.keyParts, stream.last) < 0) {
        stream.head = undefined;
        this.outOfOrder(row, stream.last);
        continue;
      }
      const order = key === undefined ? -1 : compareKey(row.keyParts, key);
      if (order > 0) {
        return true;
      }
      stream.head = undefined;
      stream.last = row.keyParts;
      if (order < 0) {
        this.orphan(row);
      } else {
        rows.push(row);
      }
    }
  }

  private indexed = new Map<TablePlan, Map<string, TableRow[]>>();

  private async indexChildren(): Promise<void> {
    for (const stream of this.childStreams) {
      const index = new Map<string, TableRow[]>();
      this.indexed.set(stream.plan, index);
      for (;;) {
        const row = await current(stream);
        if (row === undefined) {
          break;
        }
        stream.head = undefined;
        if (row.missingKey) {
          this.orphan(row);
          continue;
        }
        const id = row.keyParts.join(indexSeparator);
        const rows = index.get(id);
        if (rows === undefined) {
          index.set(id, [row]);
        } else {
          rows.push(row);
        }
      }
    }
  }

  private takeIndexed(root: TableRow): TableRow[][] {
    const id = root.keyParts.join(indexSeparator);
    const groups: TableRow[][] = [];
    for (const [plan, index] of this.indexed) {
      groups[plan.position] = index.get(id) ?? [];
      index.delete(id);
    }
    return groups;
  }

  private orphanIndexed(): void {
    for (const index of this.indexed.values()) {
      for (const rows of index.values()) {
        for (const row of rows) {
          this.orphan(row);
        }
      }
    }
    this.indexed.clear();
  }

  /** Nests the child rows (by table position) under their parents and emits the record (rejected when any row has an error). */
  private assemble(root: TableRow, groups: readonly (TableRow[] | undefined)[]): void {
    const diagnostics: Diagnostic[] = [];
    if (root.csv.problems !== undefined) {
      diagnostics.push(...root.csv.problems);
    }
    const kept: TableRow[][] = [[root]];
    let rawLength = root.csv.raw.length + 1;
    for (const plan of this.order) {
      const parentRows = kept[plan.parent!.position] ?? [];
      for (const parent of parentRows) {
        if (parent.node !== undefined) {
          parent.node[plan.name] = [];
        }
      }
      const rows = groups[plan.position] ?? [];
      // the rows themselves unless one has no parent (then a copy without it)
      let keep: TableRow[] = rows;
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        const parent = findParent(row, parentRows);
        if (parent === undefined) {
          if (keep === rows) {
            keep = rows.slice(0, index);
          }
          this.orphan(row);
          continue;
        }
        if (keep !== rows) {
          keep.push(row);
        }
        rawLength += row.csv.raw.length + 1;
        if (row.csv.problems !== undefined) {
          diagnostics.push(...row.csv.problems);
        }
        if (row.node !== undefined && parent.node !== undefined) {
          (parent.node[plan.name] as SourceNode[]).push(row.node);
        }
      }
      kept[plan.position] = keep;
    }
    const failed = diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal');
    this.queue.push(new JoinedRecord(root.key, failed ? undefined : root.node, diagnostics, rawLength, root, kept, this.order));
  }

  private reject(row: TableRow, code: DiagnosticCode, message: string, hint: string): void {
    // a row cut at maxRecordBytes has no fields: its SRC_LIMIT says all there is to say
    const cut = row.csv.fields.length === 0 && row.csv.problems?.some((problem) => problem.code === 'SRC_LIMIT') === true;
    const diagnostics: Diagnostic[] = cut ? [] : [{ code, severity: 'error', message, hint, input: spanOf(row) }];
    if (row.csv.problems !== undefined) {
      diagnostics.push(...row.csv.problems);
    }
    this.queue.push({ key: row.key, data: undefined, origin: spanOf(row), raw: { [row.plan.name]: [row.csv.raw] }, diagnostics });
  }

  private orphan(row: TableRow): void {
    const parent = row.plan.parent!;
    this.reject(
      row,
      'SRC_JOIN_ORPHAN',
      row.missingKey
        ? `Row ${row.csv.row} (line ${row.csv.line}) of ${row.file.file} has no value in its join column(s) ${row.plan.rootKeyColumns.join(', ')}, so it belongs to no ${parent.name} row.`
        : `Row ${row.csv.row} (line ${row.csv.line}) of ${row.file.file} joins to no ${parent.name} row (${joinDescription(row)}).`,
      this.spec.order === 'sorted'
        ? `Check that the ${parent.name} row exists; with order: sorted every file must be in ascending key order.`
        : `Check that the ${parent.name} row exists in the export.`,
    );
  }

  private duplicate(row: TableRow): void {
    this.reject(
      row,
      'SRC_DUPLICATE_KEY',
      `Row ${row.csv.row} (line ${row.csv.line}) of ${row.file.file} repeats the key ${row.key} of an earlier row; only the first is used.`,
      'Remove the duplicate row or choose key columns that are unique.',
    );
  }

  private outOfOrder(row: TableRow, previous: readonly string[]): void {
    this.reject(
      row,
      'SRC_JOIN_ORDER',
      `Row ${row.csv.row} (line ${row.csv.line}) of ${row.file.file} has key ${row.key}, which comes before the key ${previous.join(keySeparator)} of an earlier row; the streaming join needs ascending key order.`,
      'Sort the file by its key column(s), or declare `order: any` to index the child files in memory.',
    );
  }
}

function joinDescription(row: TableRow): string {
  const plan = row.plan;
  return plan.onColumns.map((column, k) => `${column}=${row.csv.fields[row.file.onIndexes[k]!] ?? ''}`).join(', ');
}

const linearSearchLimit = 16;
const parentIndexCache = new WeakMap<readonly TableRow[], Map<string, TableRow>>();

/** The parent row whose join columns equal this row's `on` columns. */
function findParent(row: TableRow, parents: readonly TableRow[]): TableRow | undefined {
  const plan = row.plan;
  const onIndexes = row.file.onIndexes;
  const fields = row.csv.fields;
  if (parents.length > linearSearchLimit) {
    let index = parentIndexCache.get(parents);
    if (index === undefined) {
      index = new Map();
      for (const parent of parents) {
        const indexes = parent.file.parentIndexes[plan.position]!;
        const id = indexes.map((at) => parent.csv.fields[at] ?? '').join(indexSeparator);
        if (!index.has(id)) {
          index.set(id, parent);
        }
      }
      parentIndexCache.set(parents, index);
    }
    return index.get(onIndexes.map((at) => fields[at] ?? '').join(indexSeparator));
  }
  for (const parent of parents) {
    const indexes = parent.file.parentIndexes[plan.position]!;
    const parentFields = parent.csv.fields;
    let equal = true;
    for (let k = 0; k < onIndexes.length; k++) {
      if ((fields[onIndexes[k]!] ?? '') !== (parentFields[indexes[k]!] ?? '')) {
        equal = false;
        break;
      }
    }
    if (equal) {
      return parent;
    }
  }
  return undefined;
}
