/**
 * The one diagnostic shape used across cadmap. Diagnostics are data: libraries collect and return them,
 * only the CLI renders and prints them. Lines and columns are 1-based everywhere.
 */
export type Severity = 'fatal' | 'error' | 'warning' | 'information';

/** Where in a mapping file (YAML) a diagnostic or an output element comes from. */
export interface RuleSpan {
  /** Mapping file path as given by the caller (not normalised). */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
  /** The id of the resource rule (`resources[].id`) the span belongs to, when there is one. */
  readonly ruleId?: string;
  /** Dotted path of the YAML node, e.g. `resources[2].template.sent`. */
  readonly yamlPath?: string;
}

/** Where in an input (CAD export) file a diagnostic or an output element comes from. */
export interface InputSpan {
  readonly file: string;
  /** Physical line (1-based) where the record, element or value starts. */
  readonly line?: number;
  /** Character column (1-based) within that line, where known. */
  readonly column?: number;
  /** CSV: data row number (1-based, header excluded). NDJSON: the line. */
  readonly row?: number;
  /** CSV column header, XML element/attribute name or JSON property name. */
  readonly field?: string;
  /** CSV: 1-based index of the field within the row. */
  readonly fieldIndex?: number;
  /** JSON pointer (RFC 6901) of the value within the file (JSON) or line (NDJSON). */
  readonly pointer?: string;
  /** XPath of the element or attribute, with 1-based positions, e.g. `/Export/Incident[3]/Response[1]/@callSign`. */
  readonly xpath?: string;
  /** Natural key of the source record, e.g. the CAD incident id. */
  readonly recordKey?: string;
  /** Table name for multi-file CSV sources (`calls`, `resources`, …). */
  readonly table?: string;
}

/**
 * One problem. `Code` is the closed union of the package that reports it: core's `DiagnosticCode` by default,
 * the checker's `CONF_*`, the adapters' `DPS_*`, … so every package keeps its own stable codes in one shape.
 */
export interface Diagnostic<Code extends string = DiagnosticCode> {
  /** Stable machine-readable code; tests and tools branch on it, never on the message. */
  readonly code: Code;
  readonly severity: Severity;
  /** What is wrong, what was expected and what was found. */
  readonly message: string;
  /** How to fix it. */
  readonly hint?: string;
  /** The mapping rule involved. */
  readonly rule?: RuleSpan;
  /** The input datum involved. */
  readonly input?: InputSpan;
  /** FHIRPath of the output element concerned, e.g. `Bundle.entry[0].resource.sent`. */
  readonly expression?: string;
}

/**
 * Every diagnostic code @cadmap/core can emit. Codes are stable; add new ones, never rename.
 * MAP_* concern the mapping file and its evaluation, SRC_* the input files.
 */
