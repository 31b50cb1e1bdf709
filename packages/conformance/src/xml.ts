import { createRequire } from 'node:module';
import type * as entitiesModule from '@nodable/entities';
import type * as fastXmlParserModule from 'fast-xml-parser';
import type { ConformanceCode, ConformanceIssue } from './codes.js';
import { parentPath } from './outcome.js';
import { keyMapOf, primitiveTypes } from './structure.js';
import type { CompiledStructure, ElementNode, ElementType } from './structure.js';

/** Line and column (both from 1) of a place in a source text. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A FHIR resource read from text: its JSON form, problems of the format itself, and where each element starts. */
export interface ParsedResource {
  /** The resource in FHIR JSON form, or undefined when the text could not be read at all. */
  readonly resource: Record<string, unknown> | undefined;
  /** Problems of the format (malformed text, undeclared entities, unknown attributes, element order …). */
  readonly issues: ConformanceIssue[];
  /** The position of an element by its FHIRPath (as the checker writes it); walks up to the nearest known ancestor. */
  readonly positionOf: (expression: string) => SourcePosition | undefined;
}

/** The compiled definition of a core type by name (resource, data type or primitive). */
export type StructureSource = (typeName: string) => CompiledStructure | undefined;

export const FHIR_NAMESPACE = 'http://hl7.org/fhir';
export const XHTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

interface XmlTools {
  readonly parser: fastXmlParserModule.XMLParser;
  readonly validate: typeof fastXmlParserModule.XMLValidator.validate;
  /** XML's five predefined entities. */
  readonly entities: Readonly<Record<string, string>>;
  readonly metadata: symbol;
}

let tools: XmlTools | undefined;

/** fast-xml-parser, loaded on first use (JSON-only runs never pay for it), configured for FHIR XML. */
function xmlTools(): XmlTools {
  if (!tools) {
    const require = createRequire(import.meta.url);
    const { XMLParser, XMLValidator } = require('fast-xml-parser') as typeof fastXmlParserModule;
    const { EntityDecoder, XML } = require('@nodable/entities') as typeof entitiesModule;
    const parser = new XMLParser({
      preserveOrder: true,
      captureMetaData: true,
      ignoreAttributes: false,
      attributeNamePrefix: '',
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: false,
      processEntities: true,
      // XML's five named entities and character references; FHIR XML has no DTD to declare others.
      entityDecoder: new EntityDecoder({ namedEntities: XML, numericAllowed: true }),
      commentPropName: '#comment',
      cdataPropName: '#cdata',
      ignoreDeclaration: true,
      ignorePiTags: true,
      // Keep names such as toString as written, so they are reported as unknown elements under their own name.
      onDangerousProperty: (name: string) => name,
    });
    tools = { parser, validate: (text, options) => XMLValidator.validate(text, options), entities: XML, metadata: XMLParser.getMetaDataSymbol() as unknown as symbol };
  }
  return tools;
}

/** One node of fast-xml-parser's ordered output: `{ tag: children, ':@': attributes }` or `{ '#text': text }`. */
type XmlNode = Record<string, unknown>;

interface Element {
  readonly name: string;
  readonly prefix: string;
  readonly children: readonly XmlNode[];
  readonly attributes: Readonly<Record<string, string>>;
  readonly start: number;
  readonly end: number;
}

type Json = Record<string, unknown>;

interface Item {
  readonly value: unknown;
  readonly under: Json | undefined;
  readonly start: number;
}

const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const numericTypes = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt', 'integer64']);

/**
 * Reads FHIR XML (https://hl7.org/fhir/R4/xml.html) into FHIR JSON: primitive `value` attributes become JSON
 * values of their type with `id` and extensions under `_name`, elements that repeat in the definitions become
 * arrays, `Extension.url` and `Element.id` are attributes, resources inside `contained`, `entry.resource` … are
 * unwrapped, and the narrative `div` becomes its XHTML text. Format rules that have no JSON counterpart (element
 * order, namespaces, unknown attributes, text where none belongs, undeclared entities) are reported as issues.
 */
