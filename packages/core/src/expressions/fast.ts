import type { BoundFunctions } from './cadmap-functions.js';
import { joinKey, joinKeyPair } from '../bundle/ids.js';
import { keyPartText } from '../functions/identifiers.js';
import type { AstNode } from './ast.js';
import { functionName, identifierValue, params, stringLiteralValue, variableName } from './ast.js';
import type { EvalSink, EvalVariables } from './types.js';

/** What closures see while evaluating: variables, the sink and the root collection (%context). */
export interface Runtime {
  readonly vars: EvalVariables;
  readonly sink: EvalSink;
  readonly root: readonly unknown[];
}

/** A compiled expression: `self` is the FHIRPath `$this` collection the expression is evaluated against. */
export type Closure = (self: readonly unknown[], rt: Runtime) => unknown[];

/** A compiled invocation step: applied to the collection on its left, with `$this` for its arguments. */
type Step = (input: readonly unknown[], self: readonly unknown[], rt: Runtime) => unknown[];

/** Thrown for FHIRPath runtime errors in closures (turned into MAP_EVAL_ERROR by evaluate). */
export class FastEvalError extends Error {
  override readonly name = 'FastEvalError';
}

const empty = (): unknown[] => [];

/**
 * Compiles the fast subset of FHIRPath to closures, or returns undefined when the expression uses anything
 * outside it (the caller then uses fhirpath.js). Validation has already happened.
 */
export function compileFast(root: AstNode, functions: BoundFunctions): Closure | undefined {
  try {
    return compileNode(root, functions);
  } catch (error) {
    if (error instanceof Unsupported) {
      return undefined;
    }
    throw error;
  }
}

class Unsupported extends Error {}

const unsupported = (): never => {
  throw new Unsupported();
};

function child(node: AstNode, index: number): AstNode {
  return node.children?.[index] ?? unsupported();
}

function compileNode(node: AstNode, fns: BoundFunctions): Closure {
  switch (node.type) {
    case 'EntireExpression':
    case 'TermExpression':
    case 'ParenthesizedTerm':
      return compileNode(child(node, 0), fns);
    case 'InvocationTerm': {
      const step = compileStep(child(node, 0), fns);
      return (self, rt) => step(self, self, rt);
    }
    case 'InvocationExpression': {
      const left = compileNode(child(node, 0), fns);
      const invocation = child(node, 1);
      if (invocation.type === 'MemberInvocation') {
        const key = identifierValue(child(invocation, 0));
        return (self, rt) => member(left(self, rt), key);
      }
      const step = compileStep(invocation, fns);
      return (self, rt) => step(left(self, rt), self, rt);
    }
    case 'LiteralTerm':
      return compileLiteral(child(node, 0));
    case 'ExternalConstantTerm': {
      const name = variableName(node);
      if (name === 'context') {
        return (_self, rt) => rt.root.slice();
      }
      if (name === 'ucum') {
        return () => ['http://unitsofmeasure.org'];
      }
      return (_self, rt) => asCollection(rt.vars[name]);
    }
    case 'PolarityExpression': {
      const operand = compileNode(child(node, 0), fns);
      const negate = node.text === '-';
      return (self, rt) => {
        const value = operand(self, rt);
        const first = value[0];
        if (value.length !== 1 || typeof first !== 'number' || Number.isNaN(first)) {
          throw new FastEvalError(`unary ${node.text ?? ''} needs one number`);
        }
        return [negate ? -first : first];
      };
    }
    case 'EqualityExpression':
      return compileEquality(node, fns);
    case 'InequalityExpression':
      return compileInequality(node, fns);
    case 'AndExpression':
    case 'OrExpression':
    case 'ImpliesExpression':
      return compileLogic(node, fns);
    case 'AdditiveExpression':
    case 'MultiplicativeExpression':
      return compileArithmetic(node, fns);
    case 'UnionExpression': {
      const left = compileNode(child(node, 0), fns);
      const right = compileNode(child(node, 1), fns);
      return (self, rt) => distinct([...left(self, rt), ...right(self, rt)]);
    }
    case 'IndexerExpression': {
      const collection = compileNode(child(node, 0), fns);
      const index = compileNode(child(node, 1), fns);
      return (self, rt) => {
        const items = collection(self, rt);
        const at = index(self, rt);
        if (at.length === 0) {
          return [];
        }
        const n = Number.parseInt(String(at[0]), 10);
        return n >= 0 && n < items.length ? [items[n]] : [];
      };
    }
    default:
      return unsupported();
  }
}

function compileLiteral(literal: AstNode): Closure {
  switch (literal.type) {
    case 'StringLiteral': {
      const value = stringLiteralValue(literal.text ?? "''");
      return () => [value];
    }
    case 'NumberLiteral': {
      const text = literal.text ?? '';
      // Decimal literals keep their written precision in fhirpath.js (1.0.toString() is '1.0'): leave them to it.
      if (text.includes('.')) {
        return unsupported();
      }
      const value = Number(text);
      return () => [value];
    }
    case 'BooleanLiteral': {
      const value = literal.text === 'true';
      return () => [value];
    }
    case 'NullLiteral':
      return empty;
    default:
      return unsupported();
  }
}

/** Member access on each item: null and missing values are absent, arrays are flattened. */
export function member(input: readonly unknown[], key: string): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < input.length; i++) {
    const item = input[i];
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      pushValue(out, (item as Record<string, unknown>)[key]);
    }
  }
  return out;
}

function pushValue(out: unknown[], value: unknown): void {
  if (value === undefined || value === null || typeof value === 'function') {
    return;
  }
  if (Array.isArray(value)) {
    for (const element of value) {
      if (element !== undefined && element !== null) {
        out.push(element);
      }
    }
  } else {
    out.push(value);
  }
}

/** A variable's value as a collection. */
export function asCollection(value: unknown): unknown[] {
  if (value === undefined || value === null) {
    return [];
  }
  return Array.isArray(value) ? (value as unknown[]) : [value];
}

