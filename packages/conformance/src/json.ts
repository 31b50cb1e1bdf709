import { createRequire } from 'node:module';
import type * as jsoncModule from 'jsonc-parser';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import type { ConformanceIssue } from './codes.js';
import { lineStarts, positionAt } from './xml.js';
import type { ParsedResource, SourcePosition } from './xml.js';

let jsonc: typeof jsoncModule | undefined;

/** jsonc-parser (positions, and the errors JSON.parse does not name), loaded on first use. */
function jsoncParser(): typeof jsoncModule {
  jsonc ??= createRequire(import.meta.url)('jsonc-parser') as typeof jsoncModule;
  return jsonc;
}

/**
 * Reads FHIR JSON text: the resource, the format's problems (text that is not JSON, comments, duplicate property
 * names, which JSON.parse would silently resolve to the last) and the position of each element by FHIRPath.
 */
export function readFhirJson(text: string): ParsedResource {
  const issues: ConformanceIssue[] = [];
  const body = text.replace(/^\uFEFF/, '');
  const offsetShift = text.length - body.length;
  const lines = lineStarts(text);
  const position = (offset: number): SourcePosition => positionAt(lines, offset + offsetShift);
  const errors: ParseError[] = [];
  const { parseTree, printParseErrorCode } = jsoncParser();
  const tree = parseTree(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const positionOf = (expression: string): SourcePosition | undefined => {
    const node = tree ? nodeAt(tree, expression) : undefined;
    return node ? position(node.offset) : undefined;
  };
  if (errors.length > 0) {
    // The first error only: the parser's recovery makes the later ones follow from it.
    const first = errors[0] as ParseError;
    const at = position(first.offset);
    issues.push({ code: 'CONF_INPUT', severity: 'error', expression: '', message: `Not valid JSON: ${describeError(printParseErrorCode(first.error))}, at line ${at.line}, column ${at.column}.`, hint: 'A FHIR JSON file holds one JSON object; comments, unquoted names and trailing commas are not allowed.', input: { file: '', line: at.line, column: at.column } });
    return { resource: undefined, issues, positionOf };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    issues.push({ code: 'CONF_INPUT', severity: 'error', expression: '', message: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}` });
    return { resource: undefined, issues, positionOf };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ code: 'CONF_INPUT', severity: 'error', expression: '', message: 'The JSON is not an object, so it is not a FHIR resource.', input: { file: '', line: 1, column: 1 } });
    return { resource: undefined, issues, positionOf };
  }
  if (tree) {findDuplicates(tree, value as Record<string, unknown>, issues, position);}
  return { resource: value as Record<string, unknown>, issues, positionOf };
}

function describeError(code: string): string {
  const words: Record<string, string> = {
    InvalidCommentToken: 'comments are not allowed in JSON',
    CommaExpected: 'a comma is missing',
    PropertyNameExpected: 'a property name (in double quotes) is expected',
    ValueExpected: 'a value is expected',
    ColonExpected: 'a colon is expected',
    CloseBraceExpected: 'a closing } is missing',
    CloseBracketExpected: 'a closing ] is missing',
    EndOfFileExpected: 'text follows the end of the JSON value',
    InvalidSymbol: 'an unexpected character (unquoted name or value?)',
    UnexpectedEndOfString: 'a string is not closed',
    UnexpectedEndOfComment: 'a comment is not closed',
    InvalidEscapeCharacter: 'an invalid escape sequence',
    InvalidCharacter: 'an invalid character in a string',
  };
  return words[code] ?? code;
}

function findDuplicates(node: JsonNode, value: Record<string, unknown>, issues: ConformanceIssue[], position: (offset: number) => SourcePosition): void {
  const walk = (n: JsonNode, path: string): void => {
    if (n.type === 'object') {
      const seen = new Set<string>();
      for (const property of n.children ?? []) {
        const [key, child] = property.children ?? [];
        if (typeof key?.value !== 'string') {continue;}
        const name = key.value;
        if (seen.has(name)) {
          const at = position(key.offset);
          issues.push({ code: 'CONF_FORMAT', severity: 'error', expression: `${path}.${name}`, message: `The property "${name}" appears more than once; only the last value would be read.`, hint: 'Merge the values into one property.', input: { file: '', line: at.line, column: at.column } });
        }
        seen.add(name);
        if (child) {walk(child, `${path}.${name}`);}
      }
    } else if (n.type === 'array') {
      (n.children ?? []).forEach((child, i) => walk(child, `${path}[${i}]`));
    }
  };
  walk(node, typeof value['resourceType'] === 'string' ? value['resourceType'] : '');
}

/**
 * The node of a FHIRPath as the checker writes it (`Bundle.entry[0].resource.name[1].given[0]`); a name missing in
 * the JSON is looked up as `_name` (a primitive's id and extensions), and a path that goes further than the JSON
 * ends at the deepest node found.
 */
function nodeAt(root: JsonNode, expression: string): JsonNode | undefined {
  const segments = expression.split('.').slice(1);
  let node: JsonNode = root;
  for (const segment of segments) {
    const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(segment);
    if (!m?.[1]) {break;}
    const next = propertyValue(node, m[1]) ?? propertyValue(node, `_${m[1]}`);
    if (!next) {break;}
    node = next;
    for (const index of (m[2] ?? '').match(/\d+/g) ?? []) {
      const item = node.type === 'array' ? node.children?.[Number(index)] : undefined;
      if (!item) {break;}
      node = item;
    }
  }
  return node;
}

function propertyValue(node: JsonNode, name: string): JsonNode | undefined {
  if (node.type !== 'object') {return undefined;}
  for (const property of node.children ?? []) {
    const [key, value] = property.children ?? [];
    if (key?.value === name) {return value;}
  }
  return undefined;
}
