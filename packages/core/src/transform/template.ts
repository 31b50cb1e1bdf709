import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { Diagnostic, RuleSpan } from '../diagnostics/diagnostic.js';
import type { CompiledExpression } from '../expressions/types.js';
import type { YamlSpans } from '../mapping/yaml-spans.js';
import { compactString } from '../mapping/compact-strings.js';

/** A compiled template node. Literal subtrees are kept as values; expressions are compiled once. */
export type TemplateNode = LiteralNode | ExpressionNode | ObjectNode | ArrayNode;

export interface LiteralNode {
  readonly kind: 'literal';
  readonly value: unknown;
  readonly span: RuleSpan;
}

export interface ExpressionNode {
  readonly kind: 'expression';
  readonly expression: CompiledExpression;
  readonly span: RuleSpan;
}

export interface ObjectNode {
  readonly kind: 'object';
  readonly entries: readonly (readonly [string, TemplateNode])[];
  readonly when?: CompiledExpression;
  /**
   * True when the object holds expressions (directly or nested). Such an object is left out, literal parts and
   * all, when none of its expressions produced a value: `{ system: X, value: =empty }` is not emitted.
   */
  readonly dynamic: boolean;
  readonly span: RuleSpan;
}

export interface ArrayItem {
  readonly node: TemplateNode;
  /** `$forEach` on an object item: one output item per value, the value being the context. */
  readonly forEach?: CompiledExpression;
  readonly as?: string;
}

export interface ArrayNode {
  readonly kind: 'array';
  readonly items: readonly ArrayItem[];
  readonly span: RuleSpan;
}

export interface TemplateCompiler {
  readonly spans: YamlSpans;
  readonly ruleId: string | undefined;
  /** Compiles `text` (without '='), whose first character is at `span`. */
  compile(text: string, span: RuleSpan): CompiledExpression | undefined;
  /**
   * The value of an expression that depends only on the mapping's constants (no field, no `$this`, no record
   * variable), computed once at load time; undefined when it depends on the record or yields several values.
   */
  fold(expression: CompiledExpression): { readonly value: unknown } | undefined;
  /** Declares a forEach `$as` name for the expressions compiled inside it. */
  withVariable<T>(name: string, body: () => T): T;
  readonly diagnostics: Diagnostic[];
}

const directiveKeys = new Set(['$when', '$forEach', '$as']);