export function readFhirXml(text: string, structureOf: StructureSource): ParsedResource {
  const issues: ConformanceIssue[] = [];
  const lines = lineStarts(text);
  const position = (offset: number): SourcePosition => positionAt(lines, offset);
  const positions = new Map<string, number>();
  const positionOf = (expression: string): SourcePosition | undefined => {
    let path: string | undefined = expression;
    while (path) {
      const offset = positions.get(path);
      if (offset !== undefined) {return position(offset);}
      path = parentPath(path);
    }
    const root = positions.get('');
    return root === undefined ? undefined : position(root);
  };
  const { parser, validate } = xmlTools();
  const wellFormed = validate(text);
  if (wellFormed !== true) {
    issues.push({ code: 'CONF_INPUT', severity: 'error', expression: '', message: `The XML is not well-formed: ${wellFormed.err.msg} (line ${wellFormed.err.line}, column ${wellFormed.err.col}).`, input: { file: '', line: wellFormed.err.line, column: wellFormed.err.col } });
    return { resource: undefined, issues, positionOf };
  }
  const reader = new Reader(text, structureOf, issues, positions, position);
  reader.checkEntities();
  let nodes: XmlNode[];
  try {
    nodes = parser.parse(text) as XmlNode[];
  } catch (error) {
    issues.push({ code: 'CONF_INPUT', severity: 'error', expression: '', message: `The XML cannot be read: ${error instanceof Error ? error.message : String(error)}` });
    return { resource: undefined, issues, positionOf };
  }
  const roots = nodes.map((n) => asElement(n)).filter((e): e is Element => e !== undefined);
  const root = roots[0];
  if (!root) {
    issues.push({ code: 'CONF_INPUT', severity: 'error', expression: '', message: 'The XML has no root element.' });
    return { resource: undefined, issues, positionOf };
  }
  positions.set('', root.start);
  const resource = reader.resource(root, root.name, new Map());
  return { resource, issues, positionOf };
}