export const diagnosticCodes = {
  // mapping file
  MAP_FILE_UNREADABLE: 'The mapping file (or a file it imports) could not be read.',
  MAP_YAML_SYNTAX: 'The mapping is not well-formed YAML.',
  MAP_SCHEMA: 'The mapping does not match the cadmap mapping JSON Schema.',
  MAP_VERSION: 'The mapping declares an unsupported `cadmap` language version.',
  MAP_DUPLICATE_ID: 'Two rules, tables or lookups share an id.',
  MAP_UNKNOWN_RULE: 'A reference names a resource rule that is not declared.',
  MAP_UNKNOWN_TABLE: 'A join or expression names a source table that is not declared.',
  MAP_UNKNOWN_LOOKUP: 'An expression names a lookup table that is not declared.',
  MAP_LOOKUP_FILE: 'A lookup or ConceptMap file is missing or malformed.',
  MAP_FILE_REFUSED: 'A file the mapping names is outside the mapping root, not a regular file of the expected kind, or too large; it is not read.',
  MAP_EXPRESSION_SYNTAX: 'An expression does not parse.',
  MAP_UNKNOWN_FUNCTION: 'An expression calls a function that does not exist.',
  MAP_UNKNOWN_VARIABLE: 'An expression uses a %variable that is not defined.',
  MAP_BAD_ARGUMENT: 'A function is called with the wrong number or kind of arguments.',
  MAP_UNKNOWN_COLUMN: 'The mapping names a column or field that no input file has.',
  MAP_FIELD_UNDECLARED: 'The mapping reads a field its source.fields declaration does not list.',
  MAP_FIELDS_FILE: 'The JSON Schema or XSD that declares the source fields is missing or cannot be read.',
  MAP_REGEX_UNSUPPORTED: 'A regular expression uses syntax the linear-time engine (RE2) does not run: backreferences, lookarounds.',
  // evaluation
  MAP_EVAL_ERROR: 'An expression failed while evaluating a record.',
  MAP_MULTIPLE_VALUES: 'An expression returned several values where one is allowed.',
  MAP_EMPTY_KEY: 'A natural key expression returned nothing.',
  MAP_KEY_CONFLICT: 'Two entries with the same natural key differ in content.',
  MAP_DANGLING_REFERENCE: 'A reference points at a natural key that produced no entry.',
  MAP_DATE_UNPARSEABLE: 'A date/time value matches none of the declared formats.',
  MAP_CONVERSION_FAILED: 'A conversion function (toInteger, toDecimal, toBoolean, toDate, …) got a value it cannot convert.',
  MAP_DATE_GAP: 'A local time falls in the spring-forward gap of the time zone.',
  MAP_DATE_OVERLAP: 'A local time occurs twice in the autumn overlap of the time zone.',
  MAP_TIME_ZONE: 'An unknown IANA time zone name.',
  MAP_LOOKUP_MISS: 'A value has no entry in the lookup table and no default applies.',
  MAP_NHS_NUMBER_INVALID: 'An NHS number fails the format or modulus 11 check.',
  MAP_POSTCODE_INVALID: 'A value is not a UK postcode.',
  MAP_ODS_CODE_INVALID: 'A value does not have the shape of an ODS code.',
  MAP_RECORD_SKIPPED: 'No rule produced an entry for a record (every `when` was false), so it has no bundle.',
  MAP_RECORD_BUDGET: 'Building one record took more elements, bytes, nesting or time than the mapping\'s budgets allow; the record is set aside.',
  MAP_REQUIRED_MISSING: 'A rule marked required produced no value.',
  MAP_FIELD_NEVER_PRESENT: 'The mapping reads a field that no record of the run had.',
  // sources
  SRC_FILE_UNREADABLE: 'An input file could not be opened or read.',
  SRC_NO_INPUT: 'No input file matches a declared source table.',
  SRC_AMBIGUOUS_INPUT: 'An input file matches several source tables.',
  SRC_UNMATCHED_INPUT: 'An input file matches no declared source table.',
  SRC_ENCODING: 'Bytes are not valid in the declared encoding.',
  SRC_CSV_RAGGED_ROW: 'A CSV row has more or fewer fields than the header.',
  SRC_CSV_QUOTE: 'A CSV field has broken quoting.',
  SRC_CSV_HEADER: 'A CSV header is empty or repeats a column name.',
  SRC_CSV_MISSING_COLUMN: 'A column the mapping names is missing from a CSV file.',
  SRC_XML_SYNTAX: 'An XML input is not well-formed.',
  SRC_XML_CHARACTER: 'An XML record holds a character, or a character reference to one, that XML does not allow.',
  SRC_JSON_SYNTAX: 'A JSON or NDJSON input does not parse.',
  SRC_RECORD_PATH: 'The declared record path matches nothing in the input.',
  SRC_NOT_A_RECORD: 'A value at the record path is not an object.',
  SRC_MISSING_KEY: 'A record has no value for its key column.',
  SRC_DUPLICATE_KEY: 'Two root records share a key.',
  SRC_JOIN_ORPHAN: 'A child row has no parent record with its join key.',
  SRC_JOIN_ORDER: 'A file is not in key order, which the streaming join needs.',
  SRC_LIMIT: 'An input exceeds a configured size limit.',
  // CQI cases (canonical model cqi-case/<semver>, wire encoders, the CQI API adapter)
  CQI_SCHEMA: 'A CQI case does not match the cqi-case JSON Schema (missing member, wrong type, unknown member).',
  CQI_SCHEMA_VERSION: 'A CQI case declares a schemaVersion this cadmap does not know.',
  CQI_TRIAGE_TIME_ORDER: 'A CQI case ends its triage before it starts.',
  CQI_LINE_TIME_ORDER: 'A triage line has its time out before its time in.',
  CQI_LINE_SEQUENCE: 'Triage line sequence numbers are not strictly increasing.',
  CQI_FINAL_DISPOSITION_MISSING: 'A complete CQI case has no final disposition.',
  CQI_DX_CODE: 'A disposition code is not Dx followed by 2 to 5 digits.',
  CQI_SG_CODE: 'A Symptom Group code is not a numeric string.',
  CQI_SD_CODE: 'A Symptom Discriminator code is not a numeric string.',
  CQI_PATHWAY_ID: 'A pathway or module id does not have the Pathways shape (P followed by letters or digits).',
  CQI_RELEASE_ID: 'A Pathways release id is not major.minor.patch, or its label does not start with it.',
  CQI_NODE_KIND: 'A triage line nodeKind disagrees with its nodeId prefix.',
  CQI_OPERATOR: 'A CQI case names neither or both of the call handler and the clinician.',
  CQI_WIRE_SYNTAX: 'A CQI wire payload (JSON or XML) does not parse or does not have the expected shape.',
  CQI_CONFIG: 'The CQI adapter configuration is incomplete or inconsistent.',
  CQI_TLS: 'The CQI API refused the TLS connection (client certificate, CA or host name).',
  CQI_AUTH: 'The CQI API refused the access credentials.',
  CQI_UNAVAILABLE: 'The CQI API is unavailable (closed out of hours, down or unreachable); the case stays in the outbox.',
  CQI_NO_ANSWER: 'A case was sent and no answer came (the connection broke or the deadline passed): the CQI API may hold it.',
  CQI_CANCELLED: 'Sending was cancelled before the case left this machine.',
  CQI_REJECTED: 'The CQI API rejected a case; its exception codes say why.',
  CQI_EXCEPTION_CODES: 'The CQI exception code list could not be fetched or read.',
} as const;

export type DiagnosticCode = keyof typeof diagnosticCodes;

export function isDiagnosticCode(value: string): value is DiagnosticCode {
  return Object.hasOwn(diagnosticCodes, value);
}

export const hasErrors = (diagnostics: readonly Diagnostic<string>[]): boolean =>
  diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal');
