import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Diagnostic, RuleSpan } from '../diagnostics/diagnostic.js';
import { closest } from '../diagnostics/suggest.js';
import type { Mapping } from './load.js';
import type { XmlOptions } from './model.js';
import { fieldPathText, readPathsOf } from './read-paths.js';

/** The segment of a declared path that stands for any member name (`additionalProperties`, `xs:any`). */
export const anyField = '*';

/**
 * The fields a source's records may hold, as the mapping declares them (`source.fields`): paths from the
 * record's root, a `*` segment standing for any name.
 */
export class DeclaredFields {
  private readonly exact = new Set<string>();
  private readonly open = new Set<string>();
  /** Member names declared under each path (for "did you mean"). */
  private readonly children = new Map<string, Set<string>>();

  constructor(readonly paths: readonly (readonly string[])[]) {
    for (const path of paths) {
      for (let length = 0; length < path.length; length++) {
        const parent = path.slice(0, length).join('\u0000');
        const name = path[length]!;
        if (name === anyField) {
          this.open.add(parent);
          break;
        }
        let names = this.children.get(parent);
        if (names === undefined) {
          names = new Set();
          this.children.set(parent, names);
        }
        names.add(name);
        this.exact.add(path.slice(0, length + 1).join('\u0000'));
      }
    }
  }

  /** Whether a path read by the mapping is declared (itself, as the parent of a declared path, or under a `*`). */
  declares(segments: readonly string[]): boolean {
    if (this.exact.has(segments.join('\u0000'))) {
      return true;
    }
    for (let length = 0; length < segments.length; length++) {
      if (this.open.has(segments.slice(0, length).join('\u0000'))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Where a path leaves the declaration: the length of its longest declared prefix, and the names declared
   * under that prefix.
   */
  divergence(segments: readonly string[]): { readonly at: number; readonly names: readonly string[] } {
    let at = 0;
    while (at < segments.length && this.exact.has(segments.slice(0, at + 1).join('\u0000'))) {
      at++;
    }
    return { at, names: [...(this.children.get(segments.slice(0, at).join('\u0000')) ?? [])] };
  }
}

/** Splits a written path (`timestamps.callConnected`, ``resources.`Unit 1 Arrived` ``) into its member names. */
export function parseFieldPath(text: string): string[] | undefined {
  const segments: string[] = [];
  let at = 0;
  while (at < text.length) {
    if (text[at] === '`') {
      let segment = '';
      let k = at + 1;
      for (; k < text.length && text[k] !== '`'; k++) {
        segment += text[k] === '\\' && k + 1 < text.length ? text[++k] : text[k];
      }
      if (k >= text.length || segment === '') {
        return undefined;
      }
      segments.push(segment);
      at = k + 1;
    } else {
      const end = text.indexOf('.', at);
      const segment = text.slice(at, end === -1 ? text.length : end).trim();
      if (segment === '') {
        return undefined;
      }
      segments.push(segment);
      at = end === -1 ? text.length : end;
    }
    if (at < text.length) {
      if (text[at] !== '.') {
        return undefined;
      }
      at++;
      if (at >= text.length) {
        return undefined;
      }
    }
  }
  return segments.length > 0 ? segments : undefined;
}

/** Deepest nesting followed in a JSON Schema or an XSD (recursive types stop here, as a `*`). */
const maxDepth = 32;

/**
 * The record paths a JSON Schema declares: `properties` (and those of `allOf`/`anyOf`/`oneOf` and local
 * `$ref`s), through `items`; `additionalProperties` or `patternProperties` allow any name below their object.
 * `record` is a JSON pointer to the record's schema inside the document (`''` for the document itself).
 */
export function fieldsFromJsonSchema(schema: unknown, record: string): { readonly paths: string[][]; readonly problem?: string } {
  const root = resolvePointer(schema, record);
  if (root === undefined) {
    return { paths: [], problem: `the JSON pointer ${JSON.stringify(record)} names nothing in the schema` };
  }
  const paths: string[][] = [];
  const visit = (node: unknown, prefix: readonly string[], refs: readonly string[]): void => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      return;
    }
    if (prefix.length >= maxDepth) {
      paths.push([...prefix, anyField]);
      return;
    }
    const object = node as Record<string, unknown>;
    const ref = object.$ref;
    if (typeof ref === 'string') {
      if (refs.includes(ref) || !ref.startsWith('#')) {
        // a recursive or external type: anything may follow
        paths.push([...prefix, anyField]);
      } else {
        visit(resolvePointer(schema, ref.slice(1)), prefix, [...refs, ref]);
      }
    }
    for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
      const branches = object[keyword];
      if (Array.isArray(branches)) {
        for (const branch of branches) {
          visit(branch, prefix, refs);
        }
      }
    }
    const properties = object.properties;
    if (typeof properties === 'object' && properties !== null) {
      for (const [name, child] of Object.entries(properties)) {
        paths.push([...prefix, name]);
        visit(child, [...prefix, name], refs);
      }
    }
    const additional = object.additionalProperties;
    const typed = object.type === 'object' || (Array.isArray(object.type) && object.type.includes('object'));
    if (additional === true || (typeof additional === 'object' && additional !== null) || object.patternProperties !== undefined || (typed && properties === undefined && additional !== false)) {
      paths.push([...prefix, anyField]);
    }
    const items = object.items;
    for (const item of Array.isArray(items) ? items : [items]) {
      visit(item, prefix, refs);
    }
    const prefixItems = object.prefixItems;
    if (Array.isArray(prefixItems)) {
      for (const item of prefixItems) {
        visit(item, prefix, refs);
      }
    }
  };
  visit(root, [], []);
  return { paths };
}

