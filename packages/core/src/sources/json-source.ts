import { findNodeAtLocation, parse as parseLenient, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import type { Diagnostic, DiagnosticCode, InputSpan } from '../diagnostics/diagnostic.js';
import type { SourceSpec } from '../mapping/model.js';
import { TextChunks } from './decode.js';
import { inputBytes, unreadable } from './inputs.js';
import { jsonDepth, limitProblem, limitsOf, overBytes, utf8Bytes } from './limits.js';
import { eachRecord, type OpenedSource } from './source.js';
import { inputName, setOrigin, type InputFile, type NodeOrigin, type SourceNode, type SourceRecord, type SourceValue } from './types.js';
import { keyAt } from './record-key.js';

const LF = 10;

/** Escapes one JSON pointer token (RFC 6901). */
export const pointerToken = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapeToken = (token: string): string => token.replace(/~1/g, '/').replace(/~0/g, '~');

/** Where one JSON record's text sits, shared by the origins of all its objects. */
class RecordText {
  key = '';
  private tree: JsonNode | undefined | null = null;
  constructor(
    readonly file: string,
    readonly text: string,
    readonly line: number,
    readonly column: number,
    /** Pointer of the record in the file ('' for NDJSON, where pointers are relative to the line). */
    readonly pointer: string,
    readonly row: number | undefined,
  ) {}

  /** Line and column of `offset` in the record text. */
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

  /** Offset of the value at a pointer relative to the record, located lazily (only when a diagnostic needs it). */
  offsetOf(relative: string): number | undefined {
    if (this.tree === null) {
      this.tree = parseTree(this.text);
    }
    if (this.tree === undefined) {
      return undefined;
    }
    const path = relative === '' ? [] : relative.slice(1).split('/').map(unescapeToken);
    let node: JsonNode | undefined = this.tree;
    for (const token of path) {
      if (node === undefined) {
        return undefined;
      }
      node = node.type === 'array' ? node.children?.[Number(token)] : findNodeAtLocation(node, [token]);
    }
    return node?.offset;
  }

  span(relative: string, field?: string): InputSpan {
    const pointer = field === undefined ? this.pointer + relative : `${this.pointer}${relative}/${pointerToken(field)}`;
    const offset = this.offsetOf(field === undefined ? relative : `${relative}/${pointerToken(field)}`) ?? this.offsetOf(relative) ?? 0;
    const { line, column } = this.position(offset);
    return {
      file: this.file,
      line,
      column,
      ...(this.row === undefined ? {} : { row: this.row }),
      pointer,
      ...(field === undefined ? {} : { field }),
      ...(this.key === '' ? {} : { recordKey: this.key }),
    };
  }
}

class JsonOrigin implements NodeOrigin {
  constructor(
    private readonly record: RecordText,
    private readonly relative: string,
  ) {}
  locate(field?: string): InputSpan {
    return this.record.span(this.relative, field);
  }
}

/**
 * Copies parsed JSON into null-prototype objects, each with its origin. A null item of a list is left out, as
 * null is an absent value: otherwise fhirpath.js would count it (`list.count()`) where the compiled forms skip
 * it. Items keep the pointers of their place in the text.
 */
function adopt(value: unknown, record: RecordText, relative: string): SourceValue {
  if (typeof value !== 'object' || value === null) {
    return value as SourceValue;
  }
  if (Array.isArray(value)) {
    const items: SourceValue[] = [];
    value.forEach((item, index) => {
      if (item !== null) {
        items.push(adopt(item, record, `${relative}/${index}`));
      }
    });
    return items;
  }
  const node: SourceNode = Object.create(null) as SourceNode;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    node[key] = adopt(source[key], record, `${relative}/${pointerToken(key)}`);
  }
  setOrigin(node, new JsonOrigin(record, relative));
  return node;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses one record's text into a SourceRecord, rejected with a positioned diagnostic when it is not a JSON object. */
function toRecord(spec: SourceSpec, record: RecordText, extra: Diagnostic[]): SourceRecord {
  const origin: InputSpan = {
    file: record.file,
    line: record.line,
    column: record.column,
    ...(record.row === undefined ? {} : { row: record.row }),
    pointer: record.pointer,
  };
  const reject = (code: DiagnosticCode, message: string, hint: string, at: InputSpan = origin): SourceRecord => ({
    key: '',
    data: undefined,
    origin,
    raw: record.text,
    diagnostics: [...extra, { code, severity: 'error', message, hint, input: at }],
  });
  const limits = limitsOf(spec);
  if (overBytes(record.text, limits.maxRecordBytes)) {
    return { key: '', data: undefined, origin, raw: record.text, diagnostics: [...extra, limitProblem('maxRecordBytes', limits.maxRecordBytes, 'the record', origin, utf8Bytes(record.text))] };
  }
  if (jsonDepth(record.text, limits.maxDepth) > limits.maxDepth) {
    return { key: '', data: undefined, origin, raw: record.text, diagnostics: [...extra, limitProblem('maxDepth', limits.maxDepth, 'the nesting of the record', origin)] };
  }
  let value: unknown;
  try {
    value = JSON.parse(record.text);
  } catch (error) {
    const errors: ParseError[] = [];
    parseLenient(record.text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    const { line, column } = record.position(first?.offset ?? 0);
    const what = first === undefined ? (error as Error).message : printParseErrorCode(first.error);
    return reject('SRC_JSON_SYNTAX', `${record.file}:${line}:${column}: the record is not valid JSON (${what}).`, 'Fix the JSON at that position (a missing comma, quote or bracket?).', { ...origin, line, column });
  }
  if (!isObject(value)) {
    return reject(
      'SRC_NOT_A_RECORD',
      `${record.file}:${record.line}:${record.column}: the record at ${record.pointer === '' ? `line ${record.line}` : record.pointer} is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}, not an object.`,
      'Each record must be a JSON object; check source.json.record.',
    );
  }
  const data = adopt(value, record, '') as SourceNode;
  if (extra.length > 0) {
    return { key: '', data: undefined, origin, raw: record.text, diagnostics: extra };
  }
  if (spec.key === undefined) {
    return { key: '', data, origin, raw: record.text, diagnostics: [] };
  }
  const key = keyAt(data, spec.key);
  if (key === '') {
    return reject('SRC_MISSING_KEY', `${record.file}:${record.line}:${record.column}: the record has no value at its key path "${spec.key}".`, 'Every record needs a key; check source.key.');
  }
  record.key = key;
  return { key, data, origin: { ...origin, recordKey: key }, raw: record.text, diagnostics: [] };
}

/** Encoding problems at text offsets before `end`, as diagnostics positioned by `position`. */
function claimIssues(chunks: TextChunks, end: number, file: string, at: (offset: number) => { line: number; column: number }): Diagnostic[] {
  const found: Diagnostic[] = [];
  while (chunks.issues.length > 0 && chunks.issues[0]!.offset < end) {
    const issue = chunks.issues.shift()!;
    const { line, column } = at(issue.offset);
    found.push({
      code: 'SRC_ENCODING',
      severity: 'error',
      message: `Bytes ${issue.bytes} at line ${line}, column ${column} of ${file} are not valid ${chunks.encoding}.`,
      hint: 'Declare the encoding the export is written in (source.encoding).',
      input: { file, line, column },
    });
  }
  return found;
}

/** Opens a JSON or NDJSON source: every input is read in turn. */
// eslint-disable-next-line @typescript-eslint/require-await
export async function openJsonSource(spec: SourceSpec, inputs: readonly InputFile[]): Promise<OpenedSource> {
  const files = inputs.map((input) => ({ table: '', file: inputName(input) }));
  const diagnostics: Diagnostic[] = [];
  if (inputs.length === 0) {
    diagnostics.push({ code: 'SRC_NO_INPUT', severity: 'fatal', message: 'No input file was given.', hint: 'Pass the export file to read.', input: { file: '' } });
  }
  return {
    files,
    diagnostics,
    records: eachRecord(async function* () {
      for (const input of inputs) {
        const chunks = new TextChunks(inputBytes(input, limitsOf(spec).maxFileBytes), spec.encoding);
        try {
          if (spec.format === 'ndjson') {
            yield* readNdjson(spec, inputName(input), chunks);
          } else {
            yield* readJson(spec, inputName(input), chunks);
          }
        } finally {
          await chunks.close();
        }
        if (chunks.readError !== undefined) {
          yield { key: '', data: undefined, origin: { file: inputName(input) }, raw: '', diagnostics: [unreadable(inputName(input), chunks.readError)] };
        }
      }
    }),
  };
}

async function* readNdjson(spec: SourceSpec, file: string, chunks: TextChunks): AsyncGenerator<SourceRecord> {
  let carry = '';
  let base = 0; // text offset of carry[0]
  let line = 1;
  let ended = false;
  /** Inside a line already set aside for being over maxRecordBytes: its text is dropped up to the next line break. */
  let skipping = false;
  const maxLine = limitsOf(spec).maxRecordBytes;
  while (!ended) {
    const more = await chunks.next();
    let text: string;
    if (more === undefined) {
      ended = true;
      text = carry;
    } else {
      text = carry + more;
    }
    let start = 0;
    if (skipping) {
      const lineBreak = text.indexOf('\n');
      const upTo = lineBreak === -1 ? text.length : lineBreak + 1;
      claimIssues(chunks, base + upTo, file, () => ({ line, column: 1 })); // inside the line already reported
      if (lineBreak === -1) {
        base += text.length;
        carry = '';
        continue;
      }
      skipping = false;
      line++;
      start = upTo;
    }
    for (;;) {
      let end = text.indexOf('\n', start);
      if (end === -1) {
        if (!ended || start >= text.length) {
          break;
        }
        end = text.length;
      }
      const lineEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      const content = text.slice(start, lineEnd);
      const absolute = base + start;
      const issues = claimIssues(chunks, base + end + 1, file, (offset) => ({ line, column: offset - absolute + 1 }));
      if (content.trim() !== '') {
        yield toRecord(spec, new RecordText(file, content, line, 1, '', line), issues);
      } else if (issues.length > 0) {
        yield { key: '', data: undefined, origin: { file, line, row: line }, raw: content, diagnostics: issues };
      }
      line++;
      start = end + 1;
    }
    carry = start >= text.length ? '' : text.slice(start);
    base += start;
    if (carry.length > maxLine && !ended) {
      // a line longer than any record may be: report it now and drop the rest of it, so memory stays bounded
      const origin: InputSpan = { file, line, column: 1, row: line };
      const issues = claimIssues(chunks, base + carry.length, file, (offset) => ({ line, column: offset - base + 1 }));
      const problem = limitProblem('maxRecordBytes', maxLine, `the record at line ${line}`, origin);
      yield { key: '', data: undefined, origin, raw: carry.slice(0, rawKeptChars), diagnostics: [...issues, { ...problem, message: `${problem.message} Only its first ${rawKeptChars} characters are kept.` }] };
      base += carry.length;
      carry = '';
      skipping = true;
    }
  }
}

/** How much of an oversized record's text the dead letter keeps. */
const rawKeptChars = 64 * 1024;

interface Frame {
  readonly array: boolean;
  key: string;
  index: number;
  expectKey: boolean;
  readonly records: boolean;
}

/**
 * Streams one JSON document, cutting the array at `json.record` into record texts that are parsed one at a time,
 * so memory stays bounded by the largest record, not the file.
 */
async function* readJson(spec: SourceSpec, file: string, chunks: TextChunks): AsyncGenerator<SourceRecord> {
  const recordPointer = spec.json?.record ?? '';
  const tokens = recordPointer === '' ? [] : recordPointer.slice(1).split('/').map(unescapeToken);
  const depth = tokens.length;
  const queue: SourceRecord[] = [];
  const stack: Frame[] = [];
  let text = '';
  let base = 0; // text offset of text[0]
  let line = 1;
  let lineStart = 0; // text offset of the current line's first character
  let inString = false;
  let escaped = false;
  let stringStart = -1; // absolute offset of a key string being read at a shallow depth
  let keyString = false;
  let expectValue = true;
  let found = false;
  let recordStart = -1; // absolute offset of the record being cut
  let recordLine = 0;
  let recordColumn = 0;
  let recordIndex = 0;
  let pathError: Diagnostic | undefined;
  let openRecords = false;
  let scanned = 0; // absolute offset of the next character to scan
  let ended = false;
  const limits = limitsOf(spec);
  /** The record being read was over maxRecordBytes and is already reported: it is scanned to its end, not kept. */
  let skippingRecord = false;
  /** Levels opened below the deepest frame kept (nesting past any allowed record depth is only counted). */
  let uncountedLevels = 0;
  const maxFrames = depth + 2 + limits.maxDepth;

  const position = (offset: number): { line: number; column: number } => ({ line, column: offset - lineStart + 1 });
  const pathMatches = (): boolean => {
    for (let k = 0; k < depth; k++) {
      const frame = stack[k]!;
      if ((frame.array ? String(frame.index) : frame.key) !== tokens[k]) {
        return false;
      }
    }
    return true;
  };
  const endRecord = (endAbsolute: number): void => {
    let record = text.slice(recordStart - base, endAbsolute - base);
    record = record.trimEnd();
    const issues = claimIssues(chunks, endAbsolute, file, (offset) => {
      const before = text.slice(recordStart - base, offset - base);
      const lines = before.split('\n');
      return lines.length === 1 ? { line: recordLine, column: recordColumn + before.length } : { line: recordLine + lines.length - 1, column: lines[lines.length - 1]!.length + 1 };
    });
    queue.push(toRecord(spec, new RecordText(file, record, recordLine, recordColumn, `${recordPointer}/${recordIndex}`, undefined), issues));
    recordIndex++;
    recordStart = -1;
  };
  const valueStarts = (absolute: number, c: number): void => {
    expectValue = false;
    const top = stack[stack.length - 1];
    if (top?.records === true && recordStart === -1 && !skippingRecord) {
      recordStart = absolute;
      ({ line: recordLine, column: recordColumn } = position(absolute));
      return;
    }
    if (!found && stack.length === depth && pathMatches()) {
      if (c === 91) {
        found = true;
        openRecords = true;
      }
      else if (pathError === undefined) {
        const { line: at, column } = position(absolute);
        pathError = {
          code: 'SRC_RECORD_PATH',
          severity: 'error',
          message: `${file}:${at}:${column}: the value at the record path "${recordPointer}" is not an array.`,
          hint: 'Point source.json.record at the array that holds the records.',
          input: { file, line: at, column, pointer: recordPointer },
        };
      }
    }
  };

  while (!ended) {
    const more = await chunks.next();
    if (more === undefined) {
      ended = true;
    } else {
      const keep = Math.min(recordStart === -1 ? scanned : recordStart, stringStart === -1 ? scanned : stringStart);
      text = text.slice(keep - base) + more;
      base = keep;
    }
    const n = text.length;
    for (let i = scanned - base; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === LF) {
        line++;
        lineStart = base + i + 1;
      }
      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (c === 92) {
          escaped = true;
        } else if (c === 34) {
          inString = false;
          if (keyString) {
            const top = stack[stack.length - 1]!;
            try {
              top.key = JSON.parse(text.slice(stringStart - base, i + 1)) as string;
            } catch {
              top.key = text.slice(stringStart - base + 1, i);
            }
            stringStart = -1;
            keyString = false;
          }
        }
        continue;
      }
      switch (c) {
        case 32:
        case 9:
        case 10:
        case 13:
          break;
        case 34: {
          inString = true;
          const top = stack[stack.length - 1];
          if (top !== undefined && !top.array && top.expectKey) {
            if (stack.length <= depth) {
              keyString = true;
              stringStart = base + i;
            }
          } else {
            valueStarts(base + i, c);
          }
          break;
        }
        case 123:
        case 91: {
          if (expectValue || stack.length === 0) {
            valueStarts(base + i, c);
          }
          if (stack.length >= maxFrames) {
            uncountedLevels++;
            expectValue = c === 91;
            break;
          }
          const records = openRecords;
          openRecords = false;
          stack.push({ array: c === 91, key: '', index: 0, expectKey: c === 123, records });
          expectValue = c === 91;
          break;
        }
        case 125:
        case 93: {
          if (uncountedLevels > 0) {
            uncountedLevels--;
            expectValue = false;
            break;
          }
          const top = stack.pop();
          if (top?.records === true && skippingRecord) {
            skippingRecord = false;
            recordIndex++;
          } else if (top?.records === true && recordStart !== -1) {
            stack.push(top);
            endRecord(base + i);
            stack.pop();
          }
          expectValue = false;
          break;
        }
        case 58: {
          const top = stack[stack.length - 1];
          if (top !== undefined) {
            top.expectKey = false;
          }
          expectValue = true;
          break;
        }
        case 44: {
          const top = stack[stack.length - 1];
          if (top === undefined) {
            break;
          }
          if (top.records && skippingRecord) {
            skippingRecord = false;
            recordIndex++;
          } else if (top.records && recordStart !== -1) {
            endRecord(base + i);
          }
          if (top.array) {
            top.index++;
            expectValue = true;
          } else {
            top.expectKey = true;
          }
          break;
        }
        default:
          if (expectValue) {
            valueStarts(base + i, c);
          }
      }
    }
    scanned = base + n;
    if (recordStart !== -1 && !ended && scanned - recordStart > limits.maxRecordBytes) {
      // More characters than the record may have bytes: report it now and read on to its end without keeping it.
      const origin: InputSpan = { file, line: recordLine, column: recordColumn, pointer: `${recordPointer}/${recordIndex}` };
      const problem = limitProblem('maxRecordBytes', limits.maxRecordBytes, `the record ${recordPointer}/${recordIndex}`, origin);
      const issues = claimIssues(chunks, scanned, file, () => ({ line: recordLine, column: recordColumn }));
      queue.push({
        key: '',
        data: undefined,
        origin,
        raw: text.slice(recordStart - base, recordStart - base + rawKeptChars),
        diagnostics: [...issues, { ...problem, message: `${problem.message} Only its first ${rawKeptChars} characters are kept.` }],
      });
      recordStart = -1;
      skippingRecord = true;
    }
    if (stringStart !== -1 && !ended && scanned - stringStart > limits.maxRecordBytes) {
      const { line: at, column } = position(stringStart);
      const problem = limitProblem('maxRecordBytes', limits.maxRecordBytes, `the member name at line ${at}, column ${column} outside the records`, { file, line: at, column });
      queue.push(rejectFile(file, { ...problem, message: `${problem.message} The rest of the file is not read.` }));
      while (queue.length > 0) {
        yield queue.shift()!;
      }
      return;
    }
    if (ended) {
      if (recordStart !== -1) {
        endRecord(base + n);
      } else if (pathError !== undefined) {
        queue.push(rejectFile(file, pathError));
      } else if (!found) {
        queue.push(
          rejectFile(file, {
            code: 'SRC_RECORD_PATH',
            severity: 'error',
            message: `${file}: nothing in the document is at the record path "${recordPointer}".`,
            hint: 'Point source.json.record at the array that holds the records (\'\' for a top-level array).',
            input: { file, pointer: recordPointer },
          }),
        );
      } else if (stack.length > 0) {
        queue.push(
          rejectFile(file, {
            code: 'SRC_JSON_SYNTAX',
            severity: 'error',
            message: `${file}:${line}:${base + n - lineStart + 1}: the document ends with ${stack.length} bracket(s) still open.`,
            hint: 'The file looks truncated; check that the export finished writing it.',
            input: { file, line, column: base + n - lineStart + 1 },
          }),
        );
      }
      const rest = claimIssues(chunks, Infinity, file, () => ({ line, column: 1 }));
      if (rest.length > 0) {
        queue.push({ key: '', data: undefined, origin: { file }, raw: '', diagnostics: rest });
      }
    }
    while (queue.length > 0) {
      yield queue.shift()!;
    }
  }
}

const rejectFile = (file: string, diagnostic: Diagnostic): SourceRecord => ({
  key: '',
  data: undefined,
  origin: diagnostic.input ?? { file },
  raw: '',
  diagnostics: [diagnostic],
});
