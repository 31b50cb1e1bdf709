import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { RuleSpan } from '../diagnostics/diagnostic.js';

/** Turns YAML node offsets into 1-based spans of one mapping file. */
export class YamlSpans {
  constructor(
    readonly file: string,
    private readonly lineCounter: LineCounter,
  ) {}

  at(offset: number, endOffset?: number, extra?: { ruleId?: string; yamlPath?: string }): RuleSpan {
    const start = this.lineCounter.linePos(offset);
    const span: { -readonly [K in keyof RuleSpan]: RuleSpan[K] } = { file: this.file, line: start.line, column: start.col };
    if (endOffset !== undefined) {
      const end = this.lineCounter.linePos(endOffset);
      span.endLine = end.line;
      span.endColumn = end.col;
    }
    if (extra?.ruleId !== undefined) {
      span.ruleId = extra.ruleId;
    }
    if (extra?.yamlPath !== undefined) {
      span.yamlPath = extra.yamlPath;
    }
    return span;
  }

  ofNode(node: Node | Pair | null | undefined, extra?: { ruleId?: string; yamlPath?: string }): RuleSpan {
    const range = rangeOf(node);
    return range ? this.at(range[0], range[1], extra) : { file: this.file, line: 1, column: 1, ...extra };
  }

  /** Span of the expression text inside a scalar that holds `=expr` (after the quote and the '='). */
  ofExpression(node: Node, extra?: { ruleId?: string; yamlPath?: string }): RuleSpan {
    const range = rangeOf(node);
    if (!range) {
      return this.ofNode(node, extra);
    }
    const quoted = isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE');
    return this.at(range[0] + (quoted ? 2 : 1), range[1], extra);
  }
}

function rangeOf(node: Node | Pair | null | undefined): readonly [number, number] | undefined {
  if (!node) {
    return undefined;
  }
  if (isPair(node)) {
    const key = node.key as Node | null;
    const value = node.value as Node | null;
    const start = key?.range?.[0] ?? value?.range?.[0];
    const end = value?.range?.[1] ?? key?.range?.[1];
    return start !== undefined && end !== undefined ? [start, end] : undefined;
  }
  const range = node.range;
  return range ? [range[0], range[1]] : undefined;
}

/**
 * The YAML node at a JSON-pointer-like path of segments, or the deepest existing ancestor.
 * With `keyOf`, a pair's key node is returned (to point at an unknown property name).
 */
export function nodeAtPath(
  doc: Document,
  segments: readonly string[],
  keyOf?: string,
): Node | undefined {
  let current: unknown = doc.contents;
  for (const segment of segments) {
    if (isMap(current)) {
      const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) {
        return current;
      }
      current = pair.value ?? pair.key;
    } else if (isSeq(current)) {
      const item = current.items[Number(segment)];
      if (item === undefined) {
        return current;
      }
      current = item;
    } else {
      return current as Node | undefined;
    }
  }
  if (keyOf !== undefined && isMap(current)) {
    const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === keyOf);
    if (pair && isScalar(pair.key)) {
      return pair.key;
    }
  }
  return (current as Node | null | undefined) ?? undefined;
}

/** `resources[2].template.sent` from path segments. */
export function yamlPathOf(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number' || /^\d+$/.test(segment)) {
      out += `[${segment}]`;
    } else {
      out += out === '' ? segment : `.${segment}`;
    }
  }
  return out;
}
