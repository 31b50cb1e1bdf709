import iconv from 'iconv-lite';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { CsvDialect, CsvTable, SourceSpec } from '../mapping/model.js';
import { openSource, originOf, type InputFile, type RawContent, type SourceRecord } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'cadmap-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${++counter}`);
  const full = `${path}-${name}`;
  writeFileSync(full, content);
  return full;
}

const span = { file: 'mapping.yaml', line: 1, column: 1 };

function table(name: string, files: string, extra: Partial<CsvTable> = {}): CsvTable {
  return { name, files: [files], key: [], on: {}, columns: [], span, ...extra };
}

function csvSpec(tables: CsvTable[], extra: Partial<SourceSpec> = {}, dialect: Partial<CsvDialect> = {}): SourceSpec {
  return {
    format: 'csv',
    encoding: 'utf-8',
    timeZone: 'Europe/London',
    dateFormats: [],
    ambiguousTime: 'earlier',
    csv: { delimiter: ',', quote: '"', escape: '"', trim: false, ...dialect },
    tables,
    order: 'sorted',
    span,
    ...extra,
  };
}

const oneTable = (extra: Partial<SourceSpec> = {}, dialect: Partial<CsvDialect> = {}): SourceSpec =>
  csvSpec([table('calls', '*calls.csv', { key: ['Id'] })], extra, dialect);

const callsResourcesPatients = (order: 'sorted' | 'any' = 'sorted'): SourceSpec =>
  csvSpec(
    [
      table('calls', '*_calls.csv', { key: ['Id'] }),
      table('resources', '*_resources.csv', { parent: 'calls', on: { Id: 'Id' } }),
      table('patients', '*_patients.csv', { parent: 'calls', on: { Id: 'Id' } }),
      table('stops', '*_stops.csv', { parent: 'resources', on: { Id: 'Id', CallSign: 'CallSign' } }),
    ],
    { order },
  );

