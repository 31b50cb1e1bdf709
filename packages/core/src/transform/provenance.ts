import type { ProvenanceEntry } from './engine.js';

/**
 * The provenance of an output element given as FHIRPath (`Bundle.entry[1].resource.subject.reference`): the exact
 * entry when there is one, otherwise the nearest recorded ancestor or, failing that, the first descendant.
 */
export function lookupProvenance(entries: readonly ProvenanceEntry[], expression: string): ProvenanceEntry | undefined {
  const index = new Map<string, ProvenanceEntry>();
  for (const entry of entries) {
    if (!index.has(entry.expression)) {
      index.set(entry.expression, entry);
    }
  }
  let path = expression;
  for (;;) {
    const exact = index.get(path);
    if (exact) {
      return exact;
    }
    const parent = parentPath(path);
    if (parent === undefined) {
      break;
    }
    path = parent;
  }
  return entries.find((e) => e.expression.startsWith(`${expression}.`) || e.expression.startsWith(`${expression}[`));
}

function parentPath(path: string): string | undefined {
  if (path.endsWith(']')) {
    const open = path.lastIndexOf('[');
    return open > 0 ? path.slice(0, open) : undefined;
  }
  const dot = path.lastIndexOf('.');
  return dot > 0 ? path.slice(0, dot) : undefined;
}
