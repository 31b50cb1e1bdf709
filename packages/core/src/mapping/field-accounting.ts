import type { Diagnostic, InputSpan } from '../diagnostics/diagnostic.js';
import { closest } from '../diagnostics/suggest.js';
import type { SourceNode } from '../sources/types.js';
import type { Mapping } from './load.js';
import type { SourceSpec } from './model.js';
import { fieldPathText, readPathsOf, type ReadPath } from './read-paths.js';

/** A path the mapping reads, watched until some record has a value there. */
interface Watch {
  readonly segments: readonly string[];
  seen: boolean;
  /** Some record had a value at the parent path (so the path itself is where the records diverge). */
  parentSeen: boolean;
  /** Member names the records had at the parent path, for "did you mean". */
  readonly namesAtParent: Set<string>;
}

/** How many member names are kept per watched path for suggestions, and for how many records they are collected. */
const namesKept = 200;
const recordsForNames = 1000;

/** A CSV path resolved to its table and column (the table chain followed from the root). */
export interface CsvColumn {
  readonly table: string;
  readonly column: string;
  /** Segments after the column (a member of a cell's text, which never exists). */
  readonly rest: readonly string[];
}

/** The table and column a CSV record path names; undefined when it names a table (a child table's rows). */
export function csvColumnOf(spec: SourceSpec, segments: readonly string[]): CsvColumn | undefined {
  let table = spec.tables.find((t) => t.parent === undefined)?.name;
  if (table === undefined) {
    return undefined;
  }
  for (let at = 0; at < segments.length; at++) {
    const segment = segments[at]!;
    const child = spec.tables.find((t) => t.parent === table && t.name === segment);
    if (child === undefined) {
      return { table, column: segment, rest: segments.slice(at + 1) };
    }
    table = child.name;
  }
  return undefined;
}

/** What decides the severity of a path no record had: declared fields, CSV headers, the mapping's checks. */
export interface AccountingContext {
  /** CSV: each table's first file and the columns its files have (a column in a header is declared by the export itself). */
  readonly headers?: ReadonlyMap<string, { readonly file: string; readonly columns: ReadonlySet<string> }>;
  /** Paths not to account for (already reported, e.g. MAP_UNKNOWN_COLUMN). */
  readonly skip?: (path: ReadPath) => boolean;
}

/**
 * Field accounting: which of the paths the mapping reads occurred in at least one record of a run. Every record
 * read is observed (whatever becomes of it: mapped, failed or skipped by conditions); a path stops being watched
 * once a record has a value there, so the cost per record falls to nothing once every field has been seen.
 * At the end, each path no record had is MAP_FIELD_NEVER_PRESENT at the YAML position of every expression
 * reading it, with the names the records had where they diverge.
 */
export class FieldAccounting {
  private readonly watches: Watch[] = [];
  private pending: Watch[];
  private readonly byPath = new Map<string, Watch>();
  /** Records observed. */
  records = 0;

  constructor(
    private readonly mapping: Mapping,
    private readonly context: AccountingContext = {},
  ) {
    for (const read of readPathsOf(mapping)) {
      const id = read.segments.join('\u0000');
      if (!this.byPath.has(id)) {
        const watch: Watch = { segments: read.segments, seen: false, parentSeen: read.segments.length <= 1, namesAtParent: new Set() };
        this.byPath.set(id, watch);
        this.watches.push(watch);
      }
    }
    this.pending = this.watches.slice();
  }