function resolvePointer(document: unknown, pointer: string): unknown {
  if (pointer === '' || pointer === '/') {
    return document;
  }
  let node = document;
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

type XsdNode = Record<string, unknown>;

const local = (name: string): string => name.slice(name.indexOf(':') + 1);
const childrenOf = (node: XsdNode, name: string): XsdNode[] => (Array.isArray(node[name]) ? (node[name] as XsdNode[]) : []);
const attribute = (node: XsdNode, name: string): string | undefined => (typeof node[`@${name}`] === 'string' ? (node[`@${name}`] as string) : undefined);

/**
 * The record paths an XML Schema declares for the record element `element` (a local name), as cadmap reads
 * XML with namespace prefixes stripped: attributes (with `attributePrefix`) and child elements become members,
 * the text of an element with attributes is `textName`. Follows named and anonymous complex types, element
 * and group references, extensions of a base type; `xs:any` and `xs:anyAttribute` allow any name.
 */
export function fieldsFromXsd(text: string, element: string, options: { readonly attributePrefix: string; readonly textName: string }): { readonly paths: string[][]; readonly problem?: string } {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    return { paths: [], problem: `it is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})` };
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    processEntities: false,
    htmlEntities: false,
    parseAttributeValue: false,
    isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
  });
  const document = parser.parse(text) as XsdNode;
  const schema = childrenOf(document, 'schema')[0];
  if (schema === undefined) {
    return { paths: [], problem: 'it has no xs:schema element' };
  }
  const named = (kind: string): Map<string, XsdNode> => new Map(childrenOf(schema, kind).flatMap((node) => (attribute(node, 'name') === undefined ? [] : [[attribute(node, 'name')!, node]])));
  const elements = named('element');
  const complexTypes = named('complexType');
  const groups = named('group');
  const attributeGroups = named('attributeGroup');

  const record = findElement(schema, element);
  if (record === undefined) {
    return { paths: [], problem: `it declares no element named ${JSON.stringify(element)} (the last step of source.xml.record)` };
  }
  const paths: string[][] = [];
  const typeContent = (node: XsdNode, prefix: readonly string[], types: readonly string[]): void => {
    const attributes = (holder: XsdNode): number => {
      let count = 0;
      for (const declared of childrenOf(holder, 'attribute')) {
        const name = attribute(declared, 'name') ?? (attribute(declared, 'ref') === undefined ? undefined : local(attribute(declared, 'ref')!));
        if (name !== undefined) {
          paths.push([...prefix, options.attributePrefix + name]);
          count++;
        }
      }
      for (const reference of childrenOf(holder, 'attributeGroup')) {
        const group = attributeGroups.get(local(attribute(reference, 'ref') ?? ''));
        if (group !== undefined) {
          count += attributes(group);
        }
      }
      if (childrenOf(holder, 'anyAttribute').length > 0) {
        paths.push([...prefix, anyField]);
        count++;
      }
      return count;
    };
    const particles = (holder: XsdNode): void => {
      for (const kind of ['sequence', 'choice', 'all']) {
        for (const particle of childrenOf(holder, kind)) {
          for (const child of childrenOf(particle, 'element')) {
            elementContent(child, prefix, types);
          }
          for (const reference of childrenOf(particle, 'group')) {
            const group = groups.get(local(attribute(reference, 'ref') ?? ''));
            if (group !== undefined) {
              particles(group);
            }
          }
          if (childrenOf(particle, 'any').length > 0) {
            paths.push([...prefix, anyField]);
          }
          particles(particle);
        }
      }
      for (const reference of childrenOf(holder, 'group')) {
        const group = groups.get(local(attribute(reference, 'ref') ?? ''));
        if (group !== undefined) {
          particles(group);
        }
      }
    };
    let withAttributes = attributes(node);
    particles(node);
    for (const content of [...childrenOf(node, 'complexContent'), ...childrenOf(node, 'simpleContent')]) {
      for (const derivation of [...childrenOf(content, 'extension'), ...childrenOf(content, 'restriction')]) {
        const base = complexTypes.get(local(attribute(derivation, 'base') ?? ''));
        if (base !== undefined && !types.includes(attribute(base, 'name')!)) {
          typeContent(base, prefix, [...types, attribute(base, 'name')!]);
        }
        withAttributes += attributes(derivation);
        particles(derivation);
      }
    }
    if (attribute(node, 'mixed') === 'true' || (childrenOf(node, 'simpleContent').length > 0 && withAttributes > 0)) {
      paths.push([...prefix, options.textName]);
    }
  };
  const elementContent = (declared: XsdNode, prefix: readonly string[], types: readonly string[]): void => {
    const reference = attribute(declared, 'ref');
    const target = reference === undefined ? declared : elements.get(local(reference));
    const name = reference === undefined ? attribute(declared, 'name') : local(reference);
    if (target === undefined || name === undefined) {
      return;
    }
    const path = [...prefix, name];
    paths.push(path);
    if (path.length >= maxDepth) {
      paths.push([...path, anyField]);
      return;
    }
    const typeName = attribute(target, 'type');
    const type = typeName === undefined ? childrenOf(target, 'complexType')[0] : complexTypes.get(local(typeName));
    if (type === undefined) {
      return;
    }
    const id = typeName === undefined ? undefined : local(typeName);
    if (id !== undefined && types.includes(id)) {
      paths.push([...path, anyField]);
      return;
    }
    typeContent(type, path, id === undefined ? types : [...types, id]);
  };
  const recordType = attribute(record, 'type');
  const type = recordType === undefined ? childrenOf(record, 'complexType')[0] : complexTypes.get(local(recordType));
  if (type !== undefined) {
    typeContent(type, [], recordType === undefined ? [] : [local(recordType)]);
  }
  return { paths };
}

