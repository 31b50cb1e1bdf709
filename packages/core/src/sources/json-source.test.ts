import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { SourceSpec } from '../mapping/model.js';
import { openSource, originOf, type InputFile, type SourceNode, type SourceRecord } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'cadmap-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

const span = { file: 'mapping.yaml', line: 1, column: 1 };
const spec = (format: 'json' | 'ndjson', extra: Partial<SourceSpec> = {}): SourceSpec => ({
  format,
  encoding: 'utf-8',
  timeZone: 'Europe/London',
  dateFormats: [],
  ambiguousTime: 'earlier',
  csv: { delimiter: ',', quote: '"', escape: '"', trim: false },
  tables: [],
  order: 'sorted',
  span,
  ...extra,
});

async function readAll(source: SourceSpec, inputs: InputFile[]) {
  const opened = await openSource(source, inputs);
  const records: SourceRecord[] = [];
  for await (const record of opened.records()) {
    records.push(record);
  }
  return { opened, records };
}
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const summary = (records: SourceRecord[]) =>
  records.map((r) => [r.key, r.data === undefined, r.diagnostics.map((d) => `${d.code}@${d.input?.line}:${d.input?.column}`).join(' ')]);

describe('JSON', () => {
  const document = `{
  "meta": {"exported": "2024-03-01", "data": "decoy"},
  "data": {
    "incidents": [
      {"id": "007", "n": 1.50, "ok": true, "tags": [null, "a", null, {"x": null}], "__proto__": {"polluted": 1}},
      {"id": 8, "resp": [{"callSign": "A1"}, {"callSign": "A\\"2]"}]}
    ]
  }
}`;

  it('cuts the record array into records with typed values, null-prototype objects and origins', async () => {
    const path = file('export.json', document);
    const { opened, records } = await readAll(spec('json', { json: { record: '/data/incidents' }, key: 'id' }), [{ path }]);
    expect(opened.diagnostics).toEqual([]);
    expect(opened.files).toEqual([{ table: '', file: path }]);
    expect(summary(records)).toEqual([['007', false, ''], ['8', false, '']]);
    const first = records[0]!.data!;
    expect(Object.getPrototypeOf(first)).toBeNull();
    // a null item of a list is absent (left out); a null member stays null, which is absent too
    expect(plain(first)).toEqual({ id: '007', n: 1.5, ok: true, tags: ['a', { x: null }], ['__proto__']: { polluted: 1 } });
    expect(originOf((first['tags'] as SourceNode[])[1])!.locate()).toMatchObject({ pointer: '/data/incidents/0/tags/3' });
    expect(Object.keys(first)).toContain('__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(records[0]!.origin).toEqual({ file: path, line: 5, column: 7, pointer: '/data/incidents/0', recordKey: '007' });
    expect(records[0]!.raw).toBe(document.split('\n')[4]!.trim().replace(/,$/, ''));
    const second = records[1]!.data!;
    const response = (second['resp'] as SourceNode[])[1]!;
    expect(originOf(response)!.locate('callSign')).toEqual({ file: path, line: 6, column: 59, pointer: '/data/incidents/1/resp/1/callSign', field: 'callSign', recordKey: '8' });
    expect(originOf(response)!.locate()).toMatchObject({ line: 6, column: 46, pointer: '/data/incidents/1/resp/1' });
  });

  it('reads a top-level array and streams in small chunks', async () => {
    const text = '[{"id":"1"},\n {"id":"2","s":"é}]"},\n 3, {"id": "4"}]';
    async function* bytes() {
      for (const byte of Buffer.from(text)) {
        yield await Promise.resolve(Uint8Array.of(byte));
      }
    }
    const { records } = await readAll(spec('json', { json: { record: '' }, key: 'id' }), [{ name: 'stdin', stream: bytes() }]);
    expect(summary(records)).toEqual([['1', false, ''], ['2', false, ''], ['', true, 'SRC_NOT_A_RECORD@3:2'], ['4', false, '']]);
    expect(plain(records[1]!.data)).toEqual({ id: '2', s: 'é}]' });
    expect(records[2]!.raw).toBe('3');
  });

  it('rejects a malformed record with its position and reads on', async () => {
    const path = file('bad.json', '[\n  {"id": "1"},\n  {"id": "2" "x": 1},\n  {"id": "3"}\n]');
    const { records } = await readAll(spec('json', { json: { record: '' }, key: 'id' }), [{ path }]);
    expect(summary(records)).toEqual([['1', false, ''], ['', true, 'SRC_JSON_SYNTAX@3:14'], ['3', false, '']]);
    expect(records[1]!.raw).toBe('{"id": "2" "x": 1}');
  });

  it('reports a missing record path, a non-array and a truncated document', async () => {
    const missing = await readAll(spec('json', { json: { record: '/nope' } }), [{ path: file('m.json', '{"data": []}') }]);
    expect(summary(missing.records)).toEqual([['', true, 'SRC_RECORD_PATH@undefined:undefined']]);
    const notArray = await readAll(spec('json', { json: { record: '/data' } }), [{ path: file('n.json', '{"data": {"a": 1}}') }]);
    expect(summary(notArray.records)).toEqual([['', true, 'SRC_RECORD_PATH@1:10']]);
    const truncated = await readAll(spec('json', { json: { record: '' }, key: 'id' }), [{ path: file('t.json', '[{"id": "1"},\n{"id": "2", "n"') }]);
    expect(summary(truncated.records)).toEqual([['1', false, ''], ['', true, 'SRC_JSON_SYNTAX@2:16']]);
    const missingKey = await readAll(spec('json', { json: { record: '' }, key: 'header.id' }), [{ path: file('k.json', '[{"header": {"id": 5}}, {"header": {}}]') }]);
    expect(summary(missingKey.records)).toEqual([['5', false, ''], ['', true, 'SRC_MISSING_KEY@1:25']]);
  });

  it('reports invalid UTF-8 inside a record', async () => {
    const bytes = Buffer.concat([Buffer.from('[{"id": "1", "s": "a'), Buffer.from([0xff]), Buffer.from('"},\n{"id": "2"}]')]);
    const { records } = await readAll(spec('json', { json: { record: '' }, key: 'id' }), [{ path: file('enc.json', bytes) }]);
    expect(summary(records)).toEqual([['', true, 'SRC_ENCODING@1:21'], ['2', false, '']]);
  });
});

describe('NDJSON', () => {
  it('reads one record per non-empty line with line-relative pointers', async () => {
    const path = file('x.ndjson', '{"id":"1","r":[{"c":"A"}]}\r\n\n  \n{"id":"2"} \n[1]\n{"id":\n"x"\n{"id":"5"}');
    const { records } = await readAll(spec('ndjson', { key: 'id' }), [{ path }]);
    expect(summary(records)).toEqual([
      ['1', false, ''],
      ['2', false, ''],
      ['', true, 'SRC_NOT_A_RECORD@5:1'],
      ['', true, 'SRC_JSON_SYNTAX@6:7'],
      ['', true, 'SRC_NOT_A_RECORD@7:1'],
      ['5', false, ''],
    ]);
    const resource = (records[0]!.data!['r'] as SourceNode[])[0]!;
    expect(originOf(resource)!.locate('c')).toEqual({ file: path, line: 1, column: 21, row: 1, pointer: '/r/0/c', field: 'c', recordKey: '1' });
    expect(records[1]!.origin).toEqual({ file: path, line: 4, column: 1, row: 4, pointer: '', recordKey: '2' });
    expect(records[3]!.raw).toBe('{"id":');
  });

  it('reads Windows-1252 bytes', async () => {
    const bytes = Buffer.concat([Buffer.from('{"id":"1","s":"'), Buffer.from([0xe9, 0xa3, 0x92]), Buffer.from('"}\n')]);
    const { records } = await readAll(spec('ndjson', { key: 'id', encoding: 'windows-1252' }), [{ path: file('cp.ndjson', bytes) }]);
    expect(plain(records[0]!.data)).toEqual({ id: '1', s: 'é£’' });
  });

  it('reports unreadable files as rejected input', async () => {
    const { records } = await readAll(spec('ndjson'), [{ path: join(dir, 'absent.ndjson') }]);
    expect(records.map((r) => r.diagnostics.map((d) => d.code))).toEqual([['SRC_FILE_UNREADABLE']]);
  });

  it('never throws on arbitrary text and yields one result per non-blank line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.json(), fc.string({ maxLength: 8 })), { maxLength: 8 }), async (lines) => {
        const body = lines.map((l) => l.replace(/[\r\n]/g, ' ')).join('\n');
        const { records } = await readAll(spec('ndjson'), [{ path: file('p.ndjson', body) }]);
        expect(records.length).toBe(body.split('\n').filter((l) => l.trim() !== '').length);
      }),
      { numRuns: 100 },
    );
  });

  /** The value as a record holds it: lists without their null items (null is absent). */
  const withoutNullItems = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.filter((item) => item !== null).map(withoutNullItems)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([key, member]) => [key, withoutNullItems(member)]))
        : value;

  it('JSON arrays of arbitrary values: every element becomes a record or a rejection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 6 }), async (values) => {
        const { records } = await readAll(spec('json', { json: { record: '/r' } }), [{ path: file('p.json', JSON.stringify({ r: values }, null, 1)) }]);
        expect(records.length).toBe(values.length);
        records.forEach((record, index) => {
          const value = values[index];
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
            expect(plain(record.data)).toEqual(plain(withoutNullItems(value)));
          } else {
            expect(record.diagnostics.map((d) => d.code)).toEqual(['SRC_NOT_A_RECORD']);
          }
        });
      }),
      { numRuns: 100 },
    );
  });
});