class Reader {
  private readonly keyMaps = new WeakMap<readonly ElementNode[], ReturnType<typeof keyMapOf>>();
  private readonly wrongNamespaces = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly structureOf: StructureSource,
    private readonly issues: ConformanceIssue[],
    private readonly positions: Map<string, number>,
    private readonly position: (offset: number) => SourcePosition,
  ) {}

  /** Entity references other than XML's five and character references are not declared anywhere in FHIR XML. */
  checkEntities(): void {
    const text = this.text;
    const pattern = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|&([A-Za-z_][\w.-]*);/g;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      const name = m[1];
      if (name === undefined || name in xmlTools().entities) {continue;}
      this.report('CONF_INPUT', 'error', '', m.index, `The entity "${name}" was referenced, but not declared.`, 'FHIR XML has no DTD: write the character itself or a character reference such as &#174;.');
    }
  }

  resource(element: Element, expression: string, namespaces: ReadonlyMap<string, string>): Json | undefined {
    const scope = this.namespaces(element, namespaces);
    this.checkNamespace(element, scope, FHIR_NAMESPACE, expression);
    const structure = this.structureOf(element.name);
    if (!structure || structure.sd.kind !== 'resource') {
      this.report('CONF_RESOURCE_TYPE', 'error', expression, element.start, `Unknown resource type "${element.name}".`, 'The element must be named after an R4 resource type.');
      return undefined;
    }
    this.positions.set(expression, element.start);
    return { resourceType: element.name, ...this.complex(element, structure.root.children, structure, expression, scope, true) };
  }

  private complex(element: Element, children: readonly ElementNode[], structure: CompiledStructure, expression: string, namespaces: ReadonlyMap<string, string>, isResource = false): Json {
    const out: Json = {};
    let keyMap = this.keyMaps.get(children);
    if (!keyMap) {
      keyMap = keyMapOf(children);
      this.keyMaps.set(children, keyMap);
    }
    for (const [name, value] of Object.entries(element.attributes)) {
      if (isNamespaceDeclaration(name)) {continue;}
      const entry = keyMap.get(name);
      if (!isResource && entry?.node.def.representation?.includes('xmlAttr')) {
        out[name] = value;
        continue;
      }
      this.report('CONF_FORMAT', 'error', expression, element.start, `Undefined attribute "${name}" on ${element.name}.`, 'FHIR XML has attributes only for value, id and url.');
    }
    const groups = new Map<string, { node: ElementNode | undefined; type: ElementType | undefined; items: Item[] }>();
    let lastOrder = -1;
    let lastName = '';
    for (const child of element.children) {
      const sub = asElement(child);
      if (!sub) {
        this.checkText(child, expression, element);
        continue;
      }
      const scope = this.namespaces(sub, namespaces);
      const entry = keyMap.get(sub.name);
      if (entry?.node.def.representation?.includes('xmlAttr')) {
        this.report('CONF_FORMAT', 'error', expression, sub.start, `${sub.name} is an attribute in FHIR XML, not an element.`, `Write ${sub.name}="…" on <${element.name}>.`);
        continue;
      }
      let group = groups.get(sub.name);
      if (!group) {
        group = { node: entry?.node, type: entry?.type, items: [] };
        groups.set(sub.name, group);
      }
      const node = entry?.node;
      if (node) {
        const order = children.indexOf(node);
        if (order < lastOrder) {
          this.report('CONF_FORMAT', 'error', `${expression}.${sub.name}`, sub.start, `Element "${sub.name}" is out of order: it must come before "${lastName}".`, 'FHIR XML lists elements in the order of their definition.');
        } else {
          lastOrder = order;
          lastName = sub.name;
        }
      }
      const index = group.items.length;
      const isArray = node?.isArray === true;
      const itemExpression = isArray ? `${expression}.${sub.name}[${index}]` : `${expression}.${sub.name}`;
      group.items.push(node ? this.item(sub, node, entry?.type, structure, itemExpression, scope) : this.unknown(sub, itemExpression, scope));
    }
    for (const [name, group] of groups) {
      const many = group.node?.isArray === true || group.items.length > 1;
      if (!many) {
        const only = group.items[0];
        if (!only) {continue;}
        if (only.value !== undefined) {out[name] = only.value;}
        if (only.under !== undefined) {out[`_${name}`] = only.under;}
        this.positions.set(`${expression}.${name}`, only.start);
        continue;
      }
      if (group.node?.isArray !== true) {
        // A single element written more than once: the checker reports the JSON array that results.
        group.items.forEach((item, i) => this.positions.set(`${expression}.${name}[${i}]`, item.start));
      }
      this.positions.set(`${expression}.${name}`, group.items[0]?.start ?? element.start);
      if (group.items.some((i) => i.value !== undefined)) {out[name] = group.items.map((i) => i.value ?? null);}
      if (group.items.some((i) => i.under !== undefined)) {out[`_${name}`] = group.items.map((i) => i.under ?? null);}
    }
    return out;
  }

  private item(element: Element, node: ElementNode, choiceType: ElementType | undefined, structure: CompiledStructure, expression: string, namespaces: ReadonlyMap<string, string>): Item {
    this.positions.set(expression, element.start);
    const type = choiceType ?? (node.types.length === 1 ? node.types[0] : undefined);
    const code = type?.code;
    if (node.def.representation?.includes('xhtml') || code === 'xhtml') {
      this.checkNamespace(element, namespaces, XHTML_NAMESPACE, expression);
      return { value: serializeXhtml(element, namespaces), under: undefined, start: element.start };
    }
    this.checkNamespace(element, namespaces, FHIR_NAMESPACE, expression);
    if (code !== undefined && primitiveTypes.has(code)) {return this.primitive(element, code, expression, namespaces);}
    if (code === 'Resource' || (code !== undefined && this.structureOf(code)?.sd.kind === 'resource')) {
      return { value: this.contained(element, expression, namespaces), under: undefined, start: element.start };
    }
    let children: readonly ElementNode[] = node.children;
    let childStructure = structure;
    if (node.def.contentReference) {
      children = structure.byId.get(node.def.contentReference.replace(/^.*#/, ''))?.children ?? [];
    } else if (children.length === 0 && code !== undefined) {
      const typeStructure = this.structureOf(code);
      if (typeStructure) {
        children = typeStructure.root.children;
        childStructure = typeStructure;
      }
    }
    return { value: this.complex(element, children, childStructure, expression, namespaces), under: undefined, start: element.start };
  }

  private primitive(element: Element, type: string, expression: string, namespaces: ReadonlyMap<string, string>): Item {
    let value: unknown;
    const under: Json = {};
    for (const [name, text] of Object.entries(element.attributes)) {
      if (isNamespaceDeclaration(name)) {continue;}
      if (name === 'value') {value = primitiveValue(type, text);}
      else if (name === 'id') {under['id'] = text;}
      else {this.report('CONF_FORMAT', 'error', expression, element.start, `Undefined attribute "${name}" on ${element.name} (a ${type}).`, 'A primitive element has only the attributes value and id.');}
    }
    const structure = this.structureOf(type);
    const extensions: Item[] = [];
    for (const child of element.children) {
      const sub = asElement(child);
      if (!sub) {
        this.checkText(child, expression, element);
        continue;
      }
      const scope = this.namespaces(sub, namespaces);
      const extensionNode = structure?.root.children.find((c) => c.name === 'extension');
      if (sub.name === 'extension' && extensionNode && structure) {
        extensions.push(this.item(sub, extensionNode, undefined, structure, `${expression}.extension[${extensions.length}]`, scope));
      } else {
        this.report('CONF_UNKNOWN_ELEMENT', 'error', expression, sub.start, `Undefined element "${sub.name}" in ${element.name} (a ${type}): a primitive has only a value attribute, an id and extensions.`);
      }
    }
    if (extensions.length > 0) {under['extension'] = extensions.map((e) => e.value);}
    const hasUnder = Object.keys(under).length > 0 || value === undefined;
    return { value, under: hasUnder ? under : undefined, start: element.start };
  }

  private contained(element: Element, expression: string, namespaces: ReadonlyMap<string, string>): Json | undefined {
    let found: Element | undefined;
    for (const child of element.children) {
      const sub = asElement(child);
      if (!sub) {
        this.checkText(child, expression, element);
        continue;
      }
      if (found) {
        this.report('CONF_FORMAT', 'error', expression, sub.start, `<${element.name}> holds more than one resource.`);
        continue;
      }
      found = sub;
    }
    if (!found) {
      this.report('CONF_FORMAT', 'error', expression, element.start, `<${element.name}> must hold a resource.`);
      return undefined;
    }
    return this.resource(found, expression, this.namespaces(element, namespaces));
  }

  /** An element the definitions do not know: kept (as JSON of the same shape) so the checker reports it as unknown. */
  private unknown(element: Element, expression: string, namespaces: ReadonlyMap<string, string>): Item {
    this.positions.set(expression, element.start);
    const out: Json = {};
    for (const [name, value] of Object.entries(element.attributes)) {if (!isNamespaceDeclaration(name)) {out[name] = value;}}
    for (const child of element.children) {
      const sub = asElement(child);
      if (!sub) {continue;}
      const value = this.unknown(sub, `${expression}.${sub.name}`, this.namespaces(sub, namespaces)).value;
      const existing = out[sub.name];
      out[sub.name] = existing === undefined ? value : Array.isArray(existing) ? [...(existing as unknown[]), value] : [existing, value];
    }
    const keys = Object.keys(out);
    return { value: keys.length === 1 && keys[0] === 'value' ? out['value'] : out, under: undefined, start: element.start };
  }

  private checkText(node: XmlNode, expression: string, parent: Element): void {
    const text = node['#text'];
    const cdata = node['#cdata'];
    if ((typeof text === 'string' && text.trim() !== '') || cdata !== undefined) {
      const shown = typeof text === 'string' ? text.trim() : 'CDATA';
      this.report('CONF_FORMAT', 'error', expression, parent.start, `Text should not be present in <${parent.name}> ("${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}").`, 'FHIR XML carries values in value attributes, not as element text.');
    }
  }

  private namespaces(element: Element, outer: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
    let scope: Map<string, string> | undefined;
    for (const [name, value] of Object.entries(element.attributes)) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        scope ??= new Map(outer);
        scope.set(name === 'xmlns' ? '' : name.slice(6), value);
      }
    }
    return scope ?? outer;
  }

  private checkNamespace(element: Element, namespaces: ReadonlyMap<string, string>, expected: string, expression: string): void {
    const actual = namespaces.get(element.prefix);
    // Reported once per wrong namespace: a document without xmlns would otherwise repeat it on every element.
    if (actual !== expected && !this.wrongNamespaces.has(`${actual ?? ''} ${expected}`)) {
      this.wrongNamespaces.add(`${actual ?? ''} ${expected}`);
      this.report('CONF_FORMAT', 'error', expression, element.start, `<${element.prefix ? `${element.prefix}:` : ''}${element.name}> is in the namespace ${actual === undefined ? '(none)' : `"${actual}"`}, not "${expected}".`, `Declare xmlns="${expected}".`);
    }
  }

  private report(code: ConformanceCode, severity: 'fatal' | 'error' | 'warning', expression: string, offset: number, message: string, hint?: string): void {
    const at = this.position(offset);
    this.issues.push({ code, severity, expression, message, ...(hint !== undefined ? { hint } : {}), input: { file: '', line: at.line, column: at.column } });
  }
}

