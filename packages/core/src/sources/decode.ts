import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { SourceEncoding } from '../mapping/model.js';

/** Bytes that are not valid in the declared encoding, at an offset of the decoded text (where U+FFFD now stands). */
export interface EncodingIssue {
  /** Offset in the decoded text (UTF-16 code units from the start of the file, BOM excluded). */
  readonly offset: number;
  /** The offending bytes in hex, e.g. `e9 41`. */
  readonly bytes: string;
}

const hex = (bytes: Uint8Array, start: number, end: number): string => {
  const parts: string[] = [];
  for (let k = start; k < end; k++) {
    parts.push((bytes[k] ?? 0).toString(16).padStart(2, '0'));
  }
  return parts.join(' ');
};

/**
 * Length of the valid UTF-8 sequence at `i`, 0 when the bytes there are invalid, or -1 when they are a valid
 * beginning cut short by `end`.
 */
function utf8SequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const lead = bytes[i] ?? 0;
  if (lead < 0x80) {
    return 1;
  }
  let need: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    need = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    need = 3;
    if (lead === 0xe0) {
      low = 0xa0;
    } else if (lead === 0xed) {
      high = 0x9f;
    }
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    need = 4;
    if (lead === 0xf0) {
      low = 0x90;
    } else if (lead === 0xf4) {
      high = 0x8f;
    }
  } else {
    return 0;
  }
  for (let k = 1; k < need; k++) {
    if (i + k >= end) {
      return -1;
    }
    const b = bytes[i + k] ?? 0;
    if (k === 1 ? b < low || b > high : b < 0x80 || b > 0xbf) {
      return 0;
    }
  }
  return need;
}

/** Index where an incomplete trailing UTF-8 sequence starts (to carry to the next chunk), else `bytes.length`. */
function completeUtf8End(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let k = 1; k <= 3 && n - k >= 0; k++) {
    const b = bytes[n - k] ?? 0;
    if ((b & 0xc0) === 0x80) {
      continue;
    }
    return utf8SequenceLength(bytes, n - k, n) === -1 ? n - k : n;
  }
  return n;
}

/**
 * Decodes a byte stream into text chunks in bounded memory. Invalid bytes become U+FFFD in the text and are
 * recorded in `issues` (in order) so the reader can report them at the right line instead of passing them on
 * silently. A read error ends the text and is kept in `readError`.
 */
/** Characters that Latin-1 decodes from the bytes 0x80–0x9F. */
const c1Range = /[\x80-\x9f]/;
const c1Characters = /[\x80-\x9f]/g;
/** What Windows-1252 makes of the bytes 0x80–0x9F (U+FFFD for the five it leaves undefined). */
const windows1252C1 = Array.from({ length: 32 }, (_, k) => iconv.decode(Buffer.from([0x80 + k]), 'windows-1252'));

/** The bytes Windows-1252 leaves undefined, as Latin-1 reads them. */
const undefinedInWindows1252 = /[\x81\x8d\x8f\x90\x9d]/g;

/** The same characters, with a `lastIndex` of its own for searching from a position. */
const c1Search = new RegExp(c1Characters.source, 'g');

/** Position of the first character from `from` on that Windows-1252 reads differently from Latin-1, else `text.length`. */
export function windows1252DifferenceAt(text: string, from: number): number {
  c1Search.lastIndex = from;
  // test() builds no match object; every match is one character, so it ends just before lastIndex
  return c1Search.test(text) ? c1Search.lastIndex - 1 : text.length;
}

/** Latin-1 text made Windows-1252: U+0080–U+009F become what the code page has at 0x80–0x9F. */
function widenWindows1252(text: string): string {
  return c1Range.test(text) ? text.replace(c1Characters, (character) => windows1252C1[character.charCodeAt(0) - 0x80]!) : text;
}

/** Whether a character of a reader's syntax (delimiter, quote…) would read differently with the code page deferred. */
export const changedByWindows1252 = (text: string): boolean => widenWindows1252(text) !== text || windows1252C1.some((character) => text.includes(character));

export class TextChunks {
  /** Encoding problems not yet claimed by the reader, in text order. */
  readonly issues: EncodingIssue[] = [];
  readError: Error | undefined;
  private readonly iterator: AsyncIterator<Uint8Array>;
  private readonly singleByte: boolean;
  private carry: Buffer = Buffer.alloc(0);
  private decodedLength = 0;
  private started = false;
  private done = false;

  /**
   * Set when Windows-1252 text is handed out as Latin-1, its bytes 0x80–0x9F still as U+0080–U+009F, for the
   * reader to pass the pieces it keeps through this (see `deferCodePage`).
   */
  readonly widen: ((text: string) => string) | undefined;

