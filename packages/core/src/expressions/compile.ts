import fhirpath from 'fhirpath';
import type { Diagnostic, DiagnosticCode, RuleSpan } from '../diagnostics/diagnostic.js';
import { compileDatePattern, isKnownTimeZone } from '../functions/datetime.js';
import { compactString } from '../mapping/compact-strings.js';
import type { AstNode } from './ast.js';
import { parseSimpleExpression } from './simple-parse.js';
import { functionName, identifierValue, params, positionOf, variableName } from './ast.js';
import { boundFunctions, userInvocationTable, withCurrentSink } from './cadmap-functions.js';
import { regexProblem } from './regex.js';
import { asCollection, collectionPlan, compileFast, compileScalar, literalString, memberPathEvaluator, type Closure, type CollectionPlan, type Runtime, type ScalarExpression } from './fast.js';
import { cadmapArities, closestFunction, editDistance, functionArities } from './known-functions.js';
import type { CompiledExpression, EvalSink, ExpressionEnv } from './types.js';

/** Variables fhirpath.js itself defines. */
const builtInVariables = new Set(['context', 'ucum']);

/** Functions whose arguments are evaluated per item of their input (not against `$this`). */
const itemScopedFunctions = new Set(['where', 'select', 'exists', 'all', 'repeat', 'aggregate', 'sort', 'coalesce', 'trace', 'defineVariable', 'iif']);

/** Options for compileExpression; `engine: 'fhirpath'` forces the fhirpath.js path (for tests and benchmarks). */
export interface CompileOptions {
  readonly engine?: 'auto' | 'fhirpath';
}

/**
 * Compiles a mapping expression (the text after `=`). `span` points at the first character of the
 * expression text; diagnostics point inside it. Returns no expression when there are errors.
 */
