import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Diagnostic, InputSpan } from '../diagnostics/diagnostic.js';
import type { SourceSpec, XmlOptions } from '../mapping/model.js';
import { TextChunks } from './decode.js';
import { inputBytes, unreadable } from './inputs.js';
import { limitProblem, limitsOf, overBytes, utf8Bytes, xmlDepth } from './limits.js';
import { keyAt } from './record-key.js';
import { eachRecord, type OpenedSource } from './source.js';
import { inputName, setOrigin, type InputFile, type NodeOrigin, type SourceNode, type SourceRecord, type SourceValue } from './types.js';

const LF = 10;
const defaultXml: XmlOptions = { record: '', attributePrefix: '', textName: 'text', namespaces: 'strip' };
const metadata = XMLParser.getMetaDataSymbol() as unknown as symbol;

/** The predefined XML entities and character references; nothing else is ever expanded. */
const entityPattern = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(lt|gt|amp|apos|quot));/g;
const predefined: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
function decodeEntities(text: string): string {
  if (!text.includes('&')) {
    return text;
  }
  return text.replace(entityPattern, (whole, hex: string | undefined, decimal: string | undefined, name: string | undefined) => {
    if (name !== undefined) {
      return predefined[name]!;
    }
    const code = hex !== undefined ? parseInt(hex, 16) : Number(decimal);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

const localName = (name: string): string => name.slice(name.indexOf(':') + 1);

/**
 * After `<!DOCTYPE` at `from`: true when an internal subset (`[`) opens before the declaration's `>`, outside the
 * quoted system and public literals; false when the declaration ends without one; undefined when `text` ends first.
 */
function internalSubsetAt(text: string, from: number): boolean | undefined {
  let quote = 0;
  for (let k = from; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (quote !== 0) {
      if (c === quote) {
        quote = 0;
      }
    } else if (c === 34 || c === 39) {
      quote = c;
    } else if (c === 91 /* [ */) {
      return true;
    } else if (c === 62 /* > */) {
      return false;
    }
  }
  return undefined;
}

/** Characters XML 1.0 does not allow (https://www.w3.org/TR/xml/#charsets), written as such in the text. */
// eslint-disable-next-line no-control-regex -- these control characters are what the pattern is for
const forbiddenCharacter = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const characterReference = /&#(?:x([0-9a-fA-F]+)|([0-9]+));/g;
const allowedCodePoint = (code: number): boolean =>
  code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);

/** The offset and description of the first character, or character reference, that XML does not allow. */
function forbiddenCharacterIn(text: string): { offset: number; what: string } | undefined {
  const literal = forbiddenCharacter.exec(text);
  let found: { offset: number; what: string } | undefined =
    literal === null ? undefined : { offset: literal.index, what: `the character U+${literal[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` };
  if (text.includes('&#')) {
    for (const match of text.matchAll(characterReference)) {
      if (found !== undefined && match.index > found.offset) {
        break;
      }
      const digits = match[1] ?? match[2]!;
      const code = digits.length > 8 ? Infinity : parseInt(digits, match[1] !== undefined ? 16 : 10);
      if (!allowedCodePoint(code)) {
        found = { offset: match.index, what: `the character reference ${match[0].length > 24 ? `${match[0].slice(0, 20)}…` : match[0]}` };
        break;
      }
    }
  }
  return found;
}

/** The text of one record element and where it sits in its file. */
class XmlRecordText {
  key = '';
  constructor(
    readonly file: string,
    readonly text: string,
    readonly line: number,
    readonly column: number,
  ) {}

  position(offset: number): { line: number; column: number } {
    let line = this.line;
    let lineStart = -1;
    for (let k = 0; k < offset && k < this.text.length; k++) {
      if (this.text.charCodeAt(k) === LF) {
        line++;
        lineStart = k;
      }
    }
    return { line, column: lineStart === -1 ? this.column + offset : offset - lineStart };
  }
}

type OrderedEntry = Record<string, unknown>;
const startOf = (entry: OrderedEntry): number | undefined =>
  (entry as unknown as Record<symbol, { startIndex?: number } | undefined>)[metadata]?.startIndex;

/** Locates an XML element, one of its attributes or one of its child elements. */
class XmlOrigin implements NodeOrigin {
  constructor(
    private readonly record: XmlRecordText,
    private readonly xpath: string,
    private readonly entry: OrderedEntry,
    private readonly name: string,
    private readonly attributeNames: readonly string[],
    private readonly prefix: string,
  ) {}

  locate(field?: string): InputSpan {
    const start = startOf(this.entry) ?? 0;
    let offset = start;
    let xpath = this.xpath;
    if (field !== undefined) {
      if (this.attributeNames.includes(field)) {
        const bare = field.slice(this.prefix.length);
        xpath = `${this.xpath}/@${bare}`;
        const tag = this.record.text.slice(start, this.record.text.indexOf('>', start) + 1);
        const match = new RegExp(`[\\s:]${bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`).exec(tag);
        if (match !== null) {
          offset = start + match.index + 1;
        }
      } else {
        xpath = `${this.xpath}/${field}`;
        const children = this.entry[this.name];
        if (Array.isArray(children)) {
          for (const child of children as OrderedEntry[]) {
            const childName = Object.keys(child).find((key) => key !== ':@');
            if (childName !== undefined && localName(childName) === field) {
              offset = startOf(child) ?? offset;
              break;
            }
          }
        }
      }
    }
    const { line, column } = this.record.position(offset);
    return {
      file: this.record.file,
      line,
      column,
      xpath,
      ...(field === undefined ? {} : { field }),
      ...(this.record.key === '' ? {} : { recordKey: this.record.key }),
    };
  }
}

/** Builds the record value of one element from fast-xml-parser's ordered output. */
function buildElement(entry: OrderedEntry, name: string, xpath: string, record: XmlRecordText, options: XmlOptions): SourceValue {
  const children = (entry[name] as OrderedEntry[] | undefined) ?? [];
  const attributes = entry[':@'] as Record<string, string> | undefined;
  let text = '';
  let hasElements = false;
  for (const child of children) {
    if ('#text' in child) {
      text += decodeEntities(String(child['#text']));
    } else if ('#cdata' in child) {
      text += (child['#cdata'] as { '#text'?: string }[])[0]?.['#text'] ?? '';
    } else if (!('#comment' in child) && !Object.keys(child).some((key) => key.startsWith('?'))) {
      hasElements = true;
    }
  }
  if (attributes === undefined && !hasElements) {
    return text;
  }
  const node: SourceNode = Object.create(null) as SourceNode;
  const attributeNames: string[] = [];
  if (attributes !== undefined) {
    for (const attribute of Object.keys(attributes)) {
      const key = options.attributePrefix + attribute;
      attributeNames.push(key);
      const value = decodeEntities(String(attributes[attribute]));
      if (value !== '') {
        node[key] = value;
      }
    }
  }
  const positions = new Map<string, number>();
  for (const child of children) {
    const childName = Object.keys(child).find((key) => key !== ':@');
    if (childName === undefined || childName === '#text' || childName === '#cdata' || childName === '#comment' || childName.startsWith('?')) {
      continue;
    }
    const position = (positions.get(childName) ?? 0) + 1;
    positions.set(childName, position);
    const value = buildElement(child, childName, `${xpath}/${childName}[${position}]`, record, options);
    if (value === '') {
      continue;
    }
    const existing = node[childName];
    if (existing === undefined) {
      node[childName] = value;
    } else if (Array.isArray(existing) && position > 1) {
      (existing as SourceValue[]).push(value);
    } else {
      node[childName] = [existing, value];
    }
  }
  if (text !== '' && (!hasElements || text.trim() !== '')) {
    node[options.textName] = text;
  }
  setOrigin(node, new XmlOrigin(record, xpath, entry, name, attributeNames, options.attributePrefix));
  return node;
}

/** How much of an oversized record's text the dead letter keeps. */
const rawKeptChars = 64 * 1024;

/**
 * A construct open where the buffered text ends: a tag (whose `>` counts outside quoted attribute values), or a
 * comment, CDATA section, declaration or processing instruction ending at `closer`. `from` is where the search
 * goes on (nothing before it is searched again); `head` is its first characters once it is too long to keep.
 */
interface OpenConstruct {
  readonly kind: 'tag' | 'doctype' | 'other';
  readonly closer: string;
  readonly start: number;
  /** Line and column of `start`. */
  readonly at: { readonly line: number; readonly column: number };
  from: number;
  quote: number;
  head?: string;
}

/**
 * The next chunks of text, joined, until they hold at least `size` characters or the input ends (`last`); undefined
 * text when the input had ended already.
 */
async function readAtLeast(chunks: TextChunks, size: number): Promise<{ text: string | undefined; last: boolean }> {
  const first = await chunks.next();
  if (first === undefined || first.length >= size) {
    return { text: first, last: false };
  }
  const parts = [first];
  let length = first.length;
  while (length < size) {
    const next = await chunks.next();
    if (next === undefined) {
      return { text: parts.join(''), last: true };
    }
    parts.push(next);
    length += next.length;
  }
  return { text: parts.join(''), last: false };
}

/** The absolute offset just past the construct's end in `text` (at absolute `base`), or -1, updating its search state. */
function closeOf(open: OpenConstruct, text: string, base: number): number {
  if (open.kind === 'other') {
    const at = text.indexOf(open.closer, open.from - base);
    if (at === -1) {
      open.from = Math.max(open.from, base + text.length - open.closer.length + 1);
      return -1;
    }
    return base + at + open.closer.length;
  }
  let quote = open.quote;
  for (let k = open.from - base; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (quote !== 0) {
      if (c === quote) {
        quote = 0;
      } else {
        // inside a quoted value: jump to its closing quote
        const next = text.indexOf(quote === 34 ? '"' : "'", k);
        if (next === -1) {
          break;
        }
        k = next - 1;
      }
    } else if (c === 34 || c === 39) {
      quote = c;
    } else if (c === 62) {
      return base + k + 1;
    }
  }
  open.quote = quote;
  open.from = base + text.length;
  return -1;
}

/** Opens an XML source: every input is streamed in turn and cut into record elements at `xml.record`. */
// eslint-disable-next-line @typescript-eslint/require-await
export async function openXmlSource(spec: SourceSpec, inputs: readonly InputFile[]): Promise<OpenedSource> {
  const options = { ...defaultXml, ...spec.xml };
  const diagnostics: Diagnostic[] = [];
  const recordPath = options.record.split('/').filter((step) => step !== '');
  if (recordPath.length === 0) {
    diagnostics.push({ code: 'SRC_RECORD_PATH', severity: 'fatal', message: 'source.xml.record is empty: the slash path of the record elements is needed.', hint: 'Set source.xml.record, e.g. /CadExport/Incidents/Incident.', rule: spec.span });
  }
  if (inputs.length === 0) {
    diagnostics.push({ code: 'SRC_NO_INPUT', severity: 'fatal', message: 'No input file was given.', hint: 'Pass the export file to read.', input: { file: '' } });
  }
  const parser = new XMLParser({
    preserveOrder: true,
    captureMetaData: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: false,
    htmlEntities: false,
    removeNSPrefix: options.namespaces === 'strip',
    allowBooleanAttributes: false,
    commentPropName: '#comment',
    cdataPropName: '#cdata',
    // keep names such as toString or valueOf as written (records are null-prototype objects); the parser would
    // otherwise rename them to __toString silently
    onDangerousProperty: (name: string) => name,
  });
  return {
    files: inputs.map((input) => ({ table: '', file: inputName(input) })),
    diagnostics,
    records: eachRecord(async function* () {
      if (diagnostics.some((d) => d.severity === 'fatal')) {
        return;
      }
      for (const input of inputs) {
        const file = inputName(input);
        const chunks = new TextChunks(inputBytes(input, limitsOf(spec).maxFileBytes), spec.encoding);
        try {
          yield* readXml(spec, options, recordPath, parser, file, chunks);
        } finally {
          await chunks.close();
        }
        if (chunks.readError !== undefined) {
          yield { key: '', data: undefined, origin: { file }, raw: '', diagnostics: [unreadable(file, chunks.readError)] };
        }
      }
    }),
  };
}

function syntax(file: string, line: number, column: number, message: string, hint: string, extra: Partial<InputSpan> = {}): Diagnostic {
  return { code: 'SRC_XML_SYNTAX', severity: 'error', message: `${file}:${line}:${column}: ${message}`, hint, input: { file, line, column, ...extra } };
}

function parseRecord(spec: SourceSpec, options: XmlOptions, parser: XMLParser, record: XmlRecordText, xpath: string, issues: Diagnostic[]): SourceRecord {
  const origin: InputSpan = { file: record.file, line: record.line, column: record.column, xpath };
  const reject = (diagnostic: Diagnostic): SourceRecord => ({ key: '', data: undefined, origin, raw: record.text, diagnostics: [...issues, diagnostic] });
  const limits = limitsOf(spec);
  if (overBytes(record.text, limits.maxRecordBytes)) {
    return reject(limitProblem('maxRecordBytes', limits.maxRecordBytes, `the record ${xpath}`, origin, utf8Bytes(record.text)));
  }
  if (xmlDepth(record.text, limits.maxDepth) > limits.maxDepth) {
    return reject(limitProblem('maxDepth', limits.maxDepth, `the element nesting of the record ${xpath}`, origin));
  }
  const forbidden = forbiddenCharacterIn(record.text);
  if (forbidden !== undefined) {
    const at = record.position(forbidden.offset);
    return reject({
      code: 'SRC_XML_CHARACTER',
      severity: 'error',
      message: `${record.file}:${at.line}:${at.column}: the record ${xpath} holds ${forbidden.what}, which XML does not allow.`,
      hint: 'Remove the character from the export (XML 1.0 allows tab, line breaks and printable characters only); the record is set aside.',
      input: { file: record.file, ...at, xpath },
    });
  }
  const valid = XMLValidator.validate(record.text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { line, column } = valid.err.line === 1 ? { line: record.line, column: record.column + valid.err.col - 1 } : { line: record.line + valid.err.line - 1, column: valid.err.col };
    return reject(syntax(record.file, line, column, `the record ${xpath} is not well-formed XML: ${valid.err.msg}`, 'Fix the XML at that position; the record is set aside and reading goes on with the next one.', { xpath }));
  }
  let parsed: OrderedEntry[];
  try {
    parsed = parser.parse(record.text) as OrderedEntry[];
  } catch (error) {
    return reject(syntax(record.file, record.line, record.column, `the record ${xpath} cannot be read: ${(error as Error).message}`, 'Rename the offending element or attribute.', { xpath }));
  }
  const entry = parsed.find((item) => Object.keys(item).some((key) => key !== ':@' && !key.startsWith('?') && key !== '#comment' && key !== '#text'));
  const name = entry === undefined ? undefined : Object.keys(entry).find((key) => key !== ':@');
  if (entry === undefined || name === undefined) {
    return reject(syntax(record.file, record.line, record.column, `the record ${xpath} holds no element.`, 'Check source.xml.record.', { xpath }));
  }
  const built = buildElement(entry, name, xpath, record, options);
  let data: SourceNode;
  if (typeof built === 'object' && built !== null && !Array.isArray(built)) {
    data = built as SourceNode;
  } else {
    data = Object.create(null) as SourceNode;
    data[options.textName] = built;
    setOrigin(data, new XmlOrigin(record, xpath, entry, name, [], options.attributePrefix));
  }
  if (issues.length > 0) {
    return { key: '', data: undefined, origin, raw: record.text, diagnostics: issues };
  }
  if (spec.key === undefined) {
    return { key: '', data, origin, raw: record.text, diagnostics: [] };
  }
  const key = keyAt(data, spec.key, options.textName);
  if (key === '') {
    return reject({ code: 'SRC_MISSING_KEY', severity: 'error', message: `${record.file}:${record.line}:${record.column}: the record ${xpath} has no value at its key path "${spec.key}".`, hint: 'Every record needs a key; check source.key.', input: origin });
  }
  record.key = key;
  return { key, data, origin: { ...origin, recordKey: key }, raw: record.text, diagnostics: [] };
}

interface OpenElement {
  readonly name: string;
  /** Children seen so far per name (for XPath positions), kept only above the records. */
  readonly counts: Map<string, number> | undefined;
  readonly position: number;
}

/**
 * Streams one XML document and cuts it into record elements with a small scanner that tracks element depth and
 * steps over comments, CDATA sections, processing instructions and quoted attribute values; each record's text is
 * then checked and parsed on its own, so a broken record is set aside and the next one is read.
 */
async function* readXml(spec: SourceSpec, options: XmlOptions, recordPath: readonly string[], parser: XMLParser, file: string, chunks: TextChunks): AsyncGenerator<SourceRecord> {
  const strip = options.namespaces === 'strip';
  const depth = recordPath.length;
  const stack: OpenElement[] = [];
  const queue: SourceRecord[] = [];
  let text = '';
  let base = 0;
  let scanned = 0; // absolute offset of the next character to scan
  let counted = 0; // absolute offset up to which lines are counted
  let line = 1;
  let lineStart = 0;
  let recordStart = -1;
  let recordLine = 0;
  let recordColumn = 0;
  let recordXpath = '';
  let found = false;
  let ended = false;
  let refused = false;

  const advanceLines = (to: number): void => {
    for (let k = Math.max(counted, base) - base; k < to - base; k++) {
      if (text.charCodeAt(k) === LF) {
        line++;
        lineStart = base + k + 1;
      }
    }
    counted = Math.max(counted, to);
  };
  const here = (absolute: number): { line: number; column: number } => {
    advanceLines(absolute);
    return { line, column: absolute - lineStart + 1 };
  };
  const pathMatches = (): boolean => {
    if (stack.length !== depth) {
      return false;
    }
    for (let k = 0; k < depth; k++) {
      if (stack[k]!.name !== recordPath[k]) {
        return false;
      }
    }
    return true;
  };
  const xpathOfRecord = (): string =>
    stack.map((element, index) => (index === depth - 1 || element.position > 1 ? `${element.name}[${element.position}]` : element.name)).reduce((path, step) => `${path}/${step}`, '');
  const maxRecord = limitsOf(spec).maxRecordBytes;
  /** The first characters of a record found over maxRecordBytes while streaming; the rest of it is dropped. */
  let oversized: string | undefined;
  const endRecord = (end: number, broken?: Diagnostic): void => {
    if (oversized !== undefined) {
      const origin: InputSpan = { file, line: recordLine, column: recordColumn, xpath: recordXpath };
      const issues: Diagnostic[] = [];
      while (chunks.issues.length > 0 && chunks.issues[0]!.offset < end) {
        chunks.issues.shift(); // inside the record set aside below
      }
      const problem = limitProblem('maxRecordBytes', maxRecord, `the record ${recordXpath}`, origin);
      issues.push({ ...problem, message: `${problem.message} Only its first ${oversized.length} characters are kept.` });
      queue.push({ key: '', data: undefined, origin, raw: oversized, diagnostics: broken === undefined ? issues : [...issues, broken] });
      oversized = undefined;
      recordStart = -1;
      return;
    }
    const recordText = text.slice(recordStart - base, end - base);
    const record = new XmlRecordText(file, recordText, recordLine, recordColumn);
    const issues: Diagnostic[] = [];
    while (chunks.issues.length > 0 && chunks.issues[0]!.offset < end) {
      const issue = chunks.issues.shift()!;
      const at = record.position(Math.max(0, issue.offset - recordStart));
      issues.push({ code: 'SRC_ENCODING', severity: 'error', message: `Bytes ${issue.bytes} at line ${at.line}, column ${at.column} of ${file} are not valid ${chunks.encoding}.`, hint: 'Declare the encoding the export is written in (source.encoding).', input: { file, ...at, xpath: recordXpath } });
    }
    if (broken !== undefined) {
      queue.push({ key: '', data: undefined, origin: { file, line: recordLine, column: recordColumn, xpath: recordXpath }, raw: recordText, diagnostics: [...issues, broken] });
    } else {
      queue.push(parseRecord(spec, options, parser, record, recordXpath, issues));
    }
    recordStart = -1;
  };
  /** A comment, CDATA section, declaration, processing instruction or tag still open where the text ends. */
  let pending: OpenConstruct | undefined;
  /** Where the tag being read again after {@link pending} ends (so its quotes are not scanned twice). */
  let tagEndKnown = -1;
  const outside = (diagnostic: Diagnostic, raw: string): void => {
    queue.push({ key: '', data: undefined, origin: diagnostic.input ?? { file }, raw, diagnostics: [diagnostic] });
  };

  while (!ended && !refused) {
    // while a record or construct is open, read at least as much new text as is kept, so that the text is copied a
    // bounded number of times (each append copies it) however long it grows
    const { text: more, last } = await readAtLeast(chunks, text.length - Math.max(0, scanned - base));
    if (more === undefined) {
      ended = true;
    } else {
      advanceLines(scanned);
      // how far the text has been searched: past `scanned` when a construct is still open there
      const reach = pending?.from ?? scanned;
      if (recordStart !== -1 && oversized === undefined && reach - recordStart > maxRecord) {
        // more characters than the limit allows bytes: set the record aside now and stop keeping its text
        oversized = text.slice(recordStart - base, recordStart - base + rawKeptChars);
      }
      if (pending !== undefined && pending.head === undefined && (pending.from - pending.start > maxRecord || (pending.kind === 'other' && recordStart === -1 && pending.from - pending.start > rawKeptChars))) {
        // an open comment, declaration or tag this long is kept as its first characters only (a comment or
        // declaration outside records is never read again, so at once)
        pending.head = text.slice(pending.start - base, pending.start - base + rawKeptChars);
      }
      let keep = recordStart === -1 || oversized !== undefined ? scanned : recordStart;
      if (pending?.head !== undefined && (recordStart === -1 || oversized !== undefined)) {
        advanceLines(pending.from);
        keep = pending.from;
      }
      text = text.slice(keep - base) + more;
      base = keep;
      ended = last;
    }
    const n = text.length;
    let i = scanned - base;
    if (pending !== undefined) {
      const open = pending;
      const close = closeOf(open, text, base);
      if (close === -1) {
        if (!ended) {
          continue;
        }
        pending = undefined;
        const { at } = open;
        const problem = syntax(file, at.line, at.column, open.kind === 'tag' ? 'a tag is never closed (the file ends inside it).' : 'a comment, CDATA section or declaration is never closed.', 'The file looks truncated, or a quote or comment is not closed.');
        const raw = open.head ?? text.slice(open.start - base, open.start - base + rawKeptChars);
        if (recordStart !== -1) {
          endRecord(base + n, problem);
        } else {
          outside(problem, raw);
        }
        i = n;
      } else {
        pending = undefined;
        if (open.kind !== 'other' && open.head !== undefined) {
          // a tag or DOCTYPE longer than maxRecordBytes: set aside, and reading goes on after it
          const problem = limitProblem('maxRecordBytes', maxRecord, open.kind === 'tag' ? 'a tag' : 'the DOCTYPE declaration', { file, ...open.at });
          if (recordStart === -1) {
            outside(problem, open.head);
          }
          i = close - base;
        } else {
          // a tag or DOCTYPE is read again from its start (its text is all there); anything else is stepped over
          i = open.kind === 'other' ? close - base : open.start - base;
          if (open.kind === 'tag') {
            tagEndKnown = close;
          }
        }
      }
    }
    while (i < n) {
      const lt = text.indexOf('<', i);
      if (lt === -1) {
        i = n;
        break;
      }
      i = lt;
      if (i + 1 >= n && !ended) {
        break;
      }
      const next = text.charCodeAt(i + 1);
      let close = -1;
      if (next === 33 /* ! */) {
        if (text.startsWith('<!--', i)) {
          close = text.indexOf('-->', i + 4);
          if (close !== -1) {
            close += 3;
          }
        } else if (text.startsWith('<![CDATA[', i)) {
          close = text.indexOf(']]>', i + 9);
          if (close !== -1) {
            close += 3;
          }
        } else if (i + 9 > n && !ended) {
          break;
        } else if (/^<!doctype/i.test(text.slice(i, i + 9))) {
          const subset = internalSubsetAt(text, i + 9);
          if (subset === undefined && !ended) {
            pending = { kind: 'doctype', closer: '>', start: base + i, at: here(base + i), from: base + i + 9, quote: 0 };
            break;
          }
          if (subset !== false) {
            const at = here(base + i);
            outside(
              syntax(file, at.line, at.column, 'the DOCTYPE has an internal subset (where entities are declared), which cadmap refuses; the file is not read.', 'Export the file without a DOCTYPE internal subset.'),
              text.slice(i, i + 200),
            );
            refused = true;
            break;
          }
          close = text.indexOf('>', i);
          if (close !== -1) {
            close += 1;
          }
        } else {
          close = text.indexOf('>', i);
          if (close !== -1) {
            close += 1;
          }
        }
        if (close === -1) {
          if (ended) {
            const at = here(base + i);
            const problem = syntax(file, at.line, at.column, 'a comment, CDATA section or declaration is never closed.', 'The file looks truncated.');
            if (recordStart !== -1) {
              endRecord(base + n, problem);
            } else {
              outside(problem, text.slice(i, i + rawKeptChars));
            }
            i = n;
          } else {
            const closer = text.startsWith('<!--', i) ? '-->' : text.startsWith('<![CDATA[', i) ? ']]>' : '>';
            pending = { kind: 'other', closer, start: base + i, at: here(base + i), from: base + Math.max(i + 2, n - closer.length + 1), quote: 0 };
          }
          break;
        }
        i = close;
        continue;
      }
      if (next === 63 /* ? */) {
        close = text.indexOf('?>', i + 2);
        if (close === -1) {
          if (ended) {
            i = n;
          } else {
            pending = { kind: 'other', closer: '?>', start: base + i, at: here(base + i), from: base + Math.max(i + 2, n - 1), quote: 0 };
          }
          break;
        }
        i = close + 2;
        continue;
      }
      // a start or end tag: find its '>' outside quoted attribute values
      let k: number;
      if (tagEndKnown !== -1) {
        k = tagEndKnown - base - 1;
        tagEndKnown = -1;
      } else {
        const tag = { kind: 'tag', closer: '>', start: base + i, from: base + i + 1, quote: 0 } as const;
        const search = { ...tag, at: { line: 0, column: 0 } };
        const end = closeOf(search, text, base);
        if (end === -1) {
          if (!ended) {
            pending = { ...search, at: here(base + i) };
            break;
          }
          const at = here(base + i);
          const problem = syntax(file, at.line, at.column, 'a tag is never closed (the file ends inside it).', 'The file looks truncated.');
          if (recordStart !== -1) {
            endRecord(base + n, problem);
          } else {
            outside(problem, text.slice(i, i + rawKeptChars));
          }
          i = n;
          break;
        }
        k = end - base - 1;
      }
      const tagEnd = k + 1;
      if (next === 47 /* / */) {
        const rawName = text.slice(i + 2, k).trim();
        const name = strip ? localName(rawName) : rawName;
        let match = stack.length - 1;
        while (match >= 0 && stack[match]!.name !== name) {
          match--;
        }
        if (match === -1) {
          if (recordStart === -1) {
            const at = here(base + i);
            outside(syntax(file, at.line, at.column, `the end tag </${rawName}> closes no open element.`, 'Fix the element nesting.'), text.slice(i, tagEnd));
          }
        } else {
          const closesRecord = recordStart !== -1 && match < depth;
          stack.length = match;
          if (closesRecord) {
            endRecord(base + tagEnd);
          }
        }
      } else {
        let nameEnd = i + 1;
        while (nameEnd < k) {
          const c = text.charCodeAt(nameEnd);
          if (c === 32 || c === 9 || c === 10 || c === 13 || c === 47) {
            break;
          }
          nameEnd++;
        }
        const rawName = text.slice(i + 1, nameEnd);
        const name = strip ? localName(rawName) : rawName;
        const selfClosing = text.charCodeAt(k - 1) === 47;
        const parent = stack[stack.length - 1];
        let position = 1;
        if (parent?.counts !== undefined) {
          position = (parent.counts.get(name) ?? 0) + 1;
          parent.counts.set(name, position);
        }
        stack.push({ name, counts: stack.length < depth ? new Map() : undefined, position });
        if (recordStart === -1 && pathMatches()) {
          found = true;
          recordStart = base + i;
          ({ line: recordLine, column: recordColumn } = here(recordStart));
          recordXpath = xpathOfRecord();
        }
        if (selfClosing) {
          stack.pop();
          if (recordStart === base + i) {
            endRecord(base + tagEnd);
          }
        }
      }
      i = tagEnd;
    }
    scanned = base + i;
    if (ended) {
      if (recordStart !== -1) {
        const at = { line: recordLine, column: recordColumn };
        endRecord(base + n, syntax(file, at.line, at.column, `the file ends inside the record ${recordXpath} (its end tag is missing).`, 'The file looks truncated; check that the export finished writing it.', { xpath: recordXpath }));
      }
      if (!found && !refused) {
        outside({ code: 'SRC_RECORD_PATH', severity: 'error', message: `${file}: no element is at the record path ${options.record}.`, hint: 'Check source.xml.record against the document (element names are matched without namespace prefixes unless namespaces: keep).', input: { file, xpath: options.record } }, '');
      }
    }
    while (queue.length > 0) {
      yield queue.shift()!;
    }
  }
}
