import { templateSpanFor, type MapResult, type Mapping, type ProvenanceEntry } from '@cadmap/core';
import { attachProvenance, type Checker, type ConformanceDiagnostic } from '@cadmap/conformance';

/** Looks provenance up by FHIRPath; exact element first (the checker walks up to ancestors itself). */
export function provenanceLookup(entries: readonly ProvenanceEntry[] | undefined): (path: string) => { rule?: ProvenanceEntry['rule']; input?: NonNullable<ProvenanceEntry['inputs'][0]> } | undefined {
  const byPath = new Map<string, ProvenanceEntry>();
  for (const entry of entries ?? []) {
    if (!byPath.has(entry.expression)) {
      byPath.set(entry.expression, entry);
    }
  }
  return (path) => {
    const entry = byPath.get(path);
    if (!entry) {
      return undefined;
    }
    const input = entry.inputs[0];
    return { rule: entry.rule, ...(input ? { input } : {}) };
  };
}

/** Checks a mapped bundle and links each finding to the YAML rule and source cell that produced the element. */
export function checkMapped(checker: Checker, mapping: Mapping, result: MapResult, profiles: readonly string[]): ConformanceDiagnostic[] {
  if (!result.bundle) {
    return [];
  }
  const outcome = checker.checkBundle(result.bundle, profiles.length > 0 ? { profiles } : {});
  return attachProvenance(outcome.issues, provenanceLookup(result.provenance)).map((issue) => {
    // A missing element has no provenance of its own: point at the template node that should have built it.
    const rule = issue.rule ?? templateSpanFor(mapping, result, issue.expression);
    const input = issue.input ?? { ...result.source.origin, recordKey: result.key };
    return { ...issue, ...(rule ? { rule } : {}), input };
  });
}