/** The declaration of the element named `name`: a global one first, else the first nested one. */
function findElement(schema: XsdNode, name: string): XsdNode | undefined {
  const global = childrenOf(schema, 'element').find((node) => attribute(node, 'name') === name);
  if (global !== undefined) {
    return global;
  }
  const search = (node: XsdNode): XsdNode | undefined => {
    for (const [key, value] of Object.entries(node)) {
      if (!Array.isArray(value)) {
        continue;
      }
      for (const child of value as unknown[]) {
        if (typeof child !== 'object' || child === null) {
          continue;
        }
        if (key === 'element' && attribute(child as XsdNode, 'name') === name) {
          return child as XsdNode;
        }
        const found = search(child as XsdNode);
        if (found !== undefined) {
          return found;
        }
      }
    }
    return undefined;
  };
  return search(schema);
}

/** `source.fields` as written in the mapping. */
export type FieldsDocument = readonly string[] | { readonly jsonSchema: string; readonly record?: string } | { readonly xsd: string; readonly element?: string };

/**
 * Reads a `source.fields` declaration: a list of paths, or the paths of a JSON Schema or an XSD (a file
 * relative to `baseDir`, added to `files`). Problems are MAP_FIELDS_FILE (or MAP_SCHEMA for a path that does
 * not parse) at `span`.
 */
