import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { SourceSpec, XmlOptions } from '../mapping/model.js';
import { openSource, originOf, type InputFile, type SourceNode, type SourceRecord } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'cadmap-xml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

const span = { file: 'mapping.yaml', line: 1, column: 1 };
const spec = (xml: Partial<XmlOptions> = {}, extra: Partial<SourceSpec> = {}): SourceSpec => ({
  format: 'xml',
  encoding: 'utf-8',
  timeZone: 'Europe/London',
  dateFormats: [],
  ambiguousTime: 'earlier',
  csv: { delimiter: ',', quote: '"', escape: '"', trim: false },
  tables: [],
  order: 'sorted',
  xml: { record: '/CadExport/Incidents/Incident', attributePrefix: '', textName: 'text', namespaces: 'strip', ...xml },
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

const document = `<?xml version="1.0" encoding="UTF-8"?>
<!-- export > comment <Incident> -->
<c:CadExport xmlns:c="urn:cad">
  <c:Header created="2024-03-01"/>
  <c:Incidents>
    <c:Incident id="0042" note="a &gt; b">
      <Category>C1</Category>
      <Response callSign="A1" eta="&#233;">first</Response>
      <Response callSign="A2"><CallSign>A2</CallSign><![CDATA[<raw> & text]]></Response>
      <?pi ignored?>
      <Empty/>
      <Notes>Tom &amp; Jerry</Notes>
    </c:Incident>
    <c:Incident id="0043"/>
    <c:Incident id="0044"><Category>C2</Category></c:Incident>
  </c:Incidents>
</c:CadExport>
`;

describe('XML', () => {
  it('cuts records, builds elements with attributes, text and repeats, and keeps values as text', async () => {
    const path = file('export.xml', document);
    const { opened, records } = await readAll(spec({}, { key: 'id' }), [{ path }]);
    expect(opened.diagnostics).toEqual([]);
    expect(summary(records)).toEqual([['0042', false, ''], ['0043', false, ''], ['0044', false, '']]);
    expect(plain(records[0]!.data)).toEqual({
      id: '0042',
      note: 'a > b',
      Category: 'C1',
      Response: [
        { callSign: 'A1', eta: 'é', text: 'first' },
        { callSign: 'A2', CallSign: 'A2', text: '<raw> & text' },
      ],
      // <Empty/> is absent: empty elements are absent values
      Notes: 'Tom & Jerry',
    });
    expect(Object.getPrototypeOf(records[0]!.data)).toBeNull();
    expect(plain(records[1]!.data)).toEqual({ id: '0043' });
    expect(records[0]!.origin).toEqual({ file: path, line: 6, column: 5, xpath: '/CadExport/Incidents/Incident[1]', recordKey: '0042' });
    expect(records[2]!.origin.xpath).toBe('/CadExport/Incidents/Incident[3]');
    expect(records[2]!.raw).toBe('<c:Incident id="0044"><Category>C2</Category></c:Incident>');
    const response = (records[0]!.data!['Response'] as SourceNode[])[1]!;
    expect(originOf(response)!.locate('callSign')).toEqual({ file: path, line: 9, column: 17, xpath: '/CadExport/Incidents/Incident[1]/Response[2]/@callSign', field: 'callSign', recordKey: '0042' });
    expect(originOf(response)!.locate('CallSign')).toEqual({ file: path, line: 9, column: 31, xpath: '/CadExport/Incidents/Incident[1]/Response[2]/CallSign', field: 'CallSign', recordKey: '0042' });
    expect(originOf(records[0]!.data)!.locate('Category')).toMatchObject({ line: 7, column: 7, xpath: '/CadExport/Incidents/Incident[1]/Category' });
  });

  it('streams in one-byte chunks and honours an attribute prefix and kept namespaces', async () => {
    async function* bytes() {
      for (const byte of Buffer.from(document)) {
        yield await Promise.resolve(Uint8Array.of(byte));
      }
    }
    const { records } = await readAll(spec({ record: '/c:CadExport/c:Incidents/c:Incident', attributePrefix: '@', namespaces: 'keep' }, { key: '@id' }), [{ name: 'stdin', stream: bytes() }]);
    expect(summary(records)).toEqual([['0042', false, ''], ['0043', false, ''], ['0044', false, '']]);
    expect(plain(records[2]!.data)).toEqual({ '@id': '0044', Category: 'C2' });
  });

  it('sets a broken record aside with its position and text and reads the next one', async () => {
    const path = file('bad.xml', '<CadExport><Incidents>\n<Incident id="1"><A>x</B></Incident>\n<Incident id="2" id="3"/>\n<Incident id="4"><A>ok</A></Incident>\n<Incident><A>no key</A></Incident>\n</Incidents></CadExport>');
    const { records } = await readAll(spec({}, { key: 'id' }), [{ path }]);
    expect(summary(records)).toEqual([
      ['', true, 'SRC_XML_SYNTAX@2:22'],
      ['', true, 'SRC_XML_SYNTAX@3:18'],
      ['4', false, ''],
      ['', true, 'SRC_MISSING_KEY@5:1'],
    ]);
    expect(records[0]!.raw).toBe('<Incident id="1"><A>x</B></Incident>');
  });

  it('refuses DOCTYPE entities, and reports a truncated file and a record path that matches nothing', async () => {
    const hostile = await readAll(spec({}, { key: 'id' }), [{ path: file('dtd.xml', '<!DOCTYPE x [<!ENTITY e "boom">]>\n<CadExport><Incidents><Incident id="1">&e;</Incident></Incidents></CadExport>') }]);
    expect(summary(hostile.records)).toEqual([['', true, 'SRC_XML_SYNTAX@1:1']]);
    const truncated = await readAll(spec({}, { key: 'id' }), [{ path: file('cut.xml', '<CadExport><Incidents><Incident id="1"/>\n<Incident id="2"><A>') }]);
    expect(summary(truncated.records)).toEqual([['1', false, ''], ['', true, 'SRC_XML_SYNTAX@2:1']]);
    const nothing = await readAll(spec({ record: '/Other/Incident' }, { key: 'id' }), [{ path: file('none.xml', document) }]);
    expect(summary(nothing.records)).toEqual([['', true, 'SRC_RECORD_PATH@undefined:undefined']]);
  });

  it('reads Windows-1252 bytes', async () => {
    const bytes = Buffer.concat([Buffer.from('<R><I id="1">Caf'), Buffer.from([0xe9, 0x20, 0xa3, 0x92]), Buffer.from('</I></R>')]);
    const { records } = await readAll(spec({ record: '/R/I' }, { key: 'id', encoding: 'windows-1252' }), [{ path: file('cp.xml', bytes) }]);
    expect(plain(records[0]!.data)).toEqual({ id: '1', text: 'Café £’' });
  });

  it('never throws on arbitrary text inside a record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('<', '>', '/', 'a', '"', '=', '!', '-', '[', ']', '&', ' ', '\n', '?'), maxLength: 40 }), async (body) => {
        const { records } = await readAll(spec({ record: '/R/I' }), [{ path: file('p.xml', `<R><I>${body}</I><I>z</I></R>`) }]);
        expect(records.length).toBeGreaterThan(0);
        for (const record of records) {
          expect(record.data !== undefined || record.diagnostics.length > 0).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