async function readAll(spec: SourceSpec, inputs: InputFile[], options = {}) {
  const source = await openSource(spec, inputs, options);
  const records: SourceRecord[] = [];
  for await (const record of source.records()) {
    records.push(record);
  }
  return { source, records };
}

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('CSV reading', () => {
  it('reads quoted fields, CRLF, a BOM and keeps cells as text in null-prototype rows', async () => {
    const path = file(
      'x_calls.csv',
      '\uFEFFId,Notes,__proto__\r\n001,"a, ""quoted""\r\nnote",x\r\n2,plain,\r\n',
    );
    const { source, records } = await readAll(oneTable(), [{ path }]);
    expect(source.diagnostics).toEqual([]);
    expect(source.files).toEqual([{ table: 'calls', file: path, headers: ['Id', 'Notes', '__proto__'] }]);
    expect(records.map((r) => r.key)).toEqual(['001', '2']);
    const first = records[0]!.data!;
    expect(Object.getPrototypeOf(Object.getPrototypeOf(first))).toBeNull();
    expect(Object.getOwnPropertyNames(Object.getPrototypeOf(first))).toEqual([]);
    expect('toString' in first || 'constructor' in first || 'hasOwnProperty' in first).toBe(false);
    expect(plain(first)).toEqual({ Id: '001', Notes: 'a, "quoted"\r\nnote', ['__proto__']: 'x' });
    expect(Object.keys(first)).toEqual(['Id', 'Notes', '__proto__']);
    expect(records[0]!.raw).toEqual({ calls: ['001,"a, ""quoted""\r\nnote",x'] });
    expect(originOf(first)!.locate('Notes')).toEqual({ file: path, table: 'calls', line: 2, row: 1, field: 'Notes', fieldIndex: 2, recordKey: '001' });
    expect(originOf(records[1]!.data)!.locate()).toEqual({ file: path, table: 'calls', line: 4, row: 2, recordKey: '2' });
    expect(records[1]!.origin).toEqual({ file: path, table: 'calls', line: 4, row: 2, recordKey: '2' });
  });

  it('reads Windows-1252 and latin1 bytes', async () => {
    const bytes = Buffer.concat([Buffer.from('Id,Name\n1,Caf'), Buffer.from([0xe9, 0x20, 0xa3, 0x35, 0x20, 0x92, 0x6e]), Buffer.from('\n')]);
    const cp1252 = await readAll(oneTable({ encoding: 'windows-1252' }), [{ path: file('a_calls.csv', bytes) }]);
    expect(cp1252.records.map((r) => plain(r.data))).toEqual([{ Id: '1', Name: 'Café £5 ’n' }]);
    const latin1 = await readAll(oneTable({ encoding: 'latin1' }), [{ path: file('b_calls.csv', bytes) }]);
    expect(latin1.records.map((r) => plain(r.data))).toEqual([{ Id: '1', Name: 'Café £5 \u0092n' }]);
  });

  it('reads Windows-1252 characters from 0x80–0x9F in plain and quoted cells, headers and raw rows, and as syntax', async () => {
    const cp = (text: string): Buffer => iconv.encode(text, 'windows-1252');
    const bytes = cp('Id,Name’s,Note\n1,O’Brien,"say “hi” – ok"\n2,plain,"€5, ‰"\n');
    const { records } = await readAll(oneTable({ encoding: 'windows-1252' }), [{ path: file('d_calls.csv', bytes) }]);
    expect(records.map((r) => plain(r.data))).toEqual([
      { Id: '1', 'Name’s': 'O’Brien', Note: 'say “hi” – ok' },
      { Id: '2', 'Name’s': 'plain', Note: '€5, ‰' },
    ]);
    expect(records[1]!.raw).toEqual({ calls: ['2,plain,"€5, ‰"'] });
    // a delimiter Windows-1252 writes in 0x80–0x9F (here €) still splits the cells
    const euro = cp('Id€Name\n1€Caf’é\n');
    const split = await readAll(oneTable({ encoding: 'windows-1252' }, { delimiter: '€' }), [{ path: file('e_calls.csv', euro) }]);
    expect(split.records.map((r) => plain(r.data))).toEqual([{ Id: '1', Name: 'Caf’é' }]);
  });

  it('widens exactly the rows holding Windows-1252 characters from 0x80–0x9F, however the bytes are chunked', async () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'é', '’', '€', ' ', '"', ','), maxLength: 5 });
    const rows = fc.array(fc.tuple(cell, cell), { minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(rows, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), async (cells, sizes) => {
        const quoted = (text: string): string => `"${text.replace(/"/g, '""')}"`;
        // a cell is quoted only when it must be, so rows take both the plain-line and the field-by-field reader
        const cellText = (text: string): string => (/[",]/.test(text) ? quoted(text) : text);
        const text = `Id,Name,Note\n${cells.map(([name, note], index) => `${index + 1},${cellText(name)},${cellText(note)}`).join('\n')}\n`;
        const bytes = iconv.encode(text, 'windows-1252');
        const chunks: Uint8Array[] = [];
        for (let at = 0, k = 0; at < bytes.length; k++) {
          const size = sizes[k % sizes.length]!;
          chunks.push(bytes.subarray(at, at + size));
          at += size;
        }
        const stream = Readable.from(chunks.map((chunk) => Buffer.from(chunk)), { objectMode: true });
        const { records } = await readAll(oneTable({ encoding: 'windows-1252' }), [{ name: 'chunked_calls.csv', stream }]);
        expect(records.map((r) => plain(r.data))).toEqual(cells.map(([name, note], index) => ({ Id: String(index + 1), ...(name !== '' ? { Name: name } : {}), ...(note !== '' ? { Note: note } : {}) })));
        expect(records.map((r) => /[’€]/.test((r.raw as { calls: string[] }).calls[0]!))).toEqual(cells.map(([name, note]) => /[’€]/.test(name + note)));
      }),
      { numRuns: 200 },
    );
  });

  it('reports bytes undefined in Windows-1252', async () => {
    const bytes = Buffer.concat([Buffer.from('Id,Name\n1,a'), Buffer.from([0x81]), Buffer.from('\n2,b\n')]);
    const { records } = await readAll(oneTable({ encoding: 'windows-1252' }), [{ path: file('c_calls.csv', bytes) }]);
    expect(records[0]!.data).toBeUndefined();
    expect(records[0]!.diagnostics.map((d) => [d.code, d.input?.line, d.input?.column])).toEqual([['SRC_ENCODING', 2, 4]]);
    expect(records[1]!.data).toBeDefined();
  });

  it('reports invalid UTF-8 with its line and column, even split across chunks, and reads on', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Id,Name\n1,ok\n2,"ab\nc'), Buffer.from([0xe9]), Buffer.from('d"\n3,fin '), Buffer.from('€', 'utf8'), Buffer.from('\n')]);
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    async function* stream() {
      for (const chunk of chunks) {
        yield await Promise.resolve(chunk);
      }
    }
    const { records } = await readAll(oneTable(), [{ name: 'stdin', stream: stream(), table: 'calls' }]);
    expect(records.map((r) => r.key)).toEqual(['1', '2', '3']);
    expect(records[1]!.data).toBeUndefined();
    expect(records[1]!.raw).toEqual({ calls: ['2,"ab\nc\uFFFDd"'] });
    expect(records[1]!.diagnostics).toMatchObject([{ code: 'SRC_ENCODING', severity: 'error', input: { file: 'stdin', line: 4, column: 2, row: 2 } }]);
    expect(records[1]!.diagnostics[0]!.message).toContain('e9');
    expect(plain(records[2]!.data)).toEqual({ Id: '3', Name: 'fin €' });
  });

  it('reads other dialects: semicolons, no quoting, trimming, comments and backslash escapes', async () => {
    const semi = await readAll(oneTable({}, { delimiter: ';', quote: null, trim: true, comment: '#' }), [
      { path: file('d_calls.csv', '# exported\nId ; Name\n 1 ;  "Smith" \n#skip\n\n2;x\n') },
    ]);
    expect(semi.records.map((r) => [plain(r.data), r.origin.line])).toEqual([
      [{ Id: '1', Name: '"Smith"' }, 3],
      [{ Id: '2', Name: 'x' }, 6],
    ]);
    const escaped = await readAll(oneTable({}, { escape: '\\' }), [{ path: file('e_calls.csv', 'Id,Name\n1,"a\\"b\\\\c"\n') }]);
    expect(plain(escaped.records[0]!.data)).toEqual({ Id: '1', Name: 'a"b\\c' });
  });

  it('rejects ragged rows and broken quotes with their raw text and goes on', async () => {
    const path = file('f_calls.csv', 'Id,Name\n1,a\n2,b,extra\n3,"c"x\n4,"open\n5,e\n6\n');
    const { records } = await readAll(oneTable(), [{ path }]);
    const summary = records.map((r) => [r.key, r.data === undefined, r.raw, r.diagnostics.map((d) => [d.code, d.input?.line, d.input?.row, d.input?.column])]);
    expect(summary).toEqual([
      ['1', false, { calls: ['1,a'] }, []],
      ['2', true, { calls: ['2,b,extra'] }, [['SRC_CSV_RAGGED_ROW', 3, 2, undefined]]],
      ['3', true, { calls: ['3,"c"x'] }, [['SRC_CSV_QUOTE', 4, 3, 6]]],
      ['4', true, { calls: ['4,"open'] }, [['SRC_CSV_QUOTE', 5, 4, 3]]],
      ['5', false, { calls: ['5,e'] }, []],
      ['6', true, { calls: ['6'] }, [['SRC_CSV_RAGGED_ROW', 7, 6, undefined]]],
    ]);
    expect(records[3]!.diagnostics[0]!.message).toContain('never closed');
  });

  it('reports bad headers, missing columns and unmatched inputs before the first record', async () => {
    const badHeader = await readAll(oneTable(), [{ path: file('g_calls.csv', 'Id,Name,Name,\n1,a,b,c\n') }]);
    expect(badHeader.source.diagnostics.map((d) => [d.code, d.severity, d.input?.fieldIndex])).toEqual([
      ['SRC_CSV_HEADER', 'fatal', 3],
      ['SRC_CSV_HEADER', 'fatal', 4],
    ]);
    expect(badHeader.records).toEqual([]);

    const missing = await readAll(oneTable(), [{ path: file('h_calls.csv', 'Name,When\nx,y\n') }], { requiredColumns: { calls: ['When', 'Other'] } });
    expect(missing.source.diagnostics.map((d) => [d.code, d.severity, d.input?.field, d.input?.file])).toEqual([
      ['SRC_CSV_MISSING_COLUMN', 'error', 'Other', missing.source.files[0]!.file],
      ['SRC_CSV_MISSING_COLUMN', 'fatal', 'Id', missing.source.files[0]!.file],
    ]);

    const spec = csvSpec([table('calls', '*_calls.csv', { key: ['Id'] }), table('more', '*_c*.csv', { parent: 'calls', on: { Id: 'Id' } })]);
    const unmatched = await openSource(spec, [{ path: file('x_calls.csv', 'Id\n1\n') }, { path: file('notes.txt', 'x') }, { path: file('y_cx.csv', 'Id\n') , table: 'nope' }]);
    expect(unmatched.diagnostics.map((d) => d.code)).toEqual(['SRC_AMBIGUOUS_INPUT', 'SRC_UNMATCHED_INPUT', 'SRC_UNMATCHED_INPUT', 'SRC_NO_INPUT', 'SRC_NO_INPUT']);

    const quotedHeader = await openSource(oneTable(), [{ path: file('s_calls.csv', 'Id,"Na"me\n1,a\n') }]);
    expect(quotedHeader.diagnostics.map((d) => [d.code, d.severity, d.input])).toEqual([
      ['SRC_CSV_QUOTE', 'fatal', { file: quotedHeader.files[0]!.file, table: 'calls', line: 1, column: 8 }],
    ]);
    const empty = await openSource(oneTable(), [{ path: file('i_calls.csv', '') }]);
    expect(empty.diagnostics.map((d) => d.code)).toEqual(['SRC_CSV_HEADER']);
    const absent = await openSource(oneTable(), [{ path: join(dir, 'absent_calls.csv') }]);
    expect(absent.diagnostics.map((d) => [d.code, d.severity])).toEqual([['SRC_FILE_UNREADABLE', 'fatal']]);
  });

  it('reports a child table named like a column of its parent', async () => {
    const spec = csvSpec([table('calls', '*_calls.csv', { key: ['Id'] }), table('Notes', '*_notes.csv', { parent: 'calls', on: { Id: 'Id' } })]);
    const source = await openSource(spec, [{ path: file('j_calls.csv', 'Id,Notes\n1,x\n') }, { path: file('j_notes.csv', 'Id,Text\n1,y\n') }]);
    expect(source.diagnostics.map((d) => [d.code, d.severity, d.input?.field])).toEqual([['SRC_CSV_HEADER', 'fatal', 'Notes']]);
  });
});