export function compileExpression(
  text: string,
  span: RuleSpan,
  env: ExpressionEnv,
  options: CompileOptions = {},
): { expression?: CompiledExpression; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const at = (position: { line: number; column: number } | undefined): RuleSpan => {
    if (!position) {
      return span;
    }
    return {
      ...span,
      line: span.line + position.line - 1,
      column: position.line === 1 ? span.column + position.column - 1 : position.column,
    };
  };
  const report = (code: DiagnosticCode, message: string, position: { line: number; column: number } | undefined, hint?: string): void => {
    diagnostics.push({ code, severity: 'error', message, rule: at(position), ...(hint === undefined ? {} : { hint }) });
  };

  let ast: AstNode;
  try {
    // string literals are cut out of the text: one-byte text gives one-byte values (see compactString)
    ast = parseTree(compactString(text));
  } catch (error) {
    for (const syntax of syntaxErrors(error)) {
      report(
        'MAP_EXPRESSION_SYNTAX',
        `Expression =${text} does not parse: ${syntax.message}.`,
        { line: syntax.line, column: syntax.column },
        'Check quotes, brackets and operators; string literals use single quotes and names with spaces use backticks.',
      );
    }
    return { diagnostics };
  }

  const fields = new Set<string>();
  const variableFields = new Map<string, readonly [string, string]>();
  let usesDates = false;
  let readsThis = false;
  const usedVariables = new Set<string>();

  const visit = (node: AstNode, contextRelative: boolean): void => {
    switch (node.type) {
      case 'InvocationExpression': {
        const [left, invocation] = node.children ?? [];
        if (left) {
          visit(left, contextRelative);
          const variable = variableOf(left);
          if (variable !== undefined && invocation?.type === 'MemberInvocation') {
            const field = identifierValue(invocation.children?.[0] ?? invocation);
            variableFields.set(`${variable}\u0000${field}`, [variable, field]);
          }
        }
        if (invocation) {
          visitInvocation(invocation, false, contextRelative);
        }
        return;
      }
      case 'InvocationTerm': {
        const invocation = node.children?.[0];
        if (invocation) {
          visitInvocation(invocation, contextRelative, contextRelative);
        }
        return;
      }
      case 'ExternalConstantTerm': {
        const name = variableName(node);
        usedVariables.add(name);
        if (!env.variables.has(name) && !builtInVariables.has(name)) {
          report('MAP_UNKNOWN_VARIABLE', `%${name} is not defined.`, positionOf(node), knownVariablesHint(env));
        }
        return;
      }
      default:
        for (const c of node.children ?? []) {
          visit(c, contextRelative);
        }
    }
  };

  /** `atContext`: the invocation applies to the context item itself; `argsRelative`: `$this` is the context. */
  const visitInvocation = (node: AstNode, atContext: boolean, argsRelative: boolean): void => {
    if (node.type === 'ThisInvocation') {
      readsThis = true;
    }
    if (node.type === 'MemberInvocation') {
      if (atContext) {
        fields.add(identifierValue(node.children?.[0] ?? node));
      }
      return;
    }
    if (node.type !== 'FunctionInvocation') {
      return;
    }
    const name = functionName(node);
    const args = params(node);
    checkFunction(node, name, args);
    const itemScoped = itemScopedFunctions.has(name);
    for (const arg of args) {
      visit(arg, itemScoped ? atContext : argsRelative);
    }
  };

  const checkFunction = (node: AstNode, name: string, args: readonly AstNode[]): void => {
    const position = positionOf(node);
    const arities = functionArities(name);
    if (!arities) {
      const closest = closestFunction(name);
      report('MAP_UNKNOWN_FUNCTION', `${name}() is not a FHIRPath or cadmap function.`, position, `Did you mean ${closest}()?`);
      return;
    }
    if (!arities.includes(args.length)) {
      report(
        'MAP_BAD_ARGUMENT',
        `${name}() takes ${describeArities(arities)}, not ${args.length}.`,
        position,
        name === 'not' ? 'Write x.not() rather than not(x).' : undefined,
      );
      return;
    }
    const first = args[0];
    const firstLiteral = first ? literalString(first) : undefined;
    if (name === 'matches' || name === 'matchesFull' || name === 'replaceMatches') {
      const flags = name === 'replaceMatches' || args[1] === undefined ? '' : literalString(args[1]);
      const problem = firstLiteral === undefined ? undefined : regexProblem(name === 'matchesFull' ? `^(?:${firstLiteral})$` : firstLiteral, flags);
      if (problem !== undefined) {
        report(
          'MAP_REGEX_UNSUPPORTED',
          `${name}(): the regular expression cannot run on cadmap's linear-time engine (RE2 syntax): ${problem}.`,
          first ? positionOf(first) : position,
          'Rewrite it without backreferences (\\1), lookarounds ((?=…), (?!…), (?<=…)) or possessive quantifiers; RE2 runs any other pattern in time linear in the text.',
        );
      }
      return;
    }
    if (!Object.hasOwn(cadmapArities, name)) {
      return;
    }
    switch (name) {
      case 'dateTime':
      case 'date': {
        usesDates = true;
        if (first) {
          if (firstLiteral === undefined) {
            report('MAP_BAD_ARGUMENT', `${name}() takes its format as a quoted literal, e.g. ${name}('dd/MM/yyyy HH:mm').`, positionOf(first));
          } else {
            const compiled = compileDatePattern(firstLiteral);
            if (compiled.error !== undefined) {
              report('MAP_BAD_ARGUMENT', `${name}(): ${compiled.error}.`, positionOf(first));
            }
          }
        }
        return;
      }
      case 'translate':
      case 'coding':
        if (firstLiteral === undefined) {
          report('MAP_BAD_ARGUMENT', `${name}() takes a lookup name as a quoted literal, e.g. ${name}('callOrigin').`, first ? positionOf(first) : position);
        } else if (!env.lookups.has(firstLiteral)) {
          report(
            'MAP_UNKNOWN_LOOKUP',
            `${name}('${firstLiteral}') names a lookup that is not declared.`,
            first ? positionOf(first) : position,
            closestHint([...env.lookups.keys()], firstLiteral, 'lookups'),
          );
        }
        return;
      case 'ref':
        if (firstLiteral === undefined) {
          report('MAP_BAD_ARGUMENT', `ref() takes a rule id as a quoted literal, e.g. ref('encounter', key).`, first ? positionOf(first) : position);
        } else if (!env.rules.has(firstLiteral)) {
          report(
            'MAP_UNKNOWN_RULE',
            `ref('${firstLiteral}', …) names a resource rule that is not declared.`,
            first ? positionOf(first) : position,
            closestHint([...env.rules.keys()], firstLiteral, 'resources[].id'),
          );
        }
        return;
      default:
        return;
    }
  };

  visit(ast, true);
  if (usesDates && !isKnownTimeZone(env.timeZone)) {
    diagnostics.push({
      code: 'MAP_TIME_ZONE',
      severity: 'error',
      message: `source.timeZone '${env.timeZone}' is not a known IANA time zone.`,
      hint: 'Use a zone name such as Europe/London.',
      rule: span,
    });
  }
  if (diagnostics.length > 0) {
    return { diagnostics };
  }

  const functions = boundFunctions(env);
  const closure = options.engine === 'fhirpath' ? undefined : compileFast(ast, functions);
  const shared = {
    text,
    span,
    fields: [...fields],
    variableFields: [...variableFields.values()],
    variables: [...usedVariables],
    readsContext: readsThis || fields.size > 0,
  };
  if (closure) {
    const path = memberPathEvaluator(ast);
    const expression: WithScalar = { ...shared, fast: true, evaluate: path ?? fastEvaluator(closure), [scalarForm]: compileScalar(ast, functions, reportEvalError) };
    const plan = collectionPlan(ast, functions);
    if (plan) {
      collectionPlans.set(expression, plan);
    }
    trees.set(expression, ast);
    return { expression, diagnostics };
  }
  const expression: WithScalar = { ...shared, fast: false, evaluate: fhirpathEvaluator(text, env, [...usedVariables]), [scalarForm]: undefined };
  trees.set(expression, ast);
  return { expression, diagnostics };
}

