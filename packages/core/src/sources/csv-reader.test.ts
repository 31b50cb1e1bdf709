import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CsvDialect } from '../mapping/model.js';
import { CsvFileReader } from './csv-reader.js';
import { TextChunks } from './decode.js';

const dialect: CsvDialect = { delimiter: ',', quote: '"', escape: '"', trim: false };

/** The rows the reader gives for `text`, its UTF-8 bytes cut at `cuts`. */
async function readRows(text: string, cuts: readonly number[], encoding: 'utf-8' | 'windows-1252' = 'utf-8'): Promise<{ fields: string[]; raw: string; line: number; problems: number }[]> {
  const bytes = encoding === 'utf-8' ? Buffer.from(text, 'utf8') : Buffer.from(text, 'latin1');
  const at = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces = [0, ...at, bytes.length].slice(1).map((end, index, ends) => bytes.subarray(index === 0 ? 0 : ends[index - 1]!, end));
  const reader = new CsvFileReader(new TextChunks(Readable.from(pieces.filter((piece) => piece.length > 0)), encoding, encoding === 'windows-1252'), dialect, 'in.csv', 'calls');
  const rows: { fields: string[]; raw: string; line: number; problems: number }[] = [];
  for (let row = await reader.next(); row !== undefined; row = await reader.next()) {
    rows.push({ fields: row.fields, raw: row.raw, line: row.line, problems: row.problems?.length ?? 0 });
  }
  return rows;
}

const field = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '"', ',', '\n', '\r', 'é', '’', '\u20ac'), maxLength: 6 });
/** A field written as RFC 4180 asks: quoted when it must be (and sometimes when it need not), quotes doubled. */
const written = fc.tuple(field, fc.boolean()).map(([value, quoteAnyway]) =>
  quoteAnyway || /[",\r\n]/.test(value) ? { value, text: `"${value.replace(/"/g, '""')}"` } : { value, text: value },
);
// a row of one empty unquoted field is an empty line, which the reader skips as blank: keep such rows quoted
const row = fc.array(written, { minLength: 1, maxLength: 5 }).map((fields) => (fields.length === 1 && fields[0]!.text === '' ? [{ value: '', text: '""' }] : fields));

describe('CSV reader', () => {
  it('reads what csv-parse reads from well-formed RFC 4180 text, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.array(fc.nat(), { maxLength: 4 }), async (rows, lineBreak, finalBreak, cuts) => {
        const text = rows.map((fields) => fields.map((each) => each.text).join(',')).join(lineBreak) + (finalBreak ? lineBreak : '');
        const read = await readRows(text, cuts);
        const parsed: string[][] = parse(text, { relax_column_count: true });
        expect(read.map((each) => each.fields)).toEqual(parsed);
        expect(read.map((each) => each.fields)).toEqual(rows.map((fields) => fields.map((each) => each.value)));
        expect(read.every((each) => each.problems === 0)).toBe(true);
        // each row's raw text and first line, as written
        let line = 1;
        rows.forEach((fields, index) => {
          const raw = fields.map((each) => each.text).join(',');
          expect(read[index]).toMatchObject({ raw, line });
          line += raw.split(/\r\n|\r|\n/).length - 1 + 1;
        });
      }),
      { numRuns: 500 },
    );
  });

  it('hands rows with broken quoting on one line to the scanner that reports them', async () => {
    const rows = await readRows('a,"b"x,c\n"e""",f\nx,"never closed\n', []);
    expect(rows.map((each) => [each.fields, each.problems])).toEqual([
      [['a', 'bx', 'c'], 1],
      [['e"', 'f'], 0],
      [['x', 'never closed'], 1],
    ]);
  });

  it('reads quoted Windows-1252 cells holding characters from 0x80–0x9F', async () => {
    const rows = await readRows('"caf\u00e9 \u0092x\u0092","a,b",\u0080\n', [5], 'windows-1252');
    expect(rows.map((each) => each.fields)).toEqual([['café ’x’', 'a,b', '€']]);
  });
});
