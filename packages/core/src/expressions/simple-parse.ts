import type { AstNode } from './ast.js';

/**
 * The parse tree fhirpath.js's `parse()` builds, for the expressions most mapping rules are made of: a field,
 * `%variable`, string literal or bracketed expression, then members and function calls whose arguments are
 * such expressions again (`CallConnected.dateTime()`, `'initial'.coding('type')`, `ref('patient',
 * %record.IncidentId, PatientNo)`), joined by `|`, `=`, `!=`, `and`, `or`, `xor` and `implies`. Undefined for
 * anything else, which fhirpath.js then parses. Its ANTLR parser costs a fraction of a millisecond per
 * expression once warm and tens of milliseconds while cold, and a mapping holds a hundred or more of them, so
 * loading a mapping spent most of its time there. A property test checks both give the same tree.
 *
 * Spaces are accepted around operators and commas, after `(` and before `)`; string literals have no
 * backslash and no line break; names are plain identifiers that are none of the grammar's keywords (`and`,
 * `as`, `day`, `L`…).
 */
export function parseSimpleExpression(text: string): AstNode | undefined {
  const parser = new SimpleParser(text);
  parser.skipSpaces();
  const expression = parser.expression(false);
  parser.skipSpaces();
  if (expression === undefined || parser.at !== text.length) {
    return undefined;
  }
  return { type: 'EntireExpression', children: [{ type: 'EntireExpression', children: [expression.node] }] };
}

/** Every word the FHIRPath grammar (fhirpath.js 5) makes a token of its own: such a name is not an identifier here. */
const keywords = new Set([
  'L', 'T', 'Z', 'u', 'and', 'as', 'asc', 'contains', 'day', 'days', 'desc', 'div', 'false', 'hour', 'hours', 'implies', 'in',
  'is', 'millisecond', 'milliseconds', 'minute', 'minutes', 'mod', 'month', 'months', 'or', 'second', 'seconds', 'sort',
  'true', 'week', 'weeks', 'xor', 'year', 'years',
]);

interface Parsed {
  readonly node: AstNode & { text?: string };
  /** The expression's tokens without the spaces between them (what ANTLR's `getText()` gives). */
  readonly tokens: string;
}