export async function loadDeclaredFields(
  value: FieldsDocument,
  baseDir: string,
  xml: XmlOptions | undefined,
  span: RuleSpan,
  files: string[],
): Promise<{ readonly fields?: DeclaredFields; readonly diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  if (Array.isArray(value)) {
    const paths: string[][] = [];
    for (const text of value as readonly string[]) {
      const segments = parseFieldPath(text);
      if (segments === undefined) {
        diagnostics.push({
          code: 'MAP_SCHEMA',
          severity: 'error',
          message: `source.fields: ${JSON.stringify(text)} is not a field path.`,
          hint: 'Write member names joined by dots (timestamps.callConnected), names with spaces or dots in backticks (`Unit 1 Arrived`), and * for any name.',
          rule: span,
        });
      } else {
        paths.push(segments);
      }
    }
    return { fields: new DeclaredFields(paths), diagnostics };
  }
  const declaration = value as { readonly jsonSchema?: string; readonly record?: string; readonly xsd?: string; readonly element?: string };
  const relative = declaration.jsonSchema ?? declaration.xsd ?? '';
  const path = resolve(baseDir, relative);
  const problem = (message: string, hint: string): { diagnostics: Diagnostic[] } => {
    diagnostics.push({ code: 'MAP_FIELDS_FILE', severity: 'error', message: `source.fields: ${relative} ${message}.`, hint, rule: span });
    return { diagnostics };
  };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return problem(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'The path is relative to the mapping file.');
  }
  files.push(path);
  if (declaration.jsonSchema !== undefined) {
    let schema: unknown;
    try {
      schema = JSON.parse(text);
    } catch {
      // named, never quoted: the parser's message would show the file's text
      return problem('is not JSON', 'Give a JSON Schema file.');
    }
    const derived = fieldsFromJsonSchema(schema, declaration.record ?? '');
    if (derived.problem !== undefined) {
      return problem(`gives no fields: ${derived.problem}`, 'Point `record` at the schema of one record, e.g. /$defs/Call.');
    }
    return { fields: new DeclaredFields(derived.paths), diagnostics };
  }
  if (xml === undefined || xml.namespaces === 'keep') {
    return problem('cannot declare the fields of this source', 'An XSD declares the fields of an XML source read with namespaces: strip.');
  }
  const element = declaration.element ?? xml.record.split('/').filter((step) => step !== '').pop()?.replace(/^.*:/, '') ?? '';
  const derived = fieldsFromXsd(text, element, xml);
  if (derived.problem !== undefined) {
    return problem(`gives no fields: ${derived.problem}`, 'Name the record element with `element:`.');
  }
  return { fields: new DeclaredFields(derived.paths), diagnostics };
}

/** MAP_FIELD_UNDECLARED for every path the mapping reads that its `source.fields` does not declare. */
export function undeclaredReads(mapping: Mapping): Diagnostic[] {
  const fields = mapping.source.fields;
  if (fields === undefined) {
    return [];
  }
  const out: Diagnostic[] = [];
  for (const read of readPathsOf(mapping)) {
    if (fields.declares(read.segments)) {
      continue;
    }
    const { at, names } = fields.divergence(read.segments);
    if (at < read.segments.length - 1) {
      // reported where it first leaves the declaration, by the expression reading that shorter path
      const shorter = readPathsOf(mapping).some((other) => other.expression === read.expression && other.segments.length === at + 1 && !fields.declares(other.segments));
      if (shorter) {
        continue;
      }
    }
    const parent = read.segments.slice(0, at);
    const name = read.segments[at]!;
    const suggestion = closest(name, names);
    out.push({
      code: 'MAP_FIELD_UNDECLARED',
      severity: 'error',
      message: `'=${read.expression.text}' reads ${fieldPathText(read.segments)}, which source.fields does not declare.`,
      hint: [
        suggestion === undefined ? undefined : `Did you mean ${fieldPathText([...parent, suggestion])}?`,
        names.length > 0 ? `Declared ${parent.length === 0 ? 'at the top' : `under ${fieldPathText(parent)}`}: ${[...names].sort().slice(0, 30).join(', ')}${names.length > 30 ? ', …' : ''}.` : undefined,
        'Correct the name, or add the field to source.fields if the export has it.',
      ]
        .filter((part) => part !== undefined)
        .join(' '),
      rule: read.expression.span,
    });
  }
  return out;
}
