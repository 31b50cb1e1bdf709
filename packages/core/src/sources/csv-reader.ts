import type { Diagnostic, InputSpan } from '../diagnostics/diagnostic.js';
import type { CsvDialect } from '../mapping/model.js';
import { windows1252DifferenceAt, type TextChunks } from './decode.js';
import { unreadable } from './inputs.js';

/** One physical CSV row as read: cells (never converted), where it starts and its original text. */
export interface CsvRow {
  readonly fields: string[];
  /** Physical line (1-based) where the row starts. */
  readonly line: number;
  /** 1-based data row number (the header is row 0). */
  readonly row: number;
  /** The row's original text (its lines, without the final line break). */
  readonly raw: string;
  /** Problems with this row (ragged, quoting, encoding); undefined when none. */
  problems: Diagnostic[] | undefined;
}

/** Returned by {@link CsvFileReader.readRow} when the buffered text ends inside a row. */
export const NEED_MORE: unique symbol = Symbol('need more text');

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
/**
 * Default for the longest row: a row still open after this many characters is cut (a quote that never closes must
 * not swallow the file). Sources pass `source.limits.maxRecordBytes` instead.
 */
export const maxRowChars = 1 << 20;

/** How much of a runaway row's text is kept (its raw text in the dead letter). */
export const runawayKeptChars = 64 * 1024;

/**
 * Streaming CSV tokenizer over decoded text: RFC 4180 quoting with a configurable delimiter, quote and escape,
 * LF, CRLF or CR line breaks, optional trimming and comment lines. It never throws on bad input: a row with
 * broken quoting is read as far as its line allows and marked with SRC_CSV_QUOTE, and reading goes on with the
 * next line, so one stray quote cannot swallow the rest of the file.
 */
export class CsvFileReader {
  headers: string[] | undefined;
  private text = '';
  /** Offset of `text[0]` in the whole decoded file. */
  private base = 0;
  private pos = 0;
  private line = 1;
  private rows = 0;
  private ended = false;
  private readonly delimiter: number;
  private readonly delimiterChar: string;
  private readonly quote: number;
  private readonly quoteChar: string;
  /** Where the next quote and CR are in `text` at or after the current row (`text.length` when none; -1 unknown). */
  private quoteAt = -1;
  private crAt = -1;
  /** With the code page deferred (`chunks.widen`): where the next character to widen is, searched once per such character. */
  private wideAt = -1;
  private readonly escape: number;
  private readonly trim: boolean;
  private readonly comment: string | undefined;
  /** After a cut runaway row: dropping text up to the next line break. */
  private skipping = false;

  constructor(
    private readonly chunks: TextChunks,
    dialect: CsvDialect,
    readonly file: string,
    readonly table: string,
    private readonly maxRow: number = maxRowChars,
  ) {
    this.delimiter = dialect.delimiter.charCodeAt(0);
    this.delimiterChar = dialect.delimiter.charAt(0);
    this.quote = dialect.quote === null || dialect.quote === '' ? -1 : dialect.quote.charCodeAt(0);
    this.quoteChar = this.quote === -1 ? '' : String.fromCharCode(this.quote);
    this.escape = dialect.escape === '' ? this.quote : dialect.escape.charCodeAt(0);
    this.trim = dialect.trim;
    this.comment = dialect.comment === undefined || dialect.comment === '' ? undefined : dialect.comment;
  }

  /** Reads the header row. Problems are fatal for the file: without a header no row can be read. */
  async readHeader(): Promise<Diagnostic[]> {
    const row = await this.next();
    const diagnostics: Diagnostic[] = [];
    if (this.chunks.readError !== undefined) {
      return [unreadable(this.file, this.chunks.readError, this.table)];
    }
    if (row === undefined) {
      diagnostics.push({
        code: 'SRC_CSV_HEADER',
        severity: 'fatal',
        message: `${this.file} is empty: a header row naming the columns was expected.`,
        hint: 'Check that the export finished writing the file.',
        input: { file: this.file, table: this.table, line: 1 },
      });
      return diagnostics;
    }
    this.rows = 0;
    for (const problem of row.problems ?? []) {
      const input: InputSpan = { ...(problem.input ?? { file: this.file }) };
      delete (input as { row?: number }).row;
      diagnostics.push({ ...problem, severity: 'fatal', input });
    }
    const seen = new Map<string, number>();
    row.fields.forEach((name, index) => {
      const input = { file: this.file, table: this.table, line: row.line, fieldIndex: index + 1 };
      if (name.trim() === '') {
        diagnostics.push({
          code: 'SRC_CSV_HEADER',
          severity: 'fatal',
          message: `Column ${index + 1} of the header of ${this.file} has no name.`,
          hint: 'Every column needs a unique name in the header row (check for a trailing delimiter).',
          input,
        });
      } else if (seen.has(name)) {
        diagnostics.push({
          code: 'SRC_CSV_HEADER',
          severity: 'fatal',
          message: `Column ${index + 1} of the header of ${this.file} repeats the name "${name}" (column ${seen.get(name)! + 1}).`,
          hint: 'Rename one of the columns so that every column name is unique.',
          input: { ...input, field: name },
        });
      } else {
        seen.set(name, index);
      }
    });
    this.headers = row.fields;
    return diagnostics;
  }

