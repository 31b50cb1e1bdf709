import type { AstNode } from '../expressions/ast.js';
import { functionName, identifierValue, params, variableName } from '../expressions/ast.js';
import { treeOf } from '../expressions/compile.js';
import type { CompiledExpression } from '../expressions/types.js';
import type { TemplateNode } from '../transform/template.js';
import type { KeyPart, Mapping } from './load.js';

/** One source path an expression of the mapping reads. */
export interface ReadPath {
  /** Member names from the record's root: `['patients', 'PatientNo']`, `['flags', 'aqi']`. */
  readonly segments: readonly string[];
  /** The expression that reads it. */
  readonly expression: CompiledExpression;
}

/** A path as the mapping language writes it: `flags.aqi`, ``resources.`Unit 1 Arrived` ``. */
export const fieldPathText = (segments: readonly string[]): string =>
  segments.map((segment) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment) ? segment : `\`${segment.replace(/`/g, '\\`')}\``)).join('.');

/**
 * What a collection holds, as far as the mapping's text tells: source values found at these paths from the
 * record's root (keyed by their segments joined with NUL), or undefined for anything else (constants, the
 * results of functions).
 */
type Shape = ReadonlyMap<string, readonly string[]> | undefined;

const keyOf = (segments: readonly string[]): string => segments.join('\u0000');
const rootShape: Shape = new Map([[keyOf([]), []]]);

function union(a: Shape, b: Shape): Shape {
  if (a === undefined || b === undefined) {
    return a ?? b;
  }
  return new Map([...a, ...b]);
}

/** Functions whose argument is evaluated for each item of their input, which is then `$this`. */
const perItem = new Set(['where', 'select', 'exists', 'all', 'repeat', 'aggregate', 'sort', 'iif', 'coalesce', 'trace', 'defineVariable']);
/** Functions whose result holds items of their input. */
const keepsItems = new Set(['where', 'first', 'last', 'tail', 'skip', 'take', 'single', 'distinct', 'intersect', 'exclude', 'sort', 'trace', 'defineVariable', 'ofType', 'as']);
/** Functions whose result holds items of their input and of their argument. */
const joinsItems = new Set(['union', 'combine']);

/**
 * Follows one expression's tree and records every member path it reads from the record: from the context
 * item, from `%record` and from variables bound to source values, through `where`, `select`, `iif`, `$this`,
 * unions and functions that keep their items. Returns what the expression's result holds.
 */
class PathReader {
  constructor(
    private readonly expression: CompiledExpression,
    /** The context item (`$this` at the top, and `%context`). */
    private readonly context: Shape,
    private readonly scope: ReadonlyMap<string, Shape>,
    private readonly read: (segments: readonly string[], expression: CompiledExpression) => void,
  ) {}

  run(): Shape {
    return this.node(treeOf(this.expression), this.context);
  }

  private node(node: AstNode, self: Shape): Shape {
    const children = node.children ?? [];
    switch (node.type) {
      case 'EntireExpression':
      case 'TermExpression':
      case 'ParenthesizedTerm':
        return children[0] === undefined ? undefined : this.node(children[0], self);
      case 'InvocationTerm':
        return children[0] === undefined ? undefined : this.invoke(children[0], self, self);
      case 'InvocationExpression': {
        const [left, invocation] = children;
        const input = left === undefined ? undefined : this.node(left, self);
        return invocation === undefined ? undefined : this.invoke(invocation, input, self);
      }
      case 'ExternalConstantTerm': {
        const name = variableName(node);
        return name === 'context' ? this.context : name === 'record' ? rootShape : this.scope.get(name);
      }
      case 'UnionExpression':
        return union(children[0] === undefined ? undefined : this.node(children[0], self), children[1] === undefined ? undefined : this.node(children[1], self));
      case 'IndexerExpression': {
        const items = children[0] === undefined ? undefined : this.node(children[0], self);
        if (children[1] !== undefined) {
          this.node(children[1], self);
        }
        return items;
      }
      case 'TypeExpression': {
        const value = children[0] === undefined ? undefined : this.node(children[0], self);
        return node.text === 'as' ? value : undefined;
      }
      default:
        for (const child of children) {
          this.node(child, self);
        }
        return undefined;
    }
  }

