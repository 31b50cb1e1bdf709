import type { DiagnosticCode, RuleSpan, Severity } from '../diagnostics/diagnostic.js';
import type { LookupTable, MappingChecks } from '../mapping/model.js';

/** What expressions can see of the mapping at compile time. */
export interface ExpressionEnv {
  /** IANA zone of local times in the source (e.g. Europe/London). */
  readonly timeZone: string;
  /** Patterns tried in order by dateTime()/date(). */
  readonly dateFormats: readonly string[];
  readonly ambiguousTime: 'earlier' | 'later';
  readonly lookups: ReadonlyMap<string, LookupTable>;
  /** UUID namespace for uuid5() and ref(). */
  readonly namespace: string;
  /** Resource rule id → resourceType, for ref('ruleId', key…). */
  readonly rules: ReadonlyMap<string, string>;
  /** Names usable as %variables (constants plus the engine's own: record, index, and every forEach `as`). */
  readonly variables: ReadonlySet<string>;
  /** The severities the mapping chose for values that do not convert (`defaultChecks` when absent). */
  readonly checks?: MappingChecks;
}

/** A problem a function reports while evaluating (the engine adds the rule and input spans). */
export interface EvalReport {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly hint?: string;
  /** The value the function could not use, so the engine can point at the cell it came from. */
  readonly value?: unknown;
}

export interface EvalSink {
  report(report: EvalReport): void;
}

/** Variables in scope at evaluation: each a FHIRPath collection (array) or a single value. */
export type EvalVariables = Readonly<Record<string, unknown>>;

export interface CompiledExpression {
  readonly text: string;
  readonly span: RuleSpan;
  /** true when compiled to closures by cadmap; false when interpreted by fhirpath.js. */
  readonly fast: boolean;
  /**
   * Source fields the expression reads relative to its context item (first path segment of each
   * member path not rooted at a %variable), for provenance, e.g. `CallConnected` for `CallConnected.dateTime()`.
   */
  readonly fields: readonly string[];
  /** Fields read through %variables, as `[variable, field]`, e.g. `['record', 'IncidentId']`. */
  readonly variableFields: readonly (readonly [string, string])[];
  /** Every %variable the expression uses. */
  readonly variables: readonly string[];
  /** Whether the result can depend on the context item (it reads a field or `$this`). */
  readonly readsContext: boolean;
  /** Evaluate over a context item (a source node or a value). Returns a FHIRPath collection. Never throws. */
  evaluate(context: unknown, variables: EvalVariables, sink: EvalSink): unknown[];
}
