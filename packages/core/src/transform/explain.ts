import type { InputSpan, RuleSpan } from '../diagnostics/diagnostic.js';
import type { MapResult } from './engine.js';

/** One output element with the rule and input cells it came from, and its value. */
export interface ExplainedElement {
  readonly expression: string;
  readonly value: unknown;
  readonly rule: RuleSpan;
  readonly inputs: readonly InputSpan[];
  /** The cell values read, in the order of `inputs`. */
  readonly inputValues: readonly unknown[];
}

/**
 * Rule by rule, which expression produced which element from which cell: pairs each provenance entry of a
 * result (mapped with `provenance: true`) with the element's value in the bundle.
 */
export function explainRecord(result: MapResult): ExplainedElement[] {
  const root: unknown = result.bundle ?? result.document;
  if (root === undefined || !result.provenance) {
    return [];
  }
  return result.provenance.map((entry) => ({
    expression: entry.expression,
    value: valueAt(root, entry.expression),
    rule: entry.rule,
    inputs: entry.inputs,
    inputValues: entry.inputValues,
  }));
}

/** The value at a simple FHIRPath (`Bundle.entry[0].resource.sent`) in a JSON tree. */
export function valueAt(root: unknown, expression: string): unknown {
  const segments = expression.replace(/^[A-Z][A-Za-z]*/, '').match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  let current: unknown = root;
  for (const segment of segments) {
    if (current === undefined || current === null) {
      return undefined;
    }
    current = segment.startsWith('[') ? (current as unknown[])[Number(segment.slice(1, -1))] : (current as Record<string, unknown>)[segment.slice(1)];
  }
  return current;
}
