import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Diagnostic, InputSpan } from '../diagnostics/diagnostic.js';
import { defaultSourceLimits, type SourceLimits, type SourceSpec } from '../mapping/model.js';
import { originOf, type InputFile, type SourceNode, type SourceRecord, type SourceValue } from './types.js';

/** The limits a source is read under: the mapping's `source.limits`, else the defaults. */
export const limitsOf = (spec: SourceSpec): SourceLimits => spec.limits ?? defaultSourceLimits;

/** UTF-8 size of a string, or of a list of lines (each counted with its line break). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** True when `text` is over `max` UTF-8 bytes; measured only when its length alone cannot decide. */
export function overBytes(text: string, max: number): boolean {
  if (text.length * 3 <= max) {
    return false;
  }
  return text.length > max || utf8Bytes(text) > max;
}

type LimitName = keyof SourceLimits;

const units = (name: LimitName): string => (name === 'maxDepth' ? 'levels' : 'bytes');

/** One SRC_LIMIT diagnostic naming the limit, what broke it and how to raise it. */
export function limitProblem(name: LimitName, limit: number, what: string, at: InputSpan, found?: number): Diagnostic {
  const where = at.line === undefined ? at.file : `${at.file}:${at.line}${at.column === undefined ? '' : `:${at.column}`}`;
  const size = found === undefined ? `more than ${limit}` : String(found);
  return {
    code: 'SRC_LIMIT',
    severity: 'error',
    message: `${where}: ${what} is ${size} ${units(name)}, over the source.limits.${name} limit of ${limit} ${units(name)}; ${name === 'maxFileBytes' ? 'the rest of the file is not read' : 'the record is set aside'}.`,
    hint: `If such input is expected, raise the limit in the mapping, e.g. \`source: { limits: { ${name}: ${limit * 4} } }\`; otherwise check the export.`,
    input: at,
  };
}

/** Deepest nesting of arrays and objects in JSON text, counting stops a level past `max`. */
export function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) {
        i++;
      } else if (c === 34 /* " */) {
        inString = false;
      }
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) {
          return deepest;
        }
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/** Deepest element nesting in XML text (comments, CDATA, declarations and quoted attribute values skipped). */
export function xmlDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let i = text.indexOf('<');
  while (i !== -1 && i < text.length) {
    const next = text.charCodeAt(i + 1);
    let end: number;
    if (text.startsWith('<!--', i)) {
      end = text.indexOf('-->', i + 4);
      end = end === -1 ? -1 : end + 2;
    } else if (text.startsWith('<![CDATA[', i)) {
      end = text.indexOf(']]>', i + 9);
      end = end === -1 ? -1 : end + 2;
    } else if (next === 33 /* ! */ || next === 63 /* ? */) {
      end = text.indexOf('>', i);
    } else {
      let quote = 0;
      end = -1;
      for (let k = i + 1; k < text.length; k++) {
        const c = text.charCodeAt(k);
        if (quote !== 0) {
          if (c === quote) {
            quote = 0;
          }
        } else if (c === 34 || c === 39) {
          quote = c;
        } else if (c === 62 /* > */) {
          end = k;
          break;
        }
      }
      if (next === 47 /* / */) {
        depth--;
      } else {
        const selfClosing = end !== -1 && text.charCodeAt(end - 1) === 47;
        deepest = Math.max(deepest, depth + 1);
        if (deepest > max) {
          return deepest;
        }
        if (!selfClosing) {
          depth++;
        }
      }
    }
    if (end === -1) {
      break;
    }
    i = text.indexOf('<', end + 1);
  }
  return deepest;
}

/** Size of a record's raw text when it is over `max` (CSV: every line of every table, each with a line break). */
function rawBytesOver(raw: SourceRecord['raw'], max: number): number | undefined {
  if (typeof raw === 'string') {
    return overBytes(raw, max) ? utf8Bytes(raw) : undefined;
  }
  const lines = Object.values(raw).flat();
  const characters = lines.reduce((total, line) => total + line.length + 1, 0);
  if (characters * 3 <= max) {
    return undefined;
  }
  const bytes = lines.reduce((total, line) => total + utf8Bytes(line) + 1, 0);
  return bytes > max ? bytes : undefined;
}

interface Violation {
  readonly name: LimitName;
  readonly what: string;
  readonly at: InputSpan | undefined;
  readonly found?: number;
}

