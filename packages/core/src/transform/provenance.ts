import type { RuleSpan } from '../diagnostics/diagnostic.js';
import type { Mapping } from '../mapping/load.js';
import type { MapResult, ProvenanceEntry } from './engine.js';
import type { TemplateNode } from './template.js';

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

/**
 * The YAML position of the template element that builds (or would build) an element of a bundle, given as
 * FHIRPath (`Bundle.entry[0].resource.category[0].coding`): the deepest template node on that path in the
 * rule that built the entry. Used to point findings about missing elements at the rule responsible.
 */
export function templateSpanFor(mapping: Mapping, result: MapResult, expression: string): RuleSpan | undefined {
  const match = /^Bundle\.entry\[(\d+)\]\.resource((?:\.[^.[\]]+|\[\d+\])*)$/.exec(expression);
  if (!match) {
    return undefined;
  }
  const ruleId = result.entryRules?.[Number(match[1])];
  const rule = mapping.rules.find((r) => r.id === ruleId);
  if (!rule) {
    return undefined;
  }
  const names = (match[2] ?? '').split(/\.|\[\d+\]/).filter((name) => name !== '');
  let node: TemplateNode = rule.template;
  let span: RuleSpan = rule.span;
  for (const name of names) {
    const next = childNamed(node, name);
    if (!next) {
      break;
    }
    node = next;
    span = next.kind === 'expression' ? next.expression.span : next.span;
  }
  return span;
}

function childNamed(node: TemplateNode, name: string): TemplateNode | undefined {
  if (node.kind === 'object') {
    return node.entries.find(([key]) => key === name)?.[1];
  }
  if (node.kind === 'array') {
    for (const item of node.items) {
      const found = childNamed(item.node, name);
      if (found) {
        return found;
      }
    }
  }
  return undefined;
}