/** The parsed tree of each compiled expression, for the analyses that read its structure. */
const trees = new WeakMap<CompiledExpression, AstNode>();

/** The parsed tree of a compiled expression (parsed again for a copy made after compiling, e.g. a folded one). */
export function treeOf(expression: CompiledExpression): AstNode {
  return trees.get(expression) ?? parseTree(compactString(expression.text));
}

/** Where a compiled expression keeps its scalar form (read on every evaluation, so a property, not a map). */
const scalarForm = Symbol('cadmap.scalarForm');

interface WithScalar extends CompiledExpression {
  readonly [scalarForm]: ScalarExpression | undefined;
}

/**
 * The scalar form of a compiled expression, when it has one of the shapes `compileScalar` handles: the engine's
 * generated code uses it to evaluate without building collections.
 */
/**
 * Collection plans by expression (read only when generating code). Kept apart from the expression object, so a
 * copy with another `evaluate` (a forEach of constants evaluated at load) has none.
 */
const collectionPlans = new WeakMap<CompiledExpression, CollectionPlan>();

/** The structure of the expression's collection when it is a member path, possibly filtered by a pure where(). */
export function collectionPlanOf(expression: CompiledExpression): CollectionPlan | undefined {
  return collectionPlans.get(expression);
}

export function scalarOf(expression: CompiledExpression): ScalarExpression | undefined {
  return (expression as Partial<WithScalar>)[scalarForm];
}

/** Parsed trees by text, bounded: mappings repeat expressions, and trees are only ever read. */
const parsedTrees = new Map<string, AstNode>();
const parsedTreesKept = 4096;