  /** The next row, or undefined at the end of the file. */
  async next(): Promise<CsvRow | undefined> {
    for (;;) {
      const row = this.readRow();
      if (row !== NEED_MORE) {
        return row;
      }
      await this.fill();
    }
  }

  /** The next row from buffered text; NEED_MORE when {@link fill} must be awaited first. */
  readRow(): CsvRow | undefined | typeof NEED_MORE {
    if (this.skipping && !this.skipToLineBreak()) {
      return NEED_MORE;
    }
    const row = this.scanRow(this.ended, false);
    if (row === NEED_MORE && this.text.length - this.pos > this.maxRow) {
      return this.cutRunaway();
    }
    return row;
  }

  /**
   * A row still open after `maxRow` characters (a runaway field or a quote that never closes): it becomes one row
   * with no fields and SRC_LIMIT, keeping only its first {@link runawayKeptChars} characters as raw text; the rest of
   * it is dropped unread up to the first line break past the limit, where reading resumes. Line numbers count what
   * was dropped.
   */
  private cutRunaway(): CsvRow {
    const text = this.text;
    const start = this.pos;
    const line = this.line;
    const problem = this.problem(
      'SRC_LIMIT',
      `Row at line ${line} of ${this.file} is longer than the source.limits.maxRecordBytes limit of ${this.maxRow} characters; it is set aside and reading resumes after the first line break past the limit.`,
      'Check the delimiter, quotes and line breaks declared for this file; if such rows are expected, raise source.limits.maxRecordBytes in the mapping.',
      line,
      1,
    );
    const row: CsvRow = { fields: [], line, row: ++this.rows, raw: text.slice(start, start + Math.min(runawayKeptChars, this.maxRow)), problems: [problem] };
    const cut = start + this.maxRow;
    this.line += this.lineBreaksIn(start, cut);
    this.pos = cut;
    this.skipping = true;
    this.quoteAt = -1;
    this.crAt = -1;
    this.wideAt = -1;
    return row;
  }