  /** Notes which watched paths this record has a value at. */
  observe(data: SourceNode | undefined): void {
    if (data === undefined) {
      return;
    }
    this.records++;
    const pending = this.pending;
    let found = false;
    for (let k = 0; k < pending.length; k++) {
      const watch = pending[k]!;
      const segments = watch.segments;
      let values: unknown[] = [data];
      for (let at = 0; at < segments.length - 1 && values.length > 0; at++) {
        values = members(values, segments[at]!);
      }
      if (values.length === 0) {
        continue;
      }
      watch.parentSeen = true;
      if (members(values, segments[segments.length - 1]!).length > 0) {
        watch.seen = true;
        found = true;
      } else if (this.records <= recordsForNames && watch.namesAtParent.size < namesKept) {
        for (const value of values) {
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
            for (const name of Object.keys(value)) {
              if (present((value as Record<string, unknown>)[name])) {
                watch.namesAtParent.add(name);
              }
            }
          }
        }
      }
    }
    if (found) {
      this.pending = pending.filter((watch) => !watch.seen);
    }
  }

  /**
   * MAP_FIELD_NEVER_PRESENT for every path read that no record had, where the records diverge from it (a path
   * under one no record had is not repeated). Information when the path is declared (source.fields, or a CSV
   * header), else the mapping's `checks.fieldNeverPresent` (warning by default). None when no record was read.
   */
  diagnostics(): Diagnostic[] {
    if (this.records === 0) {
      return [];
    }
    const out: Diagnostic[] = [];
    for (const read of readPathsOf(this.mapping)) {
      const watch = this.byPath.get(read.segments.join('\u0000'))!;
      if (watch.seen || !watch.parentSeen || this.context.skip?.(read) === true) {
        continue;
      }
      out.push(this.neverPresent(read, watch));
    }
    return out;
  }

  private neverPresent(read: ReadPath, watch: Watch): Diagnostic {
    const { mapping, records } = this;
    const segments = read.segments;
    const path = fieldPathText(segments);
    const parent = segments.slice(0, -1);
    const name = segments[segments.length - 1]!;
    const spec = mapping.source;
    const column = spec.format === 'csv' ? csvColumnOf(spec, segments) : undefined;
    const header = column === undefined || column.rest.length > 0 ? undefined : this.context.headers?.get(column.table);
    const inHeader = column !== undefined && header !== undefined && header.columns.has(column.column);
    const declared = inHeader || (spec.fields !== undefined && spec.fields.declares(segments));
    const count = records.toLocaleString('en-GB');
    const none = records === 1 ? 'the one record read had no value there' : `none of the ${count} records read had a value there`;
    const message = inHeader
      ? `'=${read.expression.text}' reads column ${JSON.stringify(column.column)} of table ${column.table}, which is empty in ${records === 1 ? 'the one record read' : `all ${count} records read`}.`
      : `'=${read.expression.text}' reads ${path}, but ${none}.`;
    const names = [...watch.namesAtParent].sort();
    const suggestion = closest(name, names);
    const hints: string[] = [];
    if (suggestion !== undefined && !inHeader) {
      hints.push(`Did you mean ${fieldPathText([...parent, suggestion])}?`);
    }
    if (!inHeader && names.length > 0) {
      hints.push(`${parent.length === 0 ? 'The records had' : `Under ${fieldPathText(parent)} the records had`}: ${names.slice(0, 30).join(', ')}${names.length > 30 ? ', …' : ''}.`);
    }
    hints.push(
      declared
        ? 'Nothing to change if the export leaves it out in these records; check the export if it should hold values.'
        : 'Correct the name in the mapping if it is misspelt; if the export leaves this field out only sometimes, declare it in source.fields (it is then reported as information).',
    );
    const input: InputSpan | undefined = inHeader ? { file: header.file, table: column.table, line: 1, field: column.column } : undefined;
    return {
      code: 'MAP_FIELD_NEVER_PRESENT',
      severity: declared ? 'information' : mapping.checks.fieldNeverPresent,
      message,
      hint: hints.join(' '),
      rule: read.expression.span,
      ...(input === undefined ? {} : { input }),
    };
  }
}

const present = (value: unknown): boolean => value !== undefined && value !== null && value !== '' && typeof value !== 'function';

/** The values of member `key` of each object among `values`, lists flattened, absent values left out (as FHIRPath reads them). */
function members(values: readonly unknown[], key: string): unknown[] {
  const out: unknown[] = [];
  for (const value of values) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      continue;
    }
    const member = (value as Record<string, unknown>)[key];
    if (Array.isArray(member)) {
      for (const item of member as unknown[]) {
        if (present(item)) {
          out.push(item);
        }
      }
    } else if (present(member)) {
      out.push(member);
    }
  }
  return out;
}