/** The tree of an expression: the simple parser's when it reads it, else fhirpath.js's (which throws on bad syntax). */
function parseTree(text: string): AstNode {
  let tree = parsedTrees.get(text);
  if (tree === undefined) {
    tree = parseSimpleExpression(text) ?? (fhirpath.parse(text) as AstNode);
    if (parsedTrees.size >= parsedTreesKept) {
      parsedTrees.clear();
    }
    parsedTrees.set(text, tree);
  }
  return tree;
}

function fastEvaluator(closure: Closure): CompiledExpression['evaluate'] {
  return (context, variables, sink) => {
    const root = asCollection(context);
    const rt: Runtime = { vars: variables, sink, root };
    try {
      return closure(root, rt);
    } catch (error) {
      reportEvalError(sink, error);
      return [];
    }
  };
}

function fhirpathEvaluator(text: string, env: ExpressionEnv, usedVariables: readonly string[]): CompiledExpression['evaluate'] {
  // trace() must not print: libraries never write to the console, and traced values may be personal data.
  const compiled = fhirpath.compile(text, undefined, { userInvocationTable: userInvocationTable(env), traceFn: () => undefined });
  return (context, variables, sink) => {
    const vars: Record<string, unknown> = {};
    for (const name of usedVariables) {
      if (!builtInVariables.has(name)) {
        // defined, not assigned: a constant named `__proto__` must stay a variable, not become the prototype
        Object.defineProperty(vars, name, { value: variables[name], enumerable: true, writable: true, configurable: true });
      }
    }
    try {
      const result: unknown = withCurrentSink(sink, (): unknown => compiled(context, vars));
      return Array.isArray(result) ? (result as unknown[]) : [];
    } catch (error) {
      reportEvalError(sink, error);
      return [];
    }
  };
}

function reportEvalError(sink: EvalSink, error: unknown): void {
  sink.report({
    code: 'MAP_EVAL_ERROR',
    severity: 'error',
    message: `The expression failed on this record: ${error instanceof Error ? error.message : String(error)}`,
    hint: 'Check that the fields it reads hold one value of the expected type (use .first() for repeating fields).',
  });
}

function variableOf(node: AstNode): string | undefined {
  let current: AstNode | undefined = node;
  while (current && current.type === 'TermExpression') {
    current = current.children?.[0];
  }
  return current?.type === 'ExternalConstantTerm' ? variableName(current) : undefined;
}

function describeArities(arities: readonly number[]): string {
  const words = arities.map((n) => (n === 0 ? 'no arguments' : n === 1 ? '1 argument' : `${n} arguments`));
  if (arities.length > 3) {
    return `${arities[0]} to ${arities[arities.length - 1]} arguments`;
  }
  return words.join(' or ');
}

function closestHint(known: readonly string[], name: string, where: string): string {
  if (known.length === 0) {
    return `Declare it under ${where}.`;
  }
  const sorted = [...known].sort((a, b) => editDistance(a, name) - editDistance(b, name));
  return `Declared: ${known.join(', ')}. Did you mean '${sorted[0] ?? ''}'?`;
}

function knownVariablesHint(env: ExpressionEnv): string {
  const names = [...env.variables].sort();
  return names.length > 0 ? `Variables in scope: ${names.map((n) => `%${n}`).join(', ')}.` : 'Declare it under constants.';
}

interface SyntaxProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

function syntaxErrors(error: unknown): SyntaxProblem[] {
  const raw = (error as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(raw) && raw.length > 0) {
    return raw.map((entry: unknown) => {
      const parts = Array.isArray(entry) ? entry : [];
      const line = typeof parts[2] === 'number' ? parts[2] : 1;
      const column = typeof parts[3] === 'number' ? parts[3] + 1 : 1;
      const message = typeof parts[4] === 'string' ? parts[4] : 'syntax error';
      return { line, column, message };
    });
  }
  return [{ line: 1, column: 1, message: error instanceof Error ? error.message : String(error) }];
}