  /**
   * With `deferCodePage`, Windows-1252 is decoded as Latin-1 and the 32 characters where the two differ are
   * left for the reader to map with {@link widen} in the pieces it keeps. A chunk holding one `’` would
   * otherwise become a two-byte string and every cell cut from it with it, which costs in everything
   * downstream (comparing, hashing, JSON); mapped per cell, only the cells holding such a character are.
   * Only for readers whose syntax characters are ASCII.
   */
  constructor(
    bytes: AsyncIterable<Uint8Array>,
    readonly encoding: SourceEncoding,
    deferCodePage = false,
  ) {
    this.iterator = bytes[Symbol.asyncIterator]();
    this.singleByte = encoding !== 'utf-8';
    this.widen = deferCodePage && encoding === 'windows-1252' ? widenWindows1252 : undefined;
  }

  /** The next piece of text, or undefined at the end of the input (or after a read error). */
  async next(): Promise<string | undefined> {
    while (!this.done) {
      let chunk: Uint8Array | undefined;
      try {
        const step = await this.iterator.next();
        chunk = step.done === true ? undefined : step.value;
      } catch (error) {
        this.readError = error instanceof Error ? error : new Error(String(error));
      }
      if (chunk === undefined) {
        this.done = true;
        const tail = this.finish();
        if (tail !== '') {
          return this.count(tail);
        }
        return undefined;
      }
      const text = this.decode(chunk);
      if (text !== '') {
        return this.count(text);
      }
    }
    return undefined;
  }

  /** Closes the underlying stream early (when the reader stops before the end). */
  async close(): Promise<void> {
    this.done = true;
    try {
      await this.iterator.return?.();
    } catch {
      // closing a stream that failed is not a new problem
    }
  }

  private count(text: string): string {
    this.decodedLength += text.length;
    return text;
  }

  private decode(chunk: Uint8Array): string {
    if (this.singleByte) {
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      // Latin-1 is decoded natively (one-byte strings, cheaper everywhere downstream); Windows-1252 is Latin-1
      // except in 0x80–0x9F, so only chunks with such bytes need the code page.
      const latin1 = bytes.toString('latin1');
      if (this.encoding === 'latin1' || !c1Range.test(latin1)) {
        return latin1;
      }
      if (this.widen !== undefined) {
        return this.flagUndefined(latin1, chunk, undefinedInWindows1252);
      }
      return this.flagUndefined(widenWindows1252(latin1), chunk, '\uFFFD');
    }
    let bytes: Buffer =
      this.carry.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : Buffer.concat([this.carry, chunk]);
    if (!this.started) {
      if (bytes.length < 3) {
        this.carry = Buffer.from(bytes);
        return '';
      }
      this.started = true;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        bytes = bytes.subarray(3);
      }
    }
    const end = completeUtf8End(bytes);
    this.carry = end === bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(end));
    const body = bytes.subarray(0, end);
    return isUtf8(body) ? body.toString('utf8') : this.decodeLenient(body);
  }

  private finish(): string {
    if (this.singleByte) {
      return ''; // single-byte encodings carry nothing between chunks
    }
    let bytes = this.carry;
    this.carry = Buffer.alloc(0);
    if (!this.started && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
    }
    this.started = true;
    if (bytes.length === 0) {
      return '';
    }
    return isUtf8(bytes) ? bytes.toString('utf8') : this.decodeLenient(bytes);
  }

  /** Windows-1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined; iconv-lite turns them into U+FFFD. */
  private flagUndefined(text: string, chunk: Uint8Array, undefinedCharacter: RegExp | string): string {
    if (typeof undefinedCharacter === 'string') {
      let at = text.indexOf(undefinedCharacter);
      while (at !== -1) {
        this.issues.push({ offset: this.decodedLength + at, bytes: hex(chunk, at, at + 1) });
        at = text.indexOf(undefinedCharacter, at + 1);
      }
      return text;
    }
    undefinedCharacter.lastIndex = 0;
    for (let found = undefinedCharacter.exec(text); found !== null; found = undefinedCharacter.exec(text)) {
      this.issues.push({ offset: this.decodedLength + found.index, bytes: hex(chunk, found.index, found.index + 1) });
    }
    return text;
  }

  private decodeLenient(bytes: Buffer): string {
    let text = '';
    let runStart = 0;
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      const length = utf8SequenceLength(bytes, i, n);
      if (length > 0) {
        i += length;
        continue;
      }
      text += bytes.toString('utf8', runStart, i);
      let bad = i + 1;
      while (bad < n && (bytes[bad]! & 0xc0) === 0x80 && bad - i < 3) {
        bad++;
      }
      this.issues.push({ offset: this.decodedLength + text.length, bytes: hex(bytes, i, bad) });
      text += '\uFFFD';
      i = bad;
      runStart = i;
    }
    return text + bytes.toString('utf8', runStart, n);
  }
}