const isIdentifierStart = (code: number): boolean => (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
const isIdentifierPart = (code: number): boolean => isIdentifierStart(code) || (code >= 48 && code <= 57);

/** Binary operators from the loosest to the tightest binding (as the grammar orders them), with their node types. */
const operatorLevels: readonly (readonly [type: string, operators: readonly string[]])[] = [
  ['ImpliesExpression', ['implies']],
  ['OrExpression', ['or', 'xor']],
  ['AndExpression', ['and']],
  ['EqualityExpression', ['!=', '=']],
  ['UnionExpression', ['|']],
];

class SimpleParser {
  at = 0;

  constructor(private readonly text: string) {}

  skipSpaces(): void {
    while (this.text.charCodeAt(this.at) === 32) {
      this.at++;
    }
  }

  /** An expression; `inParams` when inside a function's argument list (fhirpath.js marks root members there). */
  expression(inParams: boolean, level = 0): Parsed | undefined {
    const operators = operatorLevels[level];
    if (operators === undefined) {
      return this.invocations(inParams);
    }
    let left = this.expression(inParams, level + 1);
    while (left !== undefined) {
      const before = this.at;
      this.skipSpaces();
      const operator = this.operator(operators[1]);
      if (operator === undefined) {
        this.at = before;
        break;
      }
      const column = this.at + 1;
      this.at += operator.length;
      this.skipSpaces();
      const right = this.expression(inParams, level + 1);
      if (right === undefined) {
        return undefined;
      }
      left = {
        node: { type: operators[0], text: operator, start: { line: 1, column }, length: operator.length, children: [left.node, right.node] },
        tokens: left.tokens + operator + right.tokens,
      };
    }
    return left;
  }

  /** The operator of `operators` at the current position (a word one only when no name goes on after it). */
  private operator(operators: readonly string[]): string | undefined {
    return operators.find(
      (operator) => this.text.startsWith(operator, this.at) && !(isIdentifierStart(operator.charCodeAt(0)) && isIdentifierPart(this.text.charCodeAt(this.at + operator.length))),
    );
  }

  /** `term ('.' invocation)*` */
  private invocations(inParams: boolean): Parsed | undefined {
    let left = this.term(inParams);
    while (left !== undefined && this.text.charCodeAt(this.at) === 46 /* . */) {
      this.at++;
      const invocation = this.invocation(inParams);
      if (invocation === undefined) {
        return undefined;
      }
      left = { node: { type: 'InvocationExpression', children: [left.node, invocation.node] }, tokens: `${left.tokens}.${invocation.tokens}` };
    }
    return left;
  }

  private term(inParams: boolean): Parsed | undefined {
    const code = this.text.charCodeAt(this.at);
    let term: Parsed | undefined;
    if (code === 39 /* ' */) {
      term = this.stringLiteral();
    } else if (code === 40 /* ( */) {
      term = this.parenthesized(inParams);
    } else if (code === 37 /* % */) {
      term = this.externalConstant();
    } else {
      const invocation = this.invocation(inParams, true);
      term = invocation && { node: { type: 'InvocationTerm', children: [invocation.node] }, tokens: invocation.tokens };
    }
    return term && { node: { type: 'TermExpression', children: [term.node] }, tokens: term.tokens };
  }

  private parenthesized(inParams: boolean): Parsed | undefined {
    this.at++;
    this.skipSpaces();
    const inner = this.expression(inParams);
    this.skipSpaces();
    if (inner === undefined || this.text.charCodeAt(this.at) !== 41 /* ) */) {
      return undefined;
    }
    this.at++;
    return { node: { type: 'ParenthesizedTerm', children: [inner.node] }, tokens: `(${inner.tokens})` };
  }

  private stringLiteral(): Parsed | undefined {
    const start = this.at;
    const close = this.text.indexOf("'", start + 1);
    if (close === -1) {
      return undefined;
    }
    const literal = this.text.slice(start, close + 1);
    if (/[\\\r\n\uD800-\uDFFF]/.test(literal)) {
      return undefined;
    }
    this.at = close + 1;
    return {
      node: { type: 'LiteralTerm', text: literal, start: { line: 1, column: start + 1 }, length: literal.length, children: [{ type: 'StringLiteral', text: literal }] },
      tokens: literal,
    };
  }

  private externalConstant(): Parsed | undefined {
    const start = this.at;
    this.at++;
    const name = this.identifier();
    if (name === undefined) {
      return undefined;
    }
    return {
      node: {
        type: 'ExternalConstantTerm',
        text: name.text,
        start: { line: 1, column: start + 1 },
        length: name.text.length,
        children: [{ type: 'ExternalConstant', children: [name.node] }],
      },
      tokens: `%${name.text}`,
    };
  }

  /** A member or a function call; `atRoot` when it starts the expression (then a member is marked as fhirpath.js marks it). */
  private invocation(inParams: boolean, atRoot = false): Parsed | undefined {
    const name = this.identifier();
    if (name === undefined) {
      return undefined;
    }
    const start = name.node.start;
    if (this.text.charCodeAt(this.at) !== 40 /* ( */) {
      return {
        node: {
          type: 'MemberInvocation',
          ...(atRoot ? { atRoot: inParams ? 2 : 1 } : {}),
          text: name.text,
          start,
          length: name.text.length,
          children: [name.node],
        },
        tokens: name.text,
      };
    }
    this.at++;
    this.skipSpaces();
    const params: AstNode[] = [];
    const tokens: string[] = [];
    if (this.text.charCodeAt(this.at) !== 41 /* ) */) {
      for (;;) {
        const param = this.expression(true);
        if (param === undefined) {
          return undefined;
        }
        // fhirpath.js keeps an argument's text on a term or an invocation, not on an operator
        if (param.node.type === 'TermExpression' || param.node.type === 'InvocationExpression') {
          param.node.text = param.tokens;
        }
        params.push(param.node);
        tokens.push(param.tokens);
        this.skipSpaces();
        const next = this.text.charCodeAt(this.at);
        if (next === 41 /* ) */) {
          break;
        }
        if (next !== 44 /* , */) {
          return undefined;
        }
        this.at++;
        this.skipSpaces();
      }
    }
    this.at++;
    const functn: AstNode = { type: 'Functn', text: name.text, children: params.length > 0 ? [name.node, { type: 'ParamList', children: params }] : [name.node] };
    return {
      node: { type: 'FunctionInvocation', text: name.text, start, length: name.text.length, children: [functn] },
      tokens: `${name.text}(${tokens.join(',')})`,
    };
  }

  private identifier(): { readonly text: string; readonly node: AstNode & { start: { line: number; column: number } } } | undefined {
    const start = this.at;
    if (!isIdentifierStart(this.text.charCodeAt(start))) {
      return undefined;
    }
    let end = start + 1;
    while (isIdentifierPart(this.text.charCodeAt(end))) {
      end++;
    }
    const text = this.text.slice(start, end);
    if (keywords.has(text)) {
      return undefined;
    }
    this.at = end;
    return { text, node: { type: 'Identifier', text, start: { line: 1, column: start + 1 }, length: text.length } };
  }
}
