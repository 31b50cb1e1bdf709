/** A node of the AST fhirpath.js `parse()` returns (positions are 1-based, relative to the expression text). */
export interface AstNode {
  readonly type: string;
  readonly text?: string;
  readonly delimitedText?: string;
  readonly start?: { readonly line: number; readonly column: number };
  readonly length?: number;
  readonly children?: readonly AstNode[];
}

/** Replaces FHIRPath escapes (`\'`, `\n`, `\u0041`, …) in the body of a string or delimited identifier. */
export function unescapeFhirPath(body: string): string {
  return body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (match: string, sub: string) => {
    switch (match) {
      case '\\r':
        return '\r';
      case '\\n':
        return '\n';
      case '\\t':
        return '\t';
      case '\\f':
        return '\f';
      default:
        return sub.length > 1 ? String.fromCharCode(Number.parseInt(sub.slice(1), 16)) : sub;
    }
  });
}

/** The value of a string literal token (`'a\'b'` ⟶ `a'b`). */
export function stringLiteralValue(text: string): string {
  return text.startsWith("'") && text.endsWith("'") && text.length >= 2 ? unescapeFhirPath(text.slice(1, -1)) : text;
}

/** The name an identifier node stands for (backticks removed). */
export function identifierValue(node: AstNode): string {
  const text = node.text ?? '';
  return text.startsWith('`') && text.endsWith('`') && text.length >= 2 ? unescapeFhirPath(text.slice(1, -1)) : text;
}

/** The function name of a FunctionInvocation node. */
export function functionName(node: AstNode): string {
  return identifierValue({ type: 'Identifier', text: node.text ?? '' });
}

/** The argument expressions of a FunctionInvocation node. */
export function params(node: AstNode): readonly AstNode[] {
  const functn = node.children?.[0];
  const list = functn?.children?.find((c) => c.type === 'ParamList');
  if (list) {
    return list.children ?? [];
  }
  return functn?.children?.filter((c) => c.type !== 'Identifier') ?? [];
}

/** The variable name of an ExternalConstantTerm (`%name`, %`name`, %'name'). */
export function variableName(node: AstNode): string {
  if (node.delimitedText !== undefined) {
    return stringLiteralValue(node.delimitedText);
  }
  return node.text ?? '';
}

/** The first position found in a node or its descendants. */
export function positionOf(node: AstNode): { line: number; column: number } | undefined {
  if (node.start) {
    return node.start;
  }
  for (const c of node.children ?? []) {
    const position = positionOf(c);
    if (position) {
      return position;
    }
  }
  return undefined;
}