function asElement(node: XmlNode): Element | undefined {
  for (const key of Object.keys(node)) {
    if (key === ':@' || key.startsWith('#')) {continue;}
    const children = node[key];
    const colon = key.indexOf(':');
    const meta = (node as Record<symbol, { startIndex?: number; endIndex?: number } | undefined>)[xmlTools().metadata];
    return {
      name: colon >= 0 ? key.slice(colon + 1) : key,
      prefix: colon >= 0 ? key.slice(0, colon) : '',
      children: Array.isArray(children) ? (children as XmlNode[]) : [],
      attributes: (node[':@'] as Record<string, string> | undefined) ?? {},
      start: meta?.startIndex ?? 0,
      end: meta?.endIndex ?? 0,
    };
  }
  return undefined;
}

function isNamespaceDeclaration(name: string): boolean {
  return name === 'xmlns' || name.startsWith('xmlns:');
}

function primitiveValue(type: string, text: string): unknown {
  if (type === 'boolean') {return text === 'true' ? true : text === 'false' ? false : text;}
  if (numericTypes.has(type)) {
    const pattern = type === 'decimal' ? DECIMAL : INTEGER;
    return pattern.test(text) ? Number(text) : text;
  }
  return text;
}

/** The XHTML of a narrative `div` as text, in the XHTML namespace without prefixes (the form FHIR JSON carries). */
export function serializeXhtml(element: Element, namespaces: ReadonlyMap<string, string>): string {
  const out: string[] = [];
  const write = (el: Element, root: boolean): void => {
    out.push(`<${el.name}`);
    const attributes = Object.entries(el.attributes).filter(([name]) => !isNamespaceDeclaration(name));
    if (root) {out.push(` xmlns="${XHTML_NAMESPACE}"`);}
    for (const [name, value] of attributes) {out.push(` ${name}="${escapeXml(value, true)}"`);}
    if (el.children.length === 0) {
      out.push('/>');
      return;
    }
    out.push('>');
    for (const child of el.children) {
      const sub = asElement(child);
      if (sub) {write(sub, false);}
      else if (typeof child['#text'] === 'string') {out.push(escapeXml(child['#text'], false));}
      else if (Array.isArray(child['#cdata'])) {
        for (const c of child['#cdata'] as XmlNode[]) {if (typeof c['#text'] === 'string') {out.push(escapeXml(c['#text'], false));}}
      }
    }
    out.push(`</${el.name}>`);
  };
  void namespaces;
  write(element, true);
  return out.join('');
}

function escapeXml(text: string, attribute: boolean): string {
  let s = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (attribute) {s = s.replace(/"/g, '&quot;');}
  return s;
}

/** Offsets where each line starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {starts.push(i + 1);}
  return starts;
}

export function positionAt(starts: readonly number[], offset: number): SourcePosition {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) {lo = mid;}
    else {hi = mid - 1;}
  }
  return { line: lo + 1, column: offset - (starts[lo] ?? 0) + 1 };
}

