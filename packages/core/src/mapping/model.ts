import type { RuleSpan } from '../diagnostics/diagnostic.js';
import type { DeclaredFields } from './declared-fields.js';

/** The language version this build understands (`cadmap: 1`). */
export const mappingLanguageVersion = 1;

export type SourceFormat = 'csv' | 'xml' | 'json' | 'ndjson';
export type SourceEncoding = 'utf-8' | 'windows-1252' | 'latin1';

/** CSV dialect. Defaults: `,` delimiter, `"` quote and escape, no trimming, header row present. */
export interface CsvDialect {
  readonly delimiter: string;
  /** Quote character, or null when fields are never quoted. */
  readonly quote: string | null;
  readonly escape: string;
  /** Trim spaces around unquoted fields. */
  readonly trim: boolean;
  /** Lines starting with this string are comments (not records). */
  readonly comment?: string;
}

/** A CSV table: one logical file of a multi-file export (e.g. calls, resources, patient contacts). */
export interface CsvTable {
  readonly name: string;
  /** Glob patterns matched against the input file's base name (`*`, `?`, `[abc]`, case-insensitive). */
  readonly files: readonly string[];
  /** Root table only: the column(s) whose values form the record key (joined with `|`). */
  readonly key: readonly string[];
  /** Child tables: the table this one joins to. */
  readonly parent?: string;
  /** Child tables: child column → parent column pairs; rows attach to parent rows with equal values. */
  readonly on: Readonly<Record<string, string>>;
  /** Columns the file must have, beyond those the join and key need. */
  readonly columns: readonly string[];
  readonly span: RuleSpan;
}

export interface XmlOptions {
  /** Slash path of the record elements from the document root, e.g. `/CadExport/Incidents/Incident`. */
  readonly record: string;
  /** Prefix given to attribute names in the record (default '' so `@id` is read as `id`). */
  readonly attributePrefix: string;
  /** Property holding an element's text when it also has attributes or children (default `text`). */
  readonly textName: string;
  /** `strip` (default) drops namespace prefixes from element and attribute names. */
  readonly namespaces: 'strip' | 'keep';
}

export interface JsonOptions {
  /** JSON pointer of the array of records ('' for a top-level array). For NDJSON each line is a record. */
  readonly record: string;
}

/** Size limits on the input, each violation an SRC_LIMIT diagnostic (set in the mapping's `source.limits`). */
export interface SourceLimits {
  /** Largest value (CSV field, XML text or attribute, JSON string) in UTF-8 bytes. */
  readonly maxFieldBytes: number;
  /** Largest record (its text in the input) in UTF-8 bytes. */
  readonly maxRecordBytes: number;
  /** Deepest nesting of elements, objects or arrays inside one record. */
  readonly maxDepth: number;
  /** Largest input file in bytes; undefined for no limit. */
  readonly maxFileBytes?: number;
}

/** Defaults: 1 MiB per field, 16 MiB per record, nesting depth 64, files unlimited. */
export const defaultSourceLimits: SourceLimits = { maxFieldBytes: 1 << 20, maxRecordBytes: 16 << 20, maxDepth: 64 };

/** What building one record's output may take (the mapping's `budgets`). */
export interface RecordBudgets {
  /** Most elements (objects, arrays and values) in one record's bundle or document. */
  readonly maxElements: number;
  /** Largest output of one record as JSON, in bytes (strings counted by UTF-16 length). */
  readonly maxBytes: number;
  /** Deepest nesting of objects and arrays in one record's output. */
  readonly maxDepth: number;
  /** Longest time mapping one record may take, in milliseconds. */
  readonly maxMilliseconds: number;
}

/** Defaults: 100,000 elements, 16 MiB, nesting 64, 10 s per record. */
export const defaultRecordBudgets: RecordBudgets = { maxElements: 100_000, maxBytes: 16 << 20, maxDepth: 64, maxMilliseconds: 10_000 };

/** How child tables are joined to the root table. */
export type JoinOrder =
  /** Streaming merge join in bounded memory: every file is in ascending root-key order (default). */
  | 'sorted'
  /** Child tables are indexed in memory first; any order, memory grows with the child files. */
  | 'any';

export interface SourceSpec {
  readonly format: SourceFormat;
  readonly encoding: SourceEncoding;
  /** IANA zone of the local times in the export (default Europe/London). */
  readonly timeZone: string;
  /** Date/time patterns tried in order by `dateTime()` and `date()` (tokens yyyy MM dd HH mm ss SSS; literal text in quotes). */
  readonly dateFormats: readonly string[];
  /** What `dateTime()` does with a local time that happens twice (autumn overlap). */
  readonly ambiguousTime: 'earlier' | 'later';
  readonly csv: CsvDialect;
  /** CSV only: the tables, exactly one of them without `parent` (the root). */
  readonly tables: readonly CsvTable[];
  readonly order: JoinOrder;
  readonly xml?: XmlOptions;
  readonly json?: JsonOptions;
  /** XML/JSON/NDJSON: dotted path inside a record to its key (e.g. `id` or `Header.IncidentNumber`). */
  readonly key?: string;
  /** Size limits; `defaultSourceLimits` when absent. */
  readonly limits?: SourceLimits;
  /** The fields a record may hold, when the mapping declares them (`source.fields`: a list, a JSON Schema or an XSD). */
  readonly fields?: DeclaredFields;
  readonly span: RuleSpan;
}

/** What a mapping declares about how its checks are reported (`checks:` in the mapping). */
export interface MappingChecks {
  /** MAP_FIELD_NEVER_PRESENT for a path the mapping reads that no record of a run had, when it is not declared. */
  readonly fieldNeverPresent: 'warning' | 'error';
  /** MAP_CONVERSION_FAILED: toInteger(), toDecimal(), toBoolean(), toString(), toDate(), … could not convert a value. */
  readonly conversions: 'error' | 'warning';
  /** MAP_DATE_UNPARSEABLE: date() or dateTime() matched none of the formats. */
  readonly dates: 'error' | 'warning';
  /** MAP_NHS_NUMBER_INVALID, MAP_POSTCODE_INVALID, MAP_ODS_CODE_INVALID. */
  readonly codes: 'error' | 'warning';
}

/**
 * The defaults: a conversion or date that fails makes the record fail; an invalid code is left out with a
 * warning; a field no record of a run had is a warning.
 */
export const defaultChecks: MappingChecks = { fieldNeverPresent: 'warning', conversions: 'error', dates: 'error', codes: 'warning' };

/** A lookup (code translation) table. */
export interface LookupTable {
  readonly name: string;
  /** Target code system, used by `coding()`. */
  readonly system?: string;
  /** Source value → target. Keys are matched after trimming; case-insensitively unless `caseSensitive`. */
  readonly entries: ReadonlyMap<string, LookupTarget>;
  readonly default?: LookupTarget;
  readonly caseSensitive: boolean;
  /** What happens to a value with no entry and no default. */
  readonly onMissing: 'error' | 'warning';
  readonly span: RuleSpan;
}

export interface LookupTarget {
  readonly code: string;
  readonly display?: string;
  readonly system?: string;
}