function compileEquality(node: AstNode, fns: BoundFunctions): Closure {
  const left = compileNode(child(node, 0), fns);
  const right = compileNode(child(node, 1), fns);
  if (node.text === '=') {
    return (self, rt) => {
      const a = left(self, rt);
      const b = right(self, rt);
      return a.length === 0 || b.length === 0 ? [] : [collectionsEqual(a, b)];
    };
  }
  if (node.text === '!=') {
    return (self, rt) => {
      const a = left(self, rt);
      const b = right(self, rt);
      return a.length === 0 || b.length === 0 ? [] : [!collectionsEqual(a, b)];
    };
  }
  return unsupported();
}

function collectionsEqual(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) {
    return false;
  }
  for (let i = 0; i < a.length; i++) {
    if (!valuesEqual(a[i], b[i])) {
      return false;
    }
  }
  return true;
}

/** FHIRPath equality of two items: same type and value; objects compared property by property. */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return false;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && collectionsEqual(a, b);
  }
  // a member holding undefined (an empty CSV cell) is absent, as a missing one is
  const aKeys = definedKeys(a as Record<string, unknown>);
  const bKeys = definedKeys(b as Record<string, unknown>);
  if (aKeys.length !== bKeys.length) {
    return false;
  }
  for (const key of aKeys) {
    if (!Object.hasOwn(b, key) || !valuesEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}

const definedKeys = (value: Record<string, unknown>): string[] => Object.keys(value).filter((key) => value[key] !== undefined);

function singletonOf(collection: readonly unknown[], what: string): unknown {
  if (collection.length > 1) {
    throw new FastEvalError(`${what} expects one value, got ${collection.length}`);
  }
  return collection[0];
}

function compileInequality(node: AstNode, fns: BoundFunctions): Closure {
  const left = compileNode(child(node, 0), fns);
  const right = compileNode(child(node, 1), fns);
  const op = node.text;
  const test =
    op === '<'
      ? (x: number) => x < 0
      : op === '>'
        ? (x: number) => x > 0
        : op === '<='
          ? (x: number) => x <= 0
          : op === '>='
            ? (x: number) => x >= 0
            : unsupported();
  return (self, rt) => {
    const a = left(self, rt);
    const b = right(self, rt);
    if (a.length === 0 || b.length === 0) {
      return [];
    }
    const x = singletonOf(a, op ?? '');
    const y = singletonOf(b, op ?? '');
    const tx = typeof x;
    if ((tx === 'string' || tx === 'number' || tx === 'boolean') && tx === typeof y) {
      return [test((x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0)];
    }
    throw new FastEvalError(`cannot compare ${JSON.stringify(x)} with ${JSON.stringify(y)}`);
  };
}

/** FHIRPath singleton evaluation as Boolean: undefined for empty, the boolean, or true for any other single item. */
function toBoolean(collection: readonly unknown[], what: string): boolean | undefined {
  if (collection.length === 0) {
    return undefined;
  }
  const value = singletonOf(collection, what);
  return typeof value === 'boolean' ? value : true;
}

function compileLogic(node: AstNode, fns: BoundFunctions): Closure {
  const left = compileNode(child(node, 0), fns);
  const right = compileNode(child(node, 1), fns);
  const op = node.text ?? '';
  const combine: (a: boolean | undefined, b: boolean | undefined) => boolean | undefined =
    op === 'and'
      ? (a, b) => (a === false || b === false ? false : a === undefined || b === undefined ? undefined : true)
      : op === 'or'
        ? (a, b) => (a === true || b === true ? true : a === undefined || b === undefined ? undefined : false)
        : op === 'xor'
          ? (a, b) => (a === undefined || b === undefined ? undefined : a !== b)
          : op === 'implies'
            ? (a, b) => (a === false ? true : b === true ? true : a === undefined || b === undefined ? undefined : b)
            : unsupported();
  return (self, rt) => {
    const a = toBoolean(left(self, rt), op);
    const b = toBoolean(right(self, rt), op);
    const result = combine(a, b);
    return result === undefined ? [] : [result];
  };
}

function compileArithmetic(node: AstNode, fns: BoundFunctions): Closure {
  const left = compileNode(child(node, 0), fns);
  const right = compileNode(child(node, 1), fns);
  const op = node.text ?? '';
  if (op === '&') {
    return (self, rt) => {
      const a = stringOrEmpty(left(self, rt), '&');
      const b = stringOrEmpty(right(self, rt), '&');
      return [a + b];
    };
  }
  if (op !== '+' && op !== '-' && op !== '*' && op !== '/') {
    return unsupported();
  }
  return (self, rt) => {
    const a = left(self, rt);
    const b = right(self, rt);
    if (a.length === 0 || b.length === 0) {
      return [];
    }
    if (a.length > 1 || b.length > 1) {
      throw new FastEvalError(`${op} expects one value on each side`);
    }
    const x = a[0];
    const y = b[0];
    if (op === '+' && typeof x === 'string' && typeof y === 'string') {
      return [x + y];
    }
    if (typeof x !== 'number' || typeof y !== 'number') {
      throw new FastEvalError(`cannot compute ${JSON.stringify(x)} ${op} ${JSON.stringify(y)}`);
    }
    switch (op) {
      case '+':
        return [x + y];
      case '-':
        return [x - y];
      case '*':
        return [x * y];
      case '/':
        return y === 0 ? [] : [x / y];
    }
  };
}

function stringOrEmpty(collection: readonly unknown[], what: string): string {
  const value = singletonOf(collection, what);
  if (value === undefined) {
    return '';
  }
  if (typeof value !== 'string') {
    throw new FastEvalError(`${what} expects a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Singleton string input of a string function: undefined for empty. */
function stringInput(input: readonly unknown[], name: string): string | undefined {
  const value = singletonOf(input, `${name}()`);
  if (value === undefined || typeof value === 'string') {
    return value;
  }
  throw new FastEvalError(`${name}() expects a string, got ${JSON.stringify(value)}`);
}

/** A String argument: evaluated against $this, one string or empty. */
function stringArg(arg: Closure, name: string): (self: readonly unknown[], rt: Runtime) => string | undefined {
  return (self, rt) => {
    const value = singletonOf(arg(self, rt), `${name}()`);
    if (value === undefined || typeof value === 'string') {
      return value;
    }
    throw new FastEvalError(`${name}() expects a string argument, got ${JSON.stringify(value)}`);
  };
}

function integerArg(arg: Closure, name: string): (self: readonly unknown[], rt: Runtime) => number | undefined {
  return (self, rt) => {
    const value = singletonOf(arg(self, rt), `${name}()`);
    if (value === undefined || (typeof value === 'number' && Number.isInteger(value))) {
      return value;
    }
    throw new FastEvalError(`${name}() expects an integer argument, got ${JSON.stringify(value)}`);
  };
}

function keepBy(condition: readonly unknown[]): boolean {
  const first = condition[0];
  return first !== undefined && first !== null && first !== false;
}

/** Removes repeated items (FHIRPath equality), keeping the first of each. */
export function distinct(items: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    if (!out.some((seen) => valuesEqual(seen, item))) {
      out.push(item);
    }
  }
  return out;
}

const stringFunctions = new Map<string, (s: string) => unknown>([
  ['trim', (s) => s.trim()],
  ['upper', (s) => s.toUpperCase()],
  ['lower', (s) => s.toLowerCase()],
  ['length', (s) => s.length],
]);

function compileStep(node: AstNode, fns: BoundFunctions): Step {
  if (node.type === 'MemberInvocation') {
    const key = identifierValue(child(node, 0));
    return (input) => member(input, key);
  }
  if (node.type === 'ThisInvocation') {
    return (_input, self) => self.slice();
  }
  if (node.type !== 'FunctionInvocation') {
    return unsupported();
  }
  const name = functionName(node);
  const args = params(node);
  const arg = (i: number): Closure => compileNode(args[i] ?? unsupported(), fns);
  const stringFunction = stringFunctions.get(name);
  if (stringFunction) {
    return (input) => {
      const s = stringInput(input, name);
      return s === undefined ? [] : [stringFunction(s)];
    };
  }
  switch (name) {
    case 'where': {
      const criterion = arg(0);
      const scalar = args[0] ? pureScalar(args[0], fns)?.evaluate : undefined;
      if (scalar) {
        return (input, _self, rt) => {
          const out: unknown[] = [];
          for (let i = 0; i < input.length; i++) {
            const item = input[i];
            const keep = scalar(item, rt.vars);
            if (keep === SEVERAL ? keepBy(criterion([item], rt)) : keep !== undefined && keep !== null && keep !== false) {
              out.push(item);
            }
          }
          return out;
        };
      }
      return (input, _self, rt) => input.filter((item) => keepBy(criterion([item], rt)));
    }
    case 'select': {
      const projection = arg(0);
      return (input, _self, rt) => {
        const out: unknown[] = [];
        for (const item of input) {
          out.push(...projection([item], rt));
        }
        return out;
      };
    }
    case 'exists': {
      if (args.length === 0) {
        return (input) => [input.length > 0];
      }
      const criterion = arg(0);
      return (input, _self, rt) => [input.some((item) => keepBy(criterion([item], rt)))];
    }
    case 'empty':
      return (input) => [input.length === 0];
    case 'first':
      return (input) => (input.length > 0 ? [input[0]] : []);
    case 'last':
      return (input) => (input.length > 0 ? [input[input.length - 1]] : []);
    case 'count':
      return (input) => [input.length];
    case 'distinct':
      return (input) => distinct(input);
    case 'not':
      return (input) => {
        const value = toBoolean(input, 'not()');
        return value === undefined ? [] : [!value];
      };
    case 'iif': {
      const criterion = arg(0);
      const whenTrue = arg(1);
      const otherwise = args.length > 2 ? arg(2) : undefined;
      return (input, _self, rt) => {
        const condition = criterion(input, rt);
        if (condition.length === 1 && condition[0] === true) {
          return whenTrue(input, rt);
        }
        return otherwise ? otherwise(input, rt) : [];
      };
    }
    case 'substring': {
      const start = integerArg(arg(0), name);
      const length = args.length > 1 ? integerArg(arg(1), name) : undefined;
      return (input, self, rt) => {
        const from = start(self, rt);
        const count = length?.(self, rt);
        const s = stringInput(input, name);
        if (s === undefined || from === undefined || from < 0 || from >= s.length) {
          return [];
        }
        return [count === undefined ? s.substring(from) : s.substring(from, from + count)];
      };
    }
    case 'replace': {
      const pattern = stringArg(arg(0), name);
      const replacement = stringArg(arg(1), name);
      return (input, self, rt) => {
        const p = pattern(self, rt);
        const r = replacement(self, rt);
        const s = stringInput(input, name);
        return s === undefined || p === undefined || r === undefined ? [] : [s.replaceAll(p, r)];
      };
    }
    case 'startsWith':
    case 'contains': {
      const other = stringArg(arg(0), name);
      const test = name === 'startsWith' ? (s: string, o: string) => s.startsWith(o) : (s: string, o: string) => s.includes(o);
      return (input, self, rt) => {
        const o = other(self, rt);
        const s = stringInput(input, name);
        return s === undefined || o === undefined ? [] : [test(s, o)];
      };
    }
    case 'join': {
      const separator = args.length > 0 ? stringArg(arg(0), name) : undefined;
      return (input, self, rt) => {
        const sep = separator?.(self, rt) ?? '';
        const parts: string[] = [];
        for (const item of input) {
          if (typeof item !== 'string') {
            throw new FastEvalError('join() needs a collection of strings');
          }
          parts.push(item);
        }
        return parts.length === 0 ? [] : [parts.join(sep)];
      };
    }
    case 'toString':
    case 'toInteger':
    case 'toDecimal':
    case 'toBoolean': {
      const convert = fns.convert(name);
      return (input, _self, rt) => {
        const item = singletonOf(input, `${name}()`);
        const value = item === undefined ? undefined : convert(item, rt.sink);
        return value === undefined ? [] : [value];
      };
    }
    default:
      return compileCadmapStep(name, args, fns);
  }
}

function compileCadmapStep(name: string, args: readonly AstNode[], fns: BoundFunctions): Step {
  const literal = (i: number): string => {
    const node = args[i];
    const value = node ? literalString(node) : undefined;
    return value ?? unsupported();
  };
  const mapItems =
    (map: (item: unknown, sink: EvalSink) => unknown): Step =>
    (input, _self, rt) => {
      const out: unknown[] = [];
      for (let i = 0; i < input.length; i++) {
        const value = map(input[i], rt.sink);
        if (value !== undefined) {
          out.push(value);
        }
      }
      return out;
    };
  switch (name) {
    case 'dateTime':
    case 'date':
      return mapItems(fns.withArgument(name, args.length > 0 ? literal(0) : undefined));
    case 'translate':
    case 'coding':
      return mapItems(fns.withArgument(name, literal(0)));
    case 'nhsNumber':
      return mapItems((item, sink) => fns.nhsNumber(item, sink));
    case 'isNhsNumber':
      return mapItems((item) => fns.isNhsNumber(item));
    case 'postcode':
      return mapItems((item, sink) => fns.postcode(item, sink));
    case 'odsCode':
      return mapItems((item, sink) => fns.odsCode(item, sink));
    case 'uuid5':
      return mapItems((item, sink) => fns.uuid5(item, sink));
    case 'ref': {
      const ruleId = literal(0);
      const keys = args.slice(1).map((node) => compileNode(node, fns));
      return (_input, self, rt) => {
        const result = fns.ref(
          ruleId,
          keys.map((key) => key(self, rt)),
          rt.sink,
        );
        return result === undefined ? [] : [result];
      };
    }
    default:
      return unsupported();
  }
}

/** The value of an argument written as a string literal, else undefined. */
export function literalString(node: AstNode): string | undefined {
  let current: AstNode | undefined = node;
  while (current && (current.type === 'TermExpression' || current.type === 'LiteralTerm')) {
    current = current.children?.[0];
  }
  return current?.type === 'StringLiteral' ? stringLiteralValue(current.text ?? "''") : undefined;
}

/**
 * What a scalar evaluator returns when the expression may have several values (an array met on the way):
 * the caller then evaluates the expression as a collection. Always returned before any cadmap function ran,
 * so evaluating again reports nothing twice.
 */
export const SEVERAL: unique symbol = Symbol('cadmap.several');

/**
 * An expression of the commonest shapes evaluated to one value without building collections: the value,
 * undefined when empty, or SEVERAL. Same results and reports as the closure.
 */
export type ScalarEvaluator = (item: unknown, vars: EvalVariables, sink: EvalSink) => unknown;

/** A scalar evaluator, and whether it can report (calls a cadmap function), so the caller sets up the sink. */
export interface ScalarExpression {
  readonly evaluate: ScalarEvaluator;
  readonly reports: boolean;
  /** For a member path (from the context item or a %variable) with what follows it, so callers can inline the path. */
  readonly path?: ScalarPath;
  /** The form's structure, for callers that generate code; `evaluate` is the reference for what it computes. */
  readonly plan?: ScalarPlan;
}

/**
 * The structure of a scalar form, part by part: each part gives one value, undefined (empty) or SEVERAL, as its
 * evaluator does. Only `chain` and `ref` call cadmap functions (and so may report); every other part is pure.
 */
export type ScalarPlan =
  | { readonly kind: 'literal'; readonly value: unknown }
  /** `keys` read from the context item (variable undefined) or from `%variable`, as `itemPath` / a chain's start does. */
  | { readonly kind: 'path'; readonly variable: string | undefined; readonly keys: readonly string[] }
  /** `keys` read from the value of `base` (e.g. `iif(…).a`), as `followFrom` does. */
  | { readonly kind: 'follow'; readonly base: ScalarPlan; readonly keys: readonly string[] }
  | { readonly kind: 'equality'; readonly left: ScalarPlan; readonly right: ScalarPlan; readonly negate: boolean }
  | { readonly kind: 'logic'; readonly op: 'and' | 'or' | 'xor' | 'implies'; readonly left: ScalarPlan; readonly right: ScalarPlan }
  | { readonly kind: 'iif'; readonly criterion: ScalarPlan; readonly whenTrue: ScalarPlan; readonly otherwise: ScalarPlan | undefined }
  /** `path.where(criterion).exists()` / `.empty()`: the criterion is evaluated with each item of the path as the context item. */
  | { readonly kind: 'whereTest'; readonly variable: string | undefined; readonly keys: readonly string[]; readonly criterion: ScalarPlan; readonly test: 'exists' | 'empty' }
  | { readonly kind: 'chain'; readonly chain: ChainPlan; readonly onError: OnError }
  /** `ref('rule', part)` or `ref('rule', part, part)` with the rule's fullUrl table. */
  | { readonly kind: 'ref'; readonly urls: { of(naturalKey: string): string }; readonly parts: readonly ChainPlan[]; readonly onError: OnError };

/** A pure base, then value steps applied while the value is present, then an optional `exists()` / `empty()`. */
export interface ChainPlan {
  readonly base: ScalarPlan;
  readonly steps: readonly ValueStep[];
  readonly test: 'exists' | 'empty' | undefined;
}

/**
 * `evaluate` split for inlining: read `keys` from the context item (or from `%variable`) as `member()` does on
 * one item (null, missing and function values absent; an array met: SEVERAL), then apply `rest` when given.
 */
export interface ScalarPath {
  readonly variable: string | undefined;
  readonly keys: readonly string[];
  /** The functions and `exists()`/`empty()` after the path (reports through the sink); never sees SEVERAL. */
  readonly rest: ((value: unknown, sink: EvalSink) => unknown) | undefined;
  /**
   * `rest` taken apart, for callers that generate code: each step maps a present value (stop at undefined),
   * then the final test; an exception from a step goes to `onError` and the result is undefined.
   */
  readonly steps: readonly ValueStep[];
  readonly test: 'exists' | 'empty' | undefined;
  readonly onError: OnError;
}

export type OnError = (sink: EvalSink, error: unknown) => void;
/** Maps one value (never undefined) to its result, undefined for none. */
export type ValueStep = (value: unknown, sink: EvalSink) => unknown;

/**
 * Compiles the scalar form of an expression, or undefined when it has none (the closure is used). Shapes:
 * member paths from the context or a %variable; literals; `=`/`!=`, `and`/`or`/`xor`/`implies` and `iif`
 * over those; any of these followed by cadmap value functions with literal arguments, toString/toInteger/
 * toDecimal/toBoolean, and a final `exists()`/`empty()`; `ref('rule', …)` over such chains.
 */
export function compileScalar(root: AstNode, fns: BoundFunctions, onError: OnError): ScalarExpression | undefined {
  try {
    return scalarNode(root, fns, onError);
  } catch (error) {
    if (error instanceof Unsupported) {
      return undefined;
    }
    throw error;
  }
}

/** The scalar form of a criterion when it is pure (for `where`), else undefined. */
function pureScalar(node: AstNode, fns: BoundFunctions): PureForm | undefined {
  const scalar = compileScalar(node, fns, () => undefined);
  return scalar && !scalar.reports ? { evaluate: scalar.evaluate as Pure, plan: scalar.plan } : undefined;
}

/** A scalar form that never reports nor throws (so SEVERAL may come from any part of it). */
type Pure = (item: unknown, vars: EvalVariables) => unknown;

/** A pure scalar form and its structure (undefined when some part has none). */
interface PureForm {
  readonly evaluate: Pure;
  readonly plan: ScalarPlan | undefined;
}

function pure(node: AstNode, fns: BoundFunctions, onError: OnError): PureForm {
  const scalar = scalarNode(node, fns, onError) ?? unsupported();
  return scalar.reports ? unsupported() : { evaluate: scalar.evaluate as Pure, plan: scalar.plan };
}

/** `make` applied to the plans of the parts, or undefined when a part has none. */
function planOf<const T extends readonly (ScalarPlan | undefined)[]>(parts: T, make: (...plans: { [K in keyof T]: ScalarPlan }) => ScalarPlan): ScalarPlan | undefined {
  return parts.every((part) => part !== undefined) ? make(...(parts as unknown as { [K in keyof T]: ScalarPlan })) : undefined;
}

function scalarNode(root: AstNode, fns: BoundFunctions, onError: OnError): ScalarExpression | undefined {
  const node = unwrap(root);
  switch (node.type) {
    case 'LiteralTerm': {
      const literal = child(node, 0);
      const value =
        literal.type === 'StringLiteral'
          ? stringLiteralValue(literal.text ?? "''")
          : literal.type === 'BooleanLiteral'
            ? literal.text === 'true'
            : literal.type === 'NumberLiteral' && !(literal.text ?? '.').includes('.')
              ? Number(literal.text)
              : unsupported();
      return { reports: false, evaluate: () => value, plan: { kind: 'literal', value } };
    }
    case 'EqualityExpression': {
      const leftForm = pure(child(node, 0), fns, onError);
      const rightForm = pure(child(node, 1), fns, onError);
      const negate = node.text === '!=' ? true : node.text === '=' ? false : unsupported();
      const left = leftForm.evaluate;
      const right = rightForm.evaluate;
      return {
        reports: false,
        ...withPlan(planOf([leftForm.plan, rightForm.plan], (a, b) => ({ kind: 'equality', left: a, right: b, negate }))),
        evaluate: (item, vars) => {
          const a = left(item, vars);
          const b = right(item, vars);
          if (a === SEVERAL || b === SEVERAL) {
            return SEVERAL;
          }
          return a === undefined || b === undefined ? undefined : valuesEqual(a, b) !== negate;
        },
      };
    }
    case 'AndExpression':
    case 'OrExpression':
    case 'ImpliesExpression': {
      const leftForm = pure(child(node, 0), fns, onError);
      const rightForm = pure(child(node, 1), fns, onError);
      const left = leftForm.evaluate;
      const right = rightForm.evaluate;
      const op = node.text;
      const combine: (a: boolean | undefined, b: boolean | undefined) => boolean | undefined =
        op === 'and'
          ? (a, b) => (a === false || b === false ? false : a === undefined || b === undefined ? undefined : true)
          : op === 'or'
            ? (a, b) => (a === true || b === true ? true : a === undefined || b === undefined ? undefined : false)
            : op === 'xor'
              ? (a, b) => (a === undefined || b === undefined ? undefined : a !== b)
              : op === 'implies'
                ? (a, b) => (a === false ? true : b === true ? true : a === undefined || b === undefined ? undefined : b)
                : unsupported();
      const logic = op as 'and' | 'or' | 'xor' | 'implies';
      return {
        reports: false,
        ...withPlan(planOf([leftForm.plan, rightForm.plan], (a, b) => ({ kind: 'logic', op: logic, left: a, right: b }))),
        evaluate: (item, vars) => {
          const a = left(item, vars);
          const b = right(item, vars);
          if (a === SEVERAL || b === SEVERAL) {
            return SEVERAL;
          }
          return combine(a === undefined ? undefined : typeof a === 'boolean' ? a : true, b === undefined ? undefined : typeof b === 'boolean' ? b : true);
        },
      };
    }
    case 'InvocationTerm': {
      const call = child(node, 0);
      if (call.type === 'FunctionInvocation' && functionName(call) === 'ref') {
        return scalarRef(call, fns, onError);
      }
      return scalarChain(node, fns, onError);
    }
    case 'InvocationExpression':
      return scalarWhereTest(node, fns) ?? scalarChain(node, fns, onError);
    case 'ExternalConstantTerm':
      return scalarChain(node, fns, onError);
    default:
      return undefined;
  }
}

/**
 * `path.where(criterion).exists()` (or `.empty()`) with a pure criterion: stops at the first item kept and
 * allocates nothing. SEVERAL when the criterion is SEVERAL for an item (the collection form decides then).
 */
function scalarWhereTest(node: AstNode, fns: BoundFunctions): ScalarExpression | undefined {
  const [filtered, testCall] = node.children ?? [];
  const test = testCall?.type === 'FunctionInvocation' && params(testCall).length === 0 ? functionName(testCall) : undefined;
  if (filtered === undefined || (test !== 'exists' && test !== 'empty')) {
    return undefined;
  }
  const where = unwrap(filtered);
  const [collection, whereCall] = where.type === 'InvocationExpression' ? (where.children ?? []) : [];
  const criterion = whereCall?.type === 'FunctionInvocation' && functionName(whereCall) === 'where' ? params(whereCall) : [];
  const path = collection ? memberPath(collection) : undefined;
  const keepForm = criterion.length === 1 ? pureScalar(criterion[0]!, fns) : undefined;
  if (!path || !keepForm) {
    return undefined;
  }
  const { variable, keys } = path;
  const keep = keepForm.evaluate;
  return {
    reports: false,
    ...withPlan(planOf([keepForm.plan], (plan) => ({ kind: 'whereTest', variable, keys, criterion: plan, test }))),
    evaluate: (item, vars) => {
      const items = memberPathItems(variable === undefined ? item : vars[variable], keys);
      for (let i = 0; i < items.length; i++) {
        const kept = keep(items[i], vars);
        if (kept === SEVERAL) {
          return SEVERAL;
        }
        if (kept !== undefined && kept !== null && kept !== false) {
          return test === 'exists';
        }
      }
      return test === 'empty';
    },
  };
}

/**
 * The structure of the commonest collections that `forEach` and `let` name, for callers that generate code:
 * a member path from the context item or a %variable, and such a path filtered by a pure `where()` criterion
 * (evaluated with each item as the context item). The closures give the same collections.
 */
export type CollectionPlan =
  | { readonly kind: 'path'; readonly variable: string | undefined; readonly keys: readonly string[] }
  | { readonly kind: 'where'; readonly variable: string | undefined; readonly keys: readonly string[]; readonly criterion: ScalarPlan };

/** The collection plan of an expression, or undefined when it has none. */
export function collectionPlan(root: AstNode, fns: BoundFunctions): CollectionPlan | undefined {
  const path = memberPath(root);
  if (path) {
    return { kind: 'path', ...path };
  }
  const node = unwrap(root);
  const [collection, whereCall] = node.type === 'InvocationExpression' ? (node.children ?? []) : [];
  const criterion = whereCall?.type === 'FunctionInvocation' && functionName(whereCall) === 'where' ? params(whereCall) : [];
  const filtered = collection && criterion.length === 1 ? memberPath(collection) : undefined;
  const keep = filtered ? pureScalar(criterion[0]!, fns)?.plan : undefined;
  return filtered && keep ? { kind: 'where', ...filtered, criterion: keep } : undefined;
}

/**
 * The collection form of a plain member path (`a.b`, `%variable.a`), without the closure runtime: the same
 * values as the compiled closure, for the paths `forEach` and `let` most often name. Undefined for anything else.
 */
export function memberPathEvaluator(root: AstNode): ((context: unknown, vars: EvalVariables) => unknown[]) | undefined {
  const path = memberPath(root);
  if (!path) {
    return undefined;
  }
  const { variable, keys } = path;
  return (context, vars) => memberPathItems(variable === undefined ? context : vars[variable], keys);
}

/** The collection `keys` read from `start` (a value or a collection), as the member path's closure reads it. */
export function memberPathItems(start: unknown, keys: readonly string[]): unknown[] {
  const [only] = keys;
  if (only !== undefined && keys.length === 1 && typeof start === 'object' && start !== null && !Array.isArray(start)) {
    // one member of one item holding a list with no empty items: member() would copy it unchanged
    const value = (start as Record<string, unknown>)[only];
    if (Array.isArray(value) && allPresent(value)) {
      return value as unknown[];
    }
  }
  let items = asCollection(start);
  for (const key of keys) {
    items = member(items, key);
  }
  return items;
}

/** Whether no item of a list is undefined or null (holes included, which `every` would skip). */
function allPresent(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) {
    if (list[i] === undefined || list[i] === null) {
      return false;
    }
  }
  return true;
}

/** `a.b.c` or `%variable.a.b` as the variable (undefined for the context item) and the member names. */
function memberPath(root: AstNode): { readonly variable: string | undefined; readonly keys: readonly string[] } | undefined {
  const keys: string[] = [];
  let node = unwrap(root);
  while (node.type === 'InvocationExpression' && node.children?.length === 2 && node.children[1]!.type === 'MemberInvocation') {
    keys.unshift(identifierValue(child(node.children[1]!, 0)));
    node = unwrap(node.children[0]!);
  }
  if (node.type === 'InvocationTerm' && node.children?.[0]?.type === 'MemberInvocation') {
    return { variable: undefined, keys: [identifierValue(child(node.children[0], 0)), ...keys] };
  }
  if (node.type === 'ExternalConstantTerm') {
    const variable = variableName(node);
    return variable === 'context' || variable === 'ucum' ? undefined : { variable, keys };
  }
  return undefined;
}

function scalarRef(call: AstNode, fns: BoundFunctions, onError: OnError): ScalarExpression {
  const args = params(call);
  const ruleId = (args[0] ? literalString(args[0]) : undefined) ?? unsupported();
  const keys = args.slice(1).map((arg) => chainParts(arg, fns, onError));
  if (keys.length === 0) {
    return unsupported();
  }
  const urls = fns.fullUrlsOf(ruleId);
  const [only] = keys;
  const plan = (): Partial<Pick<ScalarExpression, 'plan'>> =>
    urls !== undefined && keys.every((key) => key.basePlan !== undefined)
      ? { plan: { kind: 'ref', urls, parts: keys.map((key) => ({ base: key.basePlan!, steps: key.steps, test: key.test })), onError } }
      : {};
  if (urls !== undefined && keys.length === 1 && only !== undefined) {
    // one key part: its text is the natural key (what `fns.ref` computes, without the arrays)
    return {
      reports: true,
      ...plan(),
      evaluate: (item, vars, sink) => {
        const start = only.base(item, vars);
        if (start === SEVERAL) {
          return SEVERAL;
        }
        try {
          const text = keyPartText(finish(only, start, sink));
          return text === undefined || text === '' ? undefined : urls.of(text);
        } catch (error) {
          onError(sink, error);
          return undefined;
        }
      },
    };
  }
  const [first, second] = keys;
  if (urls !== undefined && keys.length === 2 && first !== undefined && second !== undefined) {
    // two key parts (the commonest after one), without the arrays of the general case below
    return {
      reports: true,
      ...plan(),
      evaluate: (item, vars, sink) => {
        const a = first.base(item, vars);
        const b = a === SEVERAL ? SEVERAL : second.base(item, vars);
        if (b === SEVERAL) {
          return SEVERAL;
        }
        try {
          const textA = keyPartText(finish(first, a, sink));
          const textB = keyPartText(finish(second, b, sink));
          return textA === undefined || textA === '' || textB === undefined || textB === '' ? undefined : urls.of(joinKeyPair(textA, textB));
        } catch (error) {
          onError(sink, error);
          return undefined;
        }
      },
    };
  }
  // as `fns.ref`: every part is finished (and may report) before an empty one means no reference
  return {
    reports: true,
    evaluate: (item, vars, sink) => {
      const starts: unknown[] = [];
      for (const key of keys) {
        const start = key.base(item, vars);
        if (start === SEVERAL) {
          return SEVERAL;
        }
        starts.push(start);
      }
      try {
        const values = keys.map((key, i) => finish(key, starts[i], sink));
        if (urls === undefined) {
          return fns.ref(ruleId, values.map((value) => (value === undefined ? [] : [value])), sink);
        }
        const texts = values.map(keyPartText);
        return texts.every((text) => text !== undefined && text !== '') ? urls.of(joinKey(texts as string[])) : undefined;
      } catch (error) {
        onError(sink, error);
        return undefined;
      }
    },
  };
}

interface ChainParts {
  /** The value before any function: pure. */
  readonly base: Pure;
  readonly steps: readonly ValueStep[];
  /** `exists()` / `empty()` at the end. */
  readonly test: 'exists' | 'empty' | undefined;
  /** The base as a member path, when it is one. */
  readonly path?: { readonly variable: string | undefined; readonly keys: readonly string[] };
  /** The base's structure (undefined when a part of it has none). */
  readonly basePlan: ScalarPlan | undefined;
}

function scalarChain(node: AstNode, fns: BoundFunctions, onError: OnError): ScalarExpression {
  const chain = chainParts(node, fns, onError);
  const { base, test } = chain;
  const plan = planOf([chain.basePlan], (basePlan) => (chain.steps.length === 0 && test === undefined ? basePlan : { kind: 'chain', chain: { base: basePlan, steps: chain.steps, test }, onError }));
  const path = chain.path
    ? {
        path: {
          ...chain.path,
          steps: chain.steps,
          test,
          onError,
          rest:
            chain.steps.length > 0
              ? (value: unknown, sink: EvalSink): unknown => {
                  try {
                    return finish(chain, value, sink);
                  } catch (error) {
                    onError(sink, error);
                    return undefined;
                  }
                }
              : test === undefined
                ? undefined
                : (value: unknown): unknown => (test === 'exists' ? value !== undefined : value === undefined),
        },
      }
    : {};
  if (chain.steps.length === 0) {
    return {
      ...path,
      ...withPlan(plan),
      reports: false,
      evaluate:
        test === undefined
          ? base
          : (item, vars) => {
              const value = base(item, vars);
              return value === SEVERAL ? SEVERAL : test === 'exists' ? value !== undefined : value === undefined;
            },
    };
  }
  return {
    ...path,
    ...withPlan(plan),
    reports: true,
    evaluate: (item, vars, sink) => {
      const start = base(item, vars);
      if (start === SEVERAL) {
        return SEVERAL;
      }
      try {
        return finish(chain, start, sink);
      } catch (error) {
        onError(sink, error);
        return undefined;
      }
    },
  };
}

function finish(chain: ChainParts, start: unknown, sink: EvalSink): unknown {
  let value = start;
  for (const step of chain.steps) {
    if (value === undefined) {
      break;
    }
    value = step(value, sink);
  }
  return chain.test === undefined ? value : chain.test === 'exists' ? value !== undefined : value === undefined;
}

function unwrap(node: AstNode): AstNode {
  let current = node;
  while ((current.type === 'EntireExpression' || current.type === 'TermExpression' || current.type === 'ParenthesizedTerm') && current.children?.length === 1) {
    current = current.children[0]!;
  }
  return current;
}

/** Splits `base.member….fn()….exists()` into a pure base (path, %variable path or iif) and value steps. */
function chainParts(root: AstNode, fns: BoundFunctions, onError: OnError): ChainParts {
  const invocations: AstNode[] = [];
  let node = unwrap(root);
  while (node.type === 'InvocationExpression' && node.children?.length === 2) {
    invocations.unshift(node.children[1]!);
    node = unwrap(node.children[0]!);
  }
  let start: Pure | undefined;
  let startPlan: ScalarPlan | undefined;
  let fromItem = false;
  let variable: string | undefined;
  if (node.type === 'ExternalConstantTerm') {
    variable = variableName(node);
    if (variable === 'context' || variable === 'ucum') {
      return unsupported();
    }
    const name = variable;
    start = (_item, vars) => {
      const value = vars[name];
      return value === null ? undefined : Array.isArray(value) ? SEVERAL : value;
    };
  } else if (node.type === 'InvocationTerm' && node.children?.[0]?.type === 'MemberInvocation') {
    invocations.unshift(node.children[0]);
    fromItem = true;
  } else if (node.type === 'InvocationTerm' && node.children?.[0]?.type === 'FunctionInvocation' && functionName(node.children[0]) === 'iif') {
    const iif = scalarIif(node.children[0], fns, onError);
    start = iif.evaluate;
    startPlan = iif.plan;
  } else {
    return unsupported();
  }
  const keys: string[] = [];
  const steps: ValueStep[] = [];
  let test: 'exists' | 'empty' | undefined;
  for (const invocation of invocations) {
    if (test !== undefined) {
      return unsupported();
    }
    if (invocation.type === 'MemberInvocation') {
      if (steps.length > 0) {
        return unsupported();
      }
      keys.push(identifierValue(child(invocation, 0)));
      continue;
    }
    if (invocation.type !== 'FunctionInvocation') {
      return unsupported();
    }
    const name = functionName(invocation);
    const args = params(invocation);
    if ((name === 'exists' || name === 'empty') && args.length === 0) {
      test = name;
      continue;
    }
    steps.push(valueStep(name, args, fns));
  }
  const path = fromItem || variable !== undefined ? { path: { variable, keys } } : {};
  const basePlan: ScalarPlan | undefined =
    fromItem || variable !== undefined ? { kind: 'path', variable, keys } : planOf([startPlan], (plan) => (keys.length === 0 ? plan : { kind: 'follow', base: plan, keys }));
  return { base: fromItem ? itemPath(keys) : followFrom(start!, keys), steps, test, ...path, basePlan };
}

/** `iif(criterion, a, b)` with pure parts, as a base value. */
function scalarIif(call: AstNode, fns: BoundFunctions, onError: OnError): PureForm {
  const args = params(call);
  if (args.length < 2 || args.length > 3) {
    return unsupported();
  }
  const criterionForm = pure(args[0]!, fns, onError);
  const whenTrueForm = pure(args[1]!, fns, onError);
  const otherwiseForm = args[2] ? pure(args[2], fns, onError) : undefined;
  const criterion = criterionForm.evaluate;
  const whenTrue = whenTrueForm.evaluate;
  const otherwise = otherwiseForm?.evaluate;
  const plan =
    otherwiseForm === undefined
      ? planOf([criterionForm.plan, whenTrueForm.plan], (c, t) => ({ kind: 'iif', criterion: c, whenTrue: t, otherwise: undefined }))
      : planOf([criterionForm.plan, whenTrueForm.plan, otherwiseForm.plan], (c, t, o) => ({ kind: 'iif', criterion: c, whenTrue: t, otherwise: o }));
  const evaluate: Pure = (item, vars) => {
    const condition = criterion(item, vars);
    if (condition === SEVERAL) {
      return SEVERAL;
    }
    return condition === true ? whenTrue(item, vars) : otherwise ? otherwise(item, vars) : undefined;
  };
  return { plan, evaluate };
}

/** `{ plan }` when there is one (optional properties are left out rather than set to undefined). */
const withPlan = (plan: ScalarPlan | undefined): Partial<Pick<ScalarExpression, 'plan'>> => (plan === undefined ? {} : { plan });

function valueStep(name: string, args: readonly AstNode[], fns: BoundFunctions): ValueStep {
  const literals = args.map((arg) => literalString(arg) ?? unsupported());
  const [first] = literals;
  const arity = (...allowed: number[]): void => {
    if (!allowed.includes(args.length)) {
      unsupported();
    }
  };
  switch (name) {
    case 'dateTime':
    case 'date':
      arity(0, 1);
      return fns.withArgument(name, first);
    case 'translate':
    case 'coding':
      arity(1);
      return fns.withArgument(name, first);
    case 'nhsNumber':
      arity(0);
      return (value, sink) => fns.nhsNumber(value, sink);
    case 'isNhsNumber':
      arity(0);
      return (value) => fns.isNhsNumber(value);
    case 'postcode':
      arity(0);
      return (value, sink) => fns.postcode(value, sink);
    case 'odsCode':
      arity(0);
      return (value, sink) => fns.odsCode(value, sink);
    case 'uuid5':
      arity(0);
      return (value, sink) => fns.uuid5(value, sink);
    case 'toString':
    case 'toInteger':
    case 'toDecimal':
    case 'toBoolean':
      arity(0);
      return fns.convert(name);
    default:
      return unsupported();
  }
}

/** Member access from the context item as `member()` does it on one item: null, missing and function values are absent. */
function itemPath(keys: readonly string[]): Pure {
  if (keys.length === 1) {
    const key = keys[0]!;
    return (item) => {
      if (typeof item !== 'object' || item === null) {
        return undefined;
      }
      if (Array.isArray(item)) {
        return SEVERAL;
      }
      const value = (item as Record<string, unknown>)[key];
      if (value === undefined || value === null || typeof value === 'function') {
        return undefined;
      }
      return Array.isArray(value) ? SEVERAL : value;
    };
  }
  return followFrom((item) => (item === null ? undefined : Array.isArray(item) ? SEVERAL : item), keys);
}

/** Member access from a base value (one value, undefined or SEVERAL). */
function followFrom(base: Pure, keys: readonly string[]): Pure {
  if (keys.length === 0) {
    return base;
  }
  return (item, vars) => {
    let value = base(item, vars);
    if (value === SEVERAL) {
      return SEVERAL;
    }
    for (const key of keys) {
      if (typeof value !== 'object' || value === null) {
        return undefined;
      }
      value = (value as Record<string, unknown>)[key];
      if (value === undefined || value === null || typeof value === 'function') {
        return undefined;
      }
      if (Array.isArray(value)) {
        return SEVERAL;
      }
    }
    return value;
  };
}