  /** An invocation applied to `input`, with `self` as `$this` for the arguments of functions that are not per item. */
  private invoke(invocation: AstNode, input: Shape, self: Shape): Shape {
    switch (invocation.type) {
      case 'MemberInvocation': {
        if (input === undefined) {
          return undefined;
        }
        const name = identifierValue(invocation.children?.[0] ?? invocation);
        const out = new Map<string, readonly string[]>();
        for (const segments of input.values()) {
          const path = [...segments, name];
          this.read(path, this.expression);
          out.set(keyOf(path), path);
        }
        return out;
      }
      case 'ThisInvocation':
        return self;
      case 'FunctionInvocation': {
        const name = functionName(invocation);
        const args = params(invocation);
        const argumentSelf = perItem.has(name) ? input : self;
        const shapes = args.map((arg) => this.node(arg, argumentSelf));
        if (name === 'select') {
          return shapes[0];
        }
        if (name === 'iif') {
          return union(shapes[1], shapes[2]);
        }
        if (name === 'repeat') {
          return union(input, shapes[0]);
        }
        if (joinsItems.has(name)) {
          return union(input, shapes[0]);
        }
        return keepsItems.has(name) ? input : undefined;
      }
      default:
        return undefined;
    }
  }
}

const readPathsCache = new WeakMap<Mapping, readonly ReadPath[]>();

/**
 * Every source path the mapping reads, with the expression reading it: in `forEach`, `as`, `let`, `when`,
 * keys, templates (`$when`, `$forEach`, `$as`), the bundle and the document. A path reached through a `forEach`
 * item or a variable is written from the record's root (`patients.PatientNo`). Computed once per mapping.
 */
export function readPathsOf(mapping: Mapping): readonly ReadPath[] {
  let paths = readPathsCache.get(mapping);
  if (paths === undefined) {
    paths = collectReadPaths(mapping);
    readPathsCache.set(mapping, paths);
  }
  return paths;
}

function collectReadPaths(mapping: Mapping): ReadPath[] {
  const paths: ReadPath[] = [];
  const seen = new Set<string>();
  const read = (segments: readonly string[], expression: CompiledExpression): void => {
    const id = `${expression.span.file}:${expression.span.line}:${expression.span.column}\u0000${keyOf(segments)}`;
    if (!seen.has(id)) {
      seen.add(id);
      paths.push({ segments, expression });
    }
  };
  const analyse = (expression: CompiledExpression | undefined, context: Shape, scope: ReadonlyMap<string, Shape>): Shape =>
    expression === undefined ? undefined : new PathReader(expression, context, scope, read).run();
  const key = (parts: readonly KeyPart[] | undefined, context: Shape, scope: ReadonlyMap<string, Shape>): void => {
    for (const part of parts ?? []) {
      if (part.kind === 'expression') {
        analyse(part.expression, context, scope);
      }
    }
  };
  const walk = (node: TemplateNode | undefined, context: Shape, scope: ReadonlyMap<string, Shape>): void => {
    switch (node?.kind) {
      case 'expression':
        analyse(node.expression, context, scope);
        return;
      case 'object':
        analyse(node.when, context, scope);
        for (const [, child] of node.entries) {
          walk(child, context, scope);
        }
        return;
      case 'array':
        for (const item of node.items) {
          if (item.forEach) {
            const items = analyse(item.forEach, context, scope);
            walk(item.node, items, item.as === undefined ? scope : new Map([...scope, [item.as, items]]));
          } else {
            walk(item.node, context, scope);
          }
        }
        return;
      case 'literal':
      case undefined:
        return;
    }
  };
  const recordScope: ReadonlyMap<string, Shape> = new Map();
  for (const rule of mapping.rules) {
    const context = rule.forEach ? analyse(rule.forEach, rootShape, recordScope) : rootShape;
    const scope = new Map(recordScope);
    if (rule.as !== undefined) {
      scope.set(rule.as, context);
    }
    for (const [name, expression] of rule.let) {
      scope.set(name, analyse(expression, context, scope));
    }
    analyse(rule.when, context, scope);
    key(rule.key, context, scope);
    walk(rule.template, context, scope);
  }
  key([mapping.bundle.type], rootShape, recordScope);
  key(mapping.bundle.key, rootShape, recordScope);
  walk(mapping.bundle.template, rootShape, recordScope);
  key(mapping.document?.key, rootShape, recordScope);
  walk(mapping.document?.template, rootShape, recordScope);
  return paths;
}