  /** Line breaks (LF, CRLF or a lone CR) in `text[from, to)`; a CR at `to - 1` is counted (an LF after it is not). */
  private lineBreaksIn(from: number, to: number): number {
    const text = this.text;
    let count = 0;
    for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) {
      count++;
    }
    for (let i = text.indexOf('\r', from); i !== -1 && i < to; i = text.indexOf('\r', i + 1)) {
      if (text.charCodeAt(i + 1) !== LF || i + 1 >= to) {
        count++;
      }
    }
    return count;
  }

  /** Drops the rest of a cut row up to and including its next line break; false when the buffer ends first. */
  private skipToLineBreak(): boolean {
    const text = this.text;
    const n = text.length;
    const lf = text.indexOf('\n', this.pos);
    const cr = text.indexOf('\r', this.pos);
    const at = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    if (at === -1) {
      this.pos = n;
      return this.ended;
    }
    if (text.charCodeAt(at) === CR && at + 1 >= n && !this.ended) {
      this.pos = at;
      return false;
    }
    this.pos = text.charCodeAt(at) === CR && text.charCodeAt(at + 1) === LF ? at + 2 : at + 1;
    this.line++;
    this.skipping = false;
    return true;
  }

  /** Reads more text; at the end of the input marks the reader ended. */
  async fill(): Promise<void> {
    if (this.ended) {
      return;
    }
    // while a row is open, read at least as much new text as is kept: the open row is then copied and scanned again
    // a bounded number of times however long it grows
    const kept = this.text.length - this.pos;
    const parts: string[] = [];
    let length = 0;
    do {
      const more = await this.chunks.next();
      if (more === undefined) {
        this.ended = true;
        break;
      }
      parts.push(more);
      length += more.length;
    } while (length < kept);
    if (parts.length === 0) {
      return;
    }
    const more = parts.length === 1 ? parts[0]! : parts.join('');
    this.base += this.pos;
    this.text = this.pos === this.text.length ? more : this.text.slice(this.pos) + more;
    this.pos = 0;
    this.quoteAt = -1;
    this.crAt = -1;
    this.wideAt = -1;
  }

  async close(): Promise<void> {
    await this.chunks.close();
  }

  get readError(): Error | undefined {
    return this.chunks.readError;
  }

  private problem(code: 'SRC_CSV_QUOTE' | 'SRC_LIMIT', message: string, hint: string, line: number, column: number) {
    return {
      code,
      severity: 'error' as const,
      message,
      hint,
      input: { file: this.file, table: this.table, line, column, row: this.rows + 1 },
    };
  }

  private scanRow(final: boolean, forced: boolean): CsvRow | undefined | typeof NEED_MORE {
    const text = this.text;
    const n = text.length;
    const delimiter = this.delimiter;
    const quote = this.quote;
    const escape = this.escape;
    const trim = this.trim;
    let start = this.pos;
    let line = this.line;
    // skip empty and comment lines
    for (;;) {
      if (start >= n) {
        return final && !forced ? this.claimTrailingIssues() : NEED_MORE;
      }
      const c = text.charCodeAt(start);
      if (c === LF || c === CR) {
        if (c === CR && start + 1 >= n && !final) {
          return NEED_MORE;
        }
        start += c === CR && text.charCodeAt(start + 1) === LF ? 2 : 1;
        line++;
        this.pos = start;
        this.line = line;
        continue;
      }
      if (this.comment !== undefined && text.startsWith(this.comment, start)) {
        let end = start;
        while (end < n && text.charCodeAt(end) !== LF && text.charCodeAt(end) !== CR) {
          end++;
        }
        if (end >= n && !final) {
          return NEED_MORE;
        }
        start = end;
        this.pos = start;
        continue;
      }
      break;
    }
    if (!trim) {
      const fast = this.scanPlainLine(start, line);
      if (fast !== undefined) {
        return fast;
      }
    }
    const fields: string[] = [];
    let problems: Diagnostic[] | undefined;
    let i = start;
    let lineStart = start;
    let newlines = 0;
    let end = -1; // end of the row text (before its line break)
    let next = -1; // where the next row starts
    for (;;) {
      // one field per iteration
      let fieldStart = i;
      if (trim) {
        while (i < n && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) {
          i++;
        }
      }
      if (i < n && text.charCodeAt(i) === quote) {
        const quoteAt = i;
        const quoteLine = line + newlines;
        const quoteColumn = i - lineStart + 1;
        i++;
        let segment = i;
        let value = '';
        let closed = false;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === escape && escape !== quote) {
            if (i + 1 >= n) {
              break;
            }
            const after = text.charCodeAt(i + 1);
            if (after === quote || after === escape) {
              value += text.slice(segment, i);
              segment = i + 1;
              i += 2;
              continue;
            }
          } else if (c === quote) {
            if (i + 1 >= n && !final) {
              break;
            }
            if (escape === quote && text.charCodeAt(i + 1) === quote) {
              value += text.slice(segment, i + 1);
              i += 2;
              segment = i;
              continue;
            }
            value += text.slice(segment, i);
            i++;
            closed = true;
            break;
          } else if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) {
            newlines++;
            lineStart = i + 1;
          }
          i++;
        }
        if (!closed) {
          if (!final) {
            return NEED_MORE;
          }
          // The quote never closes: read the row up to the end of the line the quote opened on, resume after it.
          let cut = quoteAt;
          while (cut < n && text.charCodeAt(cut) !== LF && text.charCodeAt(cut) !== CR) {
            cut++;
          }
          fields.push(text.slice(quoteAt + 1, cut));
          (problems ??= []).push(
            this.problem(
              'SRC_CSV_QUOTE',
              forced
                ? `The quote opened at line ${quoteLine}, column ${quoteColumn} of ${this.file} is not closed within ${this.maxRow} characters (source.limits.maxRecordBytes); the row is read up to the end of line ${quoteLine} and reading resumes on the next line.`
                : `The quote opened at line ${quoteLine}, column ${quoteColumn} of ${this.file} is never closed; the row is read up to the end of line ${quoteLine} and reading resumes on the next line.`,
              'Close the quoted field, or double every quote character inside it ("").',
              quoteLine,
              quoteColumn,
            ),
          );
          newlines = quoteLine - line;
          end = cut;
          break;
        }
        if (trim) {
          while (i < n && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) {
            i++;
          }
        }
        if (i >= n && !final) {
          return NEED_MORE;
        }
        const c = i < n ? text.charCodeAt(i) : LF;
        if (c !== delimiter && c !== LF && c !== CR) {
          (problems ??= []).push(
            this.problem(
              'SRC_CSV_QUOTE',
              `Unexpected "${text[i]}" after the closing quote at line ${line + newlines}, column ${i - lineStart + 1} of ${this.file} (a delimiter or line break must follow).`,
              'Double every quote character inside a quoted field ("").',
              line + newlines,
              i - lineStart + 1,
            ),
          );
          fieldStart = i;
          while (i < n) {
            const d = text.charCodeAt(i);
            if (d === delimiter || d === LF || d === CR) {
              break;
            }
            i++;
          }
          if (i >= n && !final) {
            return NEED_MORE;
          }
          value += text.slice(fieldStart, i);
        }
        fields.push(value);
      } else {
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === delimiter || c === LF || c === CR) {
            break;
          }
          i++;
        }
        if (i >= n && !final) {
          return NEED_MORE;
        }
        if (trim) {
          let last = i;
          while (last > fieldStart && (text.charCodeAt(last - 1) === SPACE || text.charCodeAt(last - 1) === TAB)) {
            last--;
          }
          while (fieldStart < last && (text.charCodeAt(fieldStart) === SPACE || text.charCodeAt(fieldStart) === TAB)) {
            fieldStart++;
          }
          fields.push(text.slice(fieldStart, last));
        } else {
          fields.push(text.slice(fieldStart, i));
        }
      }
      if (i < n && text.charCodeAt(i) === delimiter) {
        i++;
        continue;
      }
      end = i;
      break;
    }
    // line break after the row
    if (end >= n) {
      next = n;
      if (forced) {
        (problems ??= []).push(
          this.problem(
            'SRC_LIMIT',
            `Row at line ${line} of ${this.file} is longer than the source.limits.maxRecordBytes limit of ${this.maxRow} characters; it is cut there and the record is set aside.`,
            'Check the delimiter and line breaks declared for this file; if such rows are expected, raise source.limits.maxRecordBytes in the mapping.',
            line,
            1,
          ),
        );
      }
    } else {
      const c = text.charCodeAt(end);
      if (c === CR && end + 1 >= n && !final) {
        return NEED_MORE;
      }
      next = c === CR && text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
    }
    return this.finishRow(fields, text.slice(start, end), start, next, line, line + newlines + 1, problems);
  }

  /** `fields` undefined: a plain line, split on the delimiter here (after widening, when it needs it). */
  private finishRow(fields: string[] | undefined, raw: string, start: number, next: number, line: number, nextLine: number, problems: Diagnostic[] | undefined): CsvRow {
    this.pos = next;
    this.line = nextLine;
    const widen = this.chunks.widen;
    if (widen !== undefined && this.wideAt < start) {
      this.wideAt = windows1252DifferenceAt(this.text, start);
    }
    let row: CsvRow;
    if (widen === undefined || this.wideAt >= next) {
      row = { fields: fields ?? raw.split(this.delimiterChar), line, row: ++this.rows, raw, problems };
    } else {
      // the delimiter reads the same either way (else the code page is not deferred), so a plain line splits alike
      const wide = widen(raw);
      row = { fields: fields?.map(widen) ?? wide.split(this.delimiterChar), line, row: ++this.rows, raw: wide, problems };
    }
    const issues = this.chunks.issues;
    if (issues.length > 0 && issues[0]!.offset < this.base + next) {
      this.claimIssues(row, start);
    }
    return row;
  }

  /**
   * The common case read natively: a whole line ending in LF or CRLF with no quote character and no lone CR in
   * it is split on the delimiter. Undefined when the line needs the field-by-field scanner.
   */
  private scanPlainLine(start: number, line: number): CsvRow | undefined {
    const text = this.text;
    const newline = text.indexOf('\n', start);
    if (newline === -1) {
      return undefined;
    }
    if (this.quote !== -1) {
      if (this.quoteAt < start) {
        this.quoteAt = text.indexOf(this.quoteChar, start);
        if (this.quoteAt === -1) {
          this.quoteAt = text.length;
        }
      }
    }
    if (this.crAt < start) {
      this.crAt = text.indexOf('\r', start);
      if (this.crAt === -1) {
        this.crAt = text.length;
      }
    }
    const end = this.crAt === newline - 1 ? newline - 1 : newline;
    if (this.crAt < end) {
      return undefined;
    }
    if (this.quote !== -1 && this.quoteAt < end) {
      const fields = this.escape === this.quote ? this.quotedLineFields(start, end) : undefined;
      return fields === undefined ? undefined : this.finishRow(fields, text.slice(start, end), start, newline + 1, line, line + 1, undefined);
    }
    const raw = text.slice(start, end);
    return this.finishRow(undefined, raw, start, newline + 1, line, line + 1, undefined);
  }

  /**
   * The fields of a one-line row holding quotes, found with indexOf rather than character by character, when
   * every quote opens a field, closes on the same line and is followed by a delimiter or the line's end (quotes
   * doubled inside). Undefined for anything else: the field-by-field scanner reads it and reports what is wrong.
   */
  private quotedLineFields(start: number, end: number): string[] | undefined {
    const text = this.text;
    const quote = this.quote;
    const quoteChar = this.quoteChar;
    const delimiter = this.delimiter;
    const delimiterChar = this.delimiterChar;
    const fields: string[] = [];
    let at = start;
    for (;;) {
      if (text.charCodeAt(at) === quote) {
        let from = at + 1;
        let value = '';
        let close = text.indexOf(quoteChar, from);
        while (close !== -1 && close < end && text.charCodeAt(close + 1) === quote) {
          value += text.slice(from, close + 1);
          from = close + 2;
          close = text.indexOf(quoteChar, from);
        }
        if (close === -1 || close >= end) {
          return undefined;
        }
        fields.push(value + text.slice(from, close));
        at = close + 1;
        if (at === end) {
          return fields;
        }
        if (text.charCodeAt(at) !== delimiter) {
          return undefined;
        }
        at++;
      } else {
        const next = text.indexOf(delimiterChar, at);
        if (next === -1 || next >= end) {
          fields.push(text.slice(at, end));
          return fields;
        }
        fields.push(text.slice(at, next));
        at = next + 1;
      }
    }
  }

  /** Encoding problems in the text of a row make the row fail, at the line and column where they are. */
  private claimIssues(row: CsvRow, start: number): void {
    const issues = this.chunks.issues;
    const limit = this.base + this.pos;
    while (issues.length > 0 && issues[0]!.offset < limit) {
      const issue = issues.shift()!;
      const at = Math.max(0, issue.offset - this.base - start);
      let line = row.line;
      let lineStart = 0;
      for (let k = 0; k < at && k < row.raw.length; k++) {
        const c = row.raw.charCodeAt(k);
        if (c === LF || (c === CR && row.raw.charCodeAt(k + 1) !== LF)) {
          line++;
          lineStart = k + 1;
        }
      }
      (row.problems ??= []).push({
        code: 'SRC_ENCODING',
        severity: 'error',
        message: `Bytes ${issue.bytes} at line ${line}, column ${at - lineStart + 1} of ${this.file} are not valid ${this.chunks.encoding}.`,
        hint: 'Declare the encoding the export is written in (source.encoding: utf-8, windows-1252 or latin1).',
        input: { file: this.file, table: this.table, line, column: at - lineStart + 1, row: row.row },
      });
    }
  }

  /** Encoding problems in trailing empty or comment lines still surface, on a rejected row of their own. */
  private claimTrailingIssues(): CsvRow | undefined {
    if (this.chunks.issues.length === 0) {
      return undefined;
    }
    const row: CsvRow = { fields: [], line: this.line, row: ++this.rows, raw: '', problems: undefined };
    this.claimIssues(row, this.pos);
    this.chunks.issues.length = 0;
    return row;
  }
}