describe('CSV joins', () => {
  const calls = 'Id,Category\n9,C1\n10,C2\n123456789012345678901234567890,C3\n';
  const resources = 'Id,CallSign\n9,A1\n9,A2\n10,B1\n123456789012345678901234567890,C1\n';
  const patients = 'Id,PatientNo\n9,1\n10,1\n10,2\n';
  const stops = 'Id,CallSign,Code\n9,A2,S1\n10,B1,S2\n10,B1,S3\n';

  function inputs(prefix: string, content: { calls?: string; resources?: string; patients?: string; stops?: string } = {}): InputFile[] {
    return [
      { path: file(`${prefix}_calls.csv`, content.calls ?? calls) },
      { path: file(`${prefix}_resources.csv`, content.resources ?? resources) },
      { path: file(`${prefix}_patients.csv`, content.patients ?? patients) },
      { path: file(`${prefix}_stops.csv`, content.stops ?? stops) },
    ];
  }

  const expected = [
    { Id: '9', Category: 'C1', resources: [{ Id: '9', CallSign: 'A1', stops: [] }, { Id: '9', CallSign: 'A2', stops: [{ Id: '9', CallSign: 'A2', Code: 'S1' }] }], patients: [{ Id: '9', PatientNo: '1' }] },
    { Id: '10', Category: 'C2', resources: [{ Id: '10', CallSign: 'B1', stops: [{ Id: '10', CallSign: 'B1', Code: 'S2' }, { Id: '10', CallSign: 'B1', Code: 'S3' }] }], patients: [{ Id: '10', PatientNo: '1' }, { Id: '10', PatientNo: '2' }] },
    { Id: '123456789012345678901234567890', Category: 'C3', resources: [{ Id: '123456789012345678901234567890', CallSign: 'C1', stops: [] }], patients: [] },
  ];

  it.each(['sorted', 'any'] as const)('nests children and grandchildren (%s)', async (order) => {
    const { source, records } = await readAll(callsResourcesPatients(order), inputs(`k${order}`));
    expect(source.diagnostics).toEqual([]);
    expect(records.map((r) => plain(r.data))).toEqual(expected);
    expect(records[1]!.raw).toEqual({ calls: ['10,C2'], resources: ['10,B1'], patients: ['10,1', '10,2'], stops: ['10,B1,S2', '10,B1,S3'] });
    expect(records.map((r) => r.rawLength)).toEqual(records.map((r) => rawLengthOf(r.raw)));
    const stop = (records[1]!.data!['resources'] as never[])[0]!['stops'][1];
    expect(originOf(stop)!.locate('Code')).toMatchObject({ table: 'stops', line: 4, row: 3, field: 'Code', fieldIndex: 3, recordKey: '10' });
  });

  it('any order: children in any order still join', async () => {
    const { records } = await readAll(callsResourcesPatients('any'), inputs('l', {
      resources: 'Id,CallSign\n123456789012345678901234567890,C1\n10,B1\n9,A1\n9,A2\n',
      patients: 'Id,PatientNo\n10,1\n9,1\n10,2\n',
      stops: 'Id,CallSign,Code\n10,B1,S2\n9,A2,S1\n10,B1,S3\n',
    }));
    expect(records.map((r) => plain(r.data))).toEqual(expected);
  });

  it('rejects orphans, out-of-order rows, duplicate and missing keys with their raw lines and reads on', async () => {
    const { records } = await readAll(callsResourcesPatients('sorted'), inputs('m', {
      calls: 'Id,Category\n9,C1\n10,C2\n10,dup\n,nokey\n8,late\n12,C4\n',
      resources: 'Id,CallSign\n7,Z9\n9,A1\n10,B1\n9,back\n11,lost\n12,D1\n',
      patients: 'Id,PatientNo\n',
      // a stop of A1, then one of a vehicle call 9 does not have
      stops: 'Id,CallSign,Code\n9,A1,S1\n9,A9,S0\n10,B1,S2\n12,D1,S4,ragged\n',
    }));
    const summary = records.map((r) => [r.key, r.data === undefined, r.diagnostics.map((d) => `${d.code}@${d.input?.table}:${d.input?.line}`).join(' '), r.raw]);
    expect(summary).toEqual([
      ['7', true, 'SRC_JOIN_ORPHAN@resources:2', { resources: ['7,Z9'] }],
      ['9', true, 'SRC_JOIN_ORPHAN@stops:3', { stops: ['9,A9,S0'] }],
      ['9', false, '', { calls: ['9,C1'], resources: ['9,A1'], stops: ['9,A1,S1'] }],
      ['9', true, 'SRC_JOIN_ORDER@resources:5', { resources: ['9,back'] }],
      ['10', false, '', { calls: ['10,C2'], resources: ['10,B1'], stops: ['10,B1,S2'] }],
      ['10', true, 'SRC_DUPLICATE_KEY@calls:4', { calls: ['10,dup'] }],
      ['', true, 'SRC_MISSING_KEY@calls:5', { calls: [',nokey'] }],
      ['8', true, 'SRC_JOIN_ORDER@calls:6', { calls: ['8,late'] }],
      ['11', true, 'SRC_JOIN_ORPHAN@resources:6', { resources: ['11,lost'] }],
      ['12', true, 'SRC_CSV_RAGGED_ROW@stops:5', { calls: ['12,C4'], resources: ['12,D1'], stops: ['12,D1,S4,ragged'] }],
    ]);
  });

  it('any order: leftover children are orphans at the end', async () => {
    const { records } = await readAll(callsResourcesPatients('any'), inputs('n', { patients: 'Id,PatientNo\n77,1\n9,1\n,2\n' }));
    expect(records.map((r) => [r.key, r.diagnostics.map((d) => d.code).join()])).toEqual([
      ['', 'SRC_JOIN_ORPHAN'],
      ['9', ''],
      ['10', ''],
      ['123456789012345678901234567890', ''],
      ['77', 'SRC_JOIN_ORPHAN'],
    ]);
  });

  it('joins on composite keys and reads several files of one table in order', async () => {
    const spec = csvSpec([
      table('calls', '*_calls*.csv', { key: ['Site', 'Id'] }),
      table('resources', '*_resources.csv', { parent: 'calls', on: { S: 'Site', I: 'Id' } }),
    ]);
    const { source, records } = await readAll(spec, [
      { path: file('o_calls1.csv', 'Site,Id\nA,1\nA,2\n') },
      { path: file('o_calls2.csv', 'Id,Site\n3,A\n1,B\n') },
      { path: file('o_resources.csv', 'S,I,CallSign\nA,2,X\nB,1,Y\n') },
    ]);
    expect(source.diagnostics).toEqual([]);
    expect(records.map((r) => [r.key, plain(r.data)])).toEqual([
      ['A|1', { Site: 'A', Id: '1', resources: [] }],
      ['A|2', { Site: 'A', Id: '2', resources: [{ S: 'A', I: '2', CallSign: 'X' }] }],
      ['A|3', { Id: '3', Site: 'A', resources: [] }],
      ['B|1', { Id: '1', Site: 'B', resources: [{ S: 'B', I: '1', CallSign: 'Y' }] }],
    ]);
    expect(originOf(records[3]!.data)!.locate('Site')).toMatchObject({ line: 3, row: 2, fieldIndex: 2, recordKey: 'B|1' });
  });

  it('reports a child table that does not carry the root key', async () => {
    const spec = csvSpec([table('calls', '*_calls.csv', { key: ['Id'] }), table('notes', '*_notes.csv', { parent: 'calls', on: { Other: 'Other' } })]);
    const source = await openSource(spec, [{ path: file('r_calls.csv', 'Id,Other\n1,x\n') }, { path: file('r_notes.csv', 'Other\nx\n') }]);
    expect(source.diagnostics.map((d) => [d.code, d.severity])).toEqual([['MAP_UNKNOWN_COLUMN', 'fatal']]);
  });

  it('yields the first record before the files are read to the end (streaming join)', async () => {
    let pulled = 0;
    const total = 2000;
    async function* rows(header: string, line: (i: number) => string) {
      yield await Promise.resolve(Buffer.from(header));
      for (let i = 1; i <= total; i++) {
        pulled++;
        yield await Promise.resolve(Buffer.from(line(i)));
      }
    }
    const spec = csvSpec([table('calls', '*_calls.csv', { key: ['Id'] }), table('resources', '*_resources.csv', { parent: 'calls', on: { Id: 'Id' } })]);
    const source = await openSource(spec, [
      { name: 'big_calls.csv', stream: rows('Id\n', (i) => `${i}\n`) },
      { name: 'big_resources.csv', stream: rows('Id,CallSign\n', (i) => `${i},A\n${i},B\n`) },
    ]);
    const iterator = source.records()[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(plain(first.value.data)).toEqual({ Id: '1', resources: [{ Id: '1', CallSign: 'A' }, { Id: '1', CallSign: 'B' }] });
    expect(pulled).toBeLessThan(10);
    await iterator.return?.();
  });
});

/** What the limit checks count for a record: each raw line and its line break. */
const rawLengthOf = (raw: RawContent): number => (typeof raw === 'string' ? raw.length : Object.values(raw).flat().reduce((sum, line) => sum + line.length + 1, 0));

describe('CSV properties', () => {
  it('never throws on arbitrary text and accounts for every line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'é', '#') , maxLength: 60 }), async (body) => {
        const path = file('p_calls.csv', `Id,Name\n${body}`);
        const { source, records } = await readAll(oneTable({}, { comment: '#' }), [{ path }]);
        expect(source.diagnostics).toEqual([]);
        const rawText = records.flatMap((r) => (typeof r.raw === 'string' ? [r.raw] : Object.values(r.raw).flat())).join('\n');
        const letters = (text: string) => text.replace(/#[^\r\n]*/g, '').replace(/[\r\n]/g, '');
        expect(letters(rawText)).toBe(letters(body));
        for (const record of records) {
          expect(record.rawLength ?? rawLengthOf(record.raw)).toBe(rawLengthOf(record.raw));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('yields one record or rejection per generated row', async () => {
    const cell = fc.string({ unit: fc.constantFrom('a', '1', ',', '"', '\n', ' '), maxLength: 6 });
    const quoted = (value: string) => (/[",\n\r]/.test(value) || value === '' ? `"${value.replace(/"/g, '""')}"` : value);
    const row = fc.tuple(fc.array(cell, { minLength: 1, maxLength: 4 }), fc.boolean());
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 12 }), async (rows) => {
        const lines = rows.map(([cells, broken], index) => {
          const text = [String(index + 1), ...cells.map(quoted)].join(',');
          return broken ? `${text}"x` : text;
        });
        const path = file('q_calls.csv', `Id,A,B\n${lines.join('\n')}\n`);
        const { records } = await readAll(oneTable(), [{ path }]);
        const accounted = records.reduce((sum, r) => sum + (typeof r.raw === 'string' ? 1 : Object.values(r.raw).flat().length), 0);
        if (rows.every(([, broken]) => !broken)) {
          expect(accounted).toBe(rows.length);
          rows.forEach(([cells], index) => {
            const record = records[index]!;
            expect(record.key).toBe(String(index + 1));
            if (cells.length === 2) {
              const expected: Record<string, string> = { Id: String(index + 1) };
              if (cells[0] !== '') {
                expected.A = cells[0]!;
              }
              if (cells[1] !== '') {
                expected.B = cells[1]!;
              }
              expect(plain(record.data)).toEqual(expected);
            } else {
              expect(record.diagnostics.map((d) => d.code)).toEqual(['SRC_CSV_RAGGED_ROW']);
            }
          });
        } else {
          expect(accounted).toBeGreaterThan(0);
        }
      }),
      { numRuns: 150 },
    );
  });
});