/** The first field over `maxFieldBytes` or node deeper than `maxDepth` in a record, walking at most `maxDepth` deep. */
function findViolation(value: SourceValue, limits: SourceLimits): Violation | undefined {
  const walk = (current: SourceValue, depth: number, owner: object | undefined, field: string | undefined): Violation | undefined => {
    const at = (): InputSpan | undefined => (owner === undefined ? undefined : originOf(owner)?.locate(field));
    if (typeof current === 'string') {
      return overBytes(current, limits.maxFieldBytes) ? { name: 'maxFieldBytes', what: `the value of ${field === undefined ? 'a field' : `"${field}"`}`, at: at(), found: utf8Bytes(current) } : undefined;
    }
    if (typeof current !== 'object' || current === null) {
      return undefined;
    }
    if (depth > limits.maxDepth) {
      return { name: 'maxDepth', what: `the nesting at ${field === undefined ? 'a field' : `"${field}"`}`, at: at() };
    }
    if (Array.isArray(current)) {
      for (const item of current as readonly SourceValue[]) {
        const found = walk(item, depth + 1, owner, field);
        if (found !== undefined) {
          return found;
        }
      }
      return undefined;
    }
    // source nodes have no prototype, so for…in sees exactly their own fields (and allocates nothing)
    const node = current as SourceNode;
    for (const key in node) {
      const found = walk(node[key]!, depth + 1, node, key);
      if (found !== undefined) {
        return found;
      }
    }
    return undefined;
  };
  return walk(value, 1, undefined, undefined);
}

/** Characters of a record's raw text (CSV: every line of every table, each with a line break). */
function rawCharacters(raw: SourceRecord['raw']): number {
  if (typeof raw === 'string') {
    return raw.length;
  }
  let characters = 0;
  for (const table in raw) {
    for (const line of raw[table]!) {
      characters += line.length + 1;
    }
  }
  return characters;
}

/**
 * Nesting depth of the records of a CSV source, fixed by its tables: the root row is level 1, and each child
 * table adds an array and its rows (2 levels).
 */
export function csvRecordDepth(tables: readonly { readonly name: string; readonly parent?: string }[]): number {
  const parents = new Map(tables.map((table) => [table.name, table.parent]));
  let deepest = 1;
  for (const table of tables) {
    let depth = 1;
    const seen = new Set<string>();
    for (let parent = table.parent; parent !== undefined && !seen.has(parent); parent = parents.get(parent)) {
      seen.add(parent);
      depth += 2;
    }
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

/**
 * Checks a read record against the record-size, field-size and depth limits. A record breaking one is returned
 * rejected (data undefined, raw kept for the dead letter) with an SRC_LIMIT diagnostic; others pass unchanged.
 * `knownDepth` is the depth every record of the source has by construction (CSV): then a record whose raw text
 * is too short to hold an oversized field is passed without walking it (a value is never longer than the text
 * it was read from, and a UTF-16 unit is at most 3 UTF-8 bytes).
 */
export function checkRecordLimits(record: SourceRecord, limits: SourceLimits, knownDepth?: number): SourceRecord {
  if (record.data === undefined) {
    return record;
  }
  if (knownDepth !== undefined && knownDepth <= limits.maxDepth && (record.rawLength ?? rawCharacters(record.raw)) * 3 <= Math.min(limits.maxFieldBytes, limits.maxRecordBytes)) {
    return record;
  }
  const recordBytes = rawBytesOver(record.raw, limits.maxRecordBytes);
  const violation: Violation | undefined =
    recordBytes !== undefined ? { name: 'maxRecordBytes', what: 'the record', at: record.origin, found: recordBytes } : findViolation(record.data, limits);
  if (violation === undefined) {
    return record;
  }
  const at = violation.at ?? record.origin;
  const problem = limitProblem(violation.name, limits[violation.name] ?? 0, violation.what, { ...at, ...(record.key === '' ? {} : { recordKey: record.key }) }, violation.found);
  return { key: record.key, data: undefined, origin: record.origin, raw: record.raw, diagnostics: [...record.diagnostics, problem] };
}

/** Raised inside an input's byte stream when it grows past `maxFileBytes`; readers report it as SRC_LIMIT. */
export class FileLimitError extends Error {
  constructor(
    readonly limit: number,
    readonly found: number | undefined,
  ) {
    super(`the file is larger than the source.limits.maxFileBytes limit of ${limit} bytes`);
    this.name = 'FileLimitError';
  }
}

/**
 * The bytes of an input, failing with FileLimitError once past `maxFileBytes`: a file is measured before it is
 * opened (so nothing of it is read), a stream as it flows.
 */
export async function* limitedBytes(input: InputFile, chunkBytes: number, maxFileBytes: number | undefined): AsyncGenerator<Uint8Array> {
  if ('path' in input && maxFileBytes !== undefined) {
    const size = (await stat(input.path)).size;
    if (size > maxFileBytes) {
      throw new FileLimitError(maxFileBytes, size);
    }
  }
  const source: AsyncIterable<Uint8Array> = 'path' in input ? createReadStream(input.path, { highWaterMark: chunkBytes }) : input.stream;
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (maxFileBytes !== undefined && total > maxFileBytes) {
      throw new FileLimitError(maxFileBytes, undefined);
    }
    yield chunk;
  }
}