/** Compiles a YAML template node, keeping the position of every element for diagnostics and provenance. */
export function compileTemplate(node: Node, path: readonly (string | number)[], compiler: TemplateCompiler): TemplateNode {
  const extra = compiler.ruleId === undefined ? { yamlPath: pathText(path) } : { ruleId: compiler.ruleId, yamlPath: pathText(path) };
  const span = compiler.spans.ofNode(node, extra);
  if (isScalar(node)) {
    const value = typeof node.value === 'string' ? compactString(node.value) : node.value;
    if (typeof value === 'string' && value.startsWith('=')) {
      if (value.startsWith('==')) {
        return { kind: 'literal', value: value.slice(1), span };
      }
      const expressionSpan = compiler.spans.ofExpression(node, extra);
      const expression = compiler.compile(value.slice(1), expressionSpan);
      if (!expression) {
        return { kind: 'literal', value: undefined, span };
      }
      const folded = compiler.fold(expression);
      return folded ? { kind: 'literal', value: folded.value, span: expressionSpan } : { kind: 'expression', expression, span: expressionSpan };
    }
    return { kind: 'literal', value: value ?? undefined, span };
  }
  if (isSeq(node)) {
    const items: ArrayItem[] = [];
    node.items.forEach((item, index) => {
      const itemPath = [...path, index];
      if (isMap(item)) {
        const forEachNode = item.get('$forEach', true) as Node | undefined;
        if (forEachNode !== undefined) {
          const asNode = item.get('$as', true) as Node | undefined;
          const asName = isScalar(asNode) && typeof asNode.value === 'string' ? asNode.value : undefined;
          const forEach = compileDirective(forEachNode, [...itemPath, '$forEach'], compiler);
          const compileBody = (): TemplateNode => compileTemplate(item, itemPath, compiler);
          const body = asName !== undefined ? compiler.withVariable(asName, compileBody) : compileBody();
          items.push({ node: body, ...(forEach ? { forEach } : {}), ...(asName !== undefined ? { as: asName } : {}) });
          return;
        }
      }
      items.push({ node: compileTemplate(item as Node, itemPath, compiler) });
    });
    if (items.every((item) => item.forEach === undefined && isStatic(item.node))) {
      const values = items.map((item) => (item.node as LiteralNode).value).filter((value) => value !== undefined);
      return { kind: 'literal', value: values.length > 0 ? values : undefined, span };
    }
    return { kind: 'array', items, span };
  }
  if (isMap(node)) {
    const entries: (readonly [string, TemplateNode])[] = [];
    let when: CompiledExpression | undefined;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const valueNode = pair.value as Node | null;
      if (directiveKeys.has(key)) {
        if (key === '$when' && valueNode) {
          when = compileDirective(valueNode, [...path, key], compiler);
        } else if (key === '$as' && !(isScalar(valueNode) && typeof valueNode.value === 'string')) {
          compiler.diagnostics.push({
            code: 'MAP_SCHEMA',
            severity: 'error',
            message: '`$as` must be a name such as `contact`.',
            rule: compiler.spans.ofNode(valueNode ?? pair, extra),
          });
        }
        continue;
      }
      if (key.startsWith('$')) {
        compiler.diagnostics.push({
          code: 'MAP_SCHEMA',
          severity: 'error',
          message: `Unknown template directive '${key}'.`,
          hint: 'Template directives are $when, $forEach and $as. Quote keys that really start with "$".',
          rule: compiler.spans.ofNode(pair, extra),
        });
        continue;
      }
      if (valueNode === null) {
        continue;
      }
      entries.push([key, compileTemplate(valueNode, [...path, key], compiler)]);
    }
    const dynamic = entries.some(([, child]) => !isStatic(child));
    if (!dynamic && when === undefined) {
      return { kind: 'literal', value: literalValue(entries), span };
    }
    return { kind: 'object', entries, ...(when ? { when } : {}), dynamic, span };
  }
  return { kind: 'literal', value: undefined, span };
}

function compileDirective(node: Node, path: readonly (string | number)[], compiler: TemplateCompiler): CompiledExpression | undefined {
  const extra = compiler.ruleId === undefined ? { yamlPath: pathText(path) } : { ruleId: compiler.ruleId, yamlPath: pathText(path) };
  if (isScalar(node) && typeof node.value === 'string' && node.value.startsWith('=') && !node.value.startsWith('==')) {
    return compiler.compile(node.value.slice(1), compiler.spans.ofExpression(node, extra));
  }
  compiler.diagnostics.push({
    code: 'MAP_SCHEMA',
    severity: 'error',
    message: `${pathText(path)} must be an expression starting with "=".`,
    hint: 'For example `$forEach: =contacts` or `$when: =StopCode.exists()`.',
    rule: compiler.spans.ofNode(node, extra),
  });
  return undefined;
}

export function pathText(path: readonly (string | number)[]): string {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' || /^\d+$/.test(segment) ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  }
  return out;
}

function literalValue(entries: readonly (readonly [string, TemplateNode])[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let filled = false;
  for (const [name, child] of entries) {
    const value = (child as LiteralNode).value;
    if (value !== undefined) {
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      filled = true;
    }
  }
  return filled ? out : undefined;
}

/** Whether a template subtree contains no expression (so its value can be computed once). */
export function isStatic(node: TemplateNode): boolean {
  switch (node.kind) {
    case 'literal':
      return true;
    case 'expression':
      return false;
    case 'object':
      return node.when === undefined && node.entries.every(([, child]) => isStatic(child));
    case 'array':
      return node.items.every((item) => item.forEach === undefined && isStatic(item.node));
  }
}
