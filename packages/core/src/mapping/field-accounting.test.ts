import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureTree } from '../../../../test/support/fixtures.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { accountFields, mapAll } from '../run.js';
import { loadMapping, type Mapping } from './load.js';

/**
 * Field accounting: every path a mapping reads that no record of a run had is reported at the YAML position of
 * each expression reading it, with the names the records had where they diverge; the same whether the run
 * tracks provenance or not, and from `accountFields` (what `cadmap lint <mapping> <inputs…>` runs).
 */
async function setUp(files: Readonly<Record<string, string>>): Promise<{ root: string; mapping: Mapping }> {
  const root = fixtureTree(files);
  const { mapping, diagnostics } = await loadMapping(join(root, 'mapping.yaml'));
  if (!mapping) {
    throw new Error(JSON.stringify(diagnostics, null, 2));
  }
  return { root, mapping };
}

/** The field accounting of a run, checked to be the same with provenance on and off and without mapping. */
async function accounting(files: Readonly<Record<string, string>>, inputs: readonly string[]): Promise<readonly Diagnostic[]> {
  const { root, mapping } = await setUp(files);
  const paths = inputs.map((name) => ({ path: join(root, name) }));
  const plain = await mapAll(mapping, paths);
  const traced = await mapAll(mapping, paths, { provenance: true });
  const linted = await accountFields(mapping, paths);
  expect(traced.fieldAccounting).toEqual(plain.fieldAccounting);
  expect(linted.diagnostics).toEqual([...plain.diagnostics, ...plain.fieldAccounting]);
  return plain.fieldAccounting;
}

const summary = (d: Diagnostic): string => `${d.severity} ${d.code} ${d.rule?.line}:${d.rule?.column} ${d.message} | ${d.hint}`;

const ndjsonMapping = (extra = ''): string => `
cadmap: 1
id: accounting-ndjson
${extra}
source: { format: ndjson, key: callRef }
bundle: { key: =callRef }
resources:
  - id: call
    resourceType: Communication
    key: =callRef
    template:
      extension:
        - $when: =flags.aqii.exists()
          url: https://example.org/aqi
          valueBoolean: =flags.aqii
      payload:
        - $forEach: =units
          contentString: =callSign
`;
const calls = [
  '{"callRef":"1","flags":{"aqi":false,"nhs111":true},"units":[{"callSign":"M1"}]}',
  '{"callRef":"2","flags":{"aqi":true}}',
  '{"callRef":"3"}',
].join('\n');

describe('field accounting', () => {
  it('reports a misspelt JSON path that no record has, at every expression reading it, with what the records had', async () => {
    const found = await accounting({ 'mapping.yaml': ndjsonMapping(), 'calls.ndjson': calls }, ['calls.ndjson']);
    expect(found.map(summary)).toEqual([
      "warning MAP_FIELD_NEVER_PRESENT 13:19 '=flags.aqii.exists()' reads flags.aqii, but none of the 3 records read had a value there. | Did you mean flags.aqi? Under flags the records had: aqi, nhs111. Correct the name in the mapping if it is misspelt; if the export leaves this field out only sometimes, declare it in source.fields (it is then reported as information).",
      "warning MAP_FIELD_NEVER_PRESENT 15:26 '=flags.aqii' reads flags.aqii, but none of the 3 records read had a value there. | Did you mean flags.aqi? Under flags the records had: aqi, nhs111. Correct the name in the mapping if it is misspelt; if the export leaves this field out only sometimes, declare it in source.fields (it is then reported as information).",
    ]);
  });

  it('makes them errors when the mapping sets checks.fieldNeverPresent: error', async () => {
    const found = await accounting({ 'mapping.yaml': ndjsonMapping('checks: { fieldNeverPresent: error }'), 'calls.ndjson': calls }, ['calls.ndjson']);
    expect(found.map((d) => [d.code, d.severity])).toEqual([
      ['MAP_FIELD_NEVER_PRESENT', 'error'],
      ['MAP_FIELD_NEVER_PRESENT', 'error'],
    ]);
  });

  it('reports a path once, where the records diverge from it, not every path below', async () => {
    const mapping = ndjsonMapping().replace('=callSign', '=crew.lead.name').replace('=units', '=unitz');
    const found = await accounting({ 'mapping.yaml': mapping, 'calls.ndjson': calls }, ['calls.ndjson']);
    expect(found.map((d) => d.message)).toEqual([
      "'=flags.aqii.exists()' reads flags.aqii, but none of the 3 records read had a value there.",
      "'=flags.aqii' reads flags.aqii, but none of the 3 records read had a value there.",
      "'=unitz' reads unitz, but none of the 3 records read had a value there.",
    ]);
    expect(found[2]!.hint).toMatch(/^Did you mean units\? The records had: callRef, flags, units\./);
  });

  it('reports a misspelt XML attribute or element path', async () => {
    const mapping = `
cadmap: 1
id: accounting-xml
source: { format: xml, xml: { record: /Export/Incident }, key: id }
bundle: { key: =id }
resources:
  - id: call
    resourceType: Communication
    key: =id
    template:
      status: =iif(Aqi.includd = 'true', 'completed', 'in-progress')
      sent: =Call.Conected.dateTime()
      note:
        - text: =Call.text
`;
    const xml = `<Export><Incident id="1"><Aqi included="true"/><Call connected="2024-01-01T10:00:00">first</Call></Incident><Incident id="2"><Call><Connected>x</Connected></Call></Incident></Export>`;
    const found = await accounting({ 'mapping.yaml': mapping, 'export.xml': xml }, ['export.xml']);
    expect(found.map((d) => `${d.message} | ${d.hint?.split('? ')[0]}?`)).toEqual([
      "'=iif(Aqi.includd = 'true', 'completed', 'in-progress')' reads Aqi.includd, but none of the 2 records read had a value there. | Did you mean Aqi.included?",
      "'=Call.Conected.dateTime()' reads Call.Conected, but none of the 2 records read had a value there. | Did you mean Call.Connected?",
    ]);
  });

  it('checks CSV columns with spaces read through let, where, $this and a child table, and notes a column empty in every record', async () => {
    const mapping = `
cadmap: 1
id: accounting-csv
source:
  format: csv
  tables:
    calls: { files: calls.csv, key: IncidentId }
    units: { files: units.csv, parent: calls, on: { IncidentId: IncidentId } }
bundle: { key: =IncidentId }
resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    let:
      dob: =%record.\`Patient 2 D0B\`
    template:
      sent: =%dob.date('dd/MM/yyyy')
      note:
        - $forEach: =(\`Unit 1 Arived\` | \`Unit 2 Arrived\`)
          text: =$this
        - $forEach: =%record.units.where(\`Call Sign\` = 'M1')
          text: =\`Unit Typ\`
      topic: { text: =StopCode }
`;
    const files = {
      'mapping.yaml': mapping,
      'calls.csv': 'IncidentId,Patient 2 DOB,Unit 1 Arrived,Unit 2 Arrived,StopCode\n1,01/02/1990,10:00,10:05,\n2,,,,\n',
      'units.csv': 'IncidentId,Call Sign,Unit Type\n1,M1,DCA\n',
    };
    const { root, mapping: loaded } = await setUp(files);
    const run = await mapAll(loaded, ['calls.csv', 'units.csv'].map((name) => ({ path: join(root, name) })));
    expect(run.results).toEqual([]);
    expect(run.diagnostics.map((d) => `${d.code} ${d.rule?.line} ${d.message} | ${d.hint?.split('?')[0]}`)).toEqual([
      `MAP_UNKNOWN_COLUMN 15 '=%record.\`Patient 2 D0B\`' reads 'Patient 2 D0B', but table 'calls' (${join(root, 'calls.csv')}) has no such column. | Did you mean 'Patient 2 DOB'`,
      `MAP_UNKNOWN_COLUMN 19 '=(\`Unit 1 Arived\` | \`Unit 2 Arrived\`)' reads 'Unit 1 Arived', but table 'calls' (${join(root, 'calls.csv')}) has no such column. | Did you mean 'Unit 1 Arrived'`,
      `MAP_UNKNOWN_COLUMN 22 '=\`Unit Typ\`' reads 'Unit Typ', but table 'units' (${join(root, 'units.csv')}) has no such column. | Did you mean 'Unit Type'`,
    ]);

    const fixed = mapping.replace('D0B', 'DOB').replace('Arived', 'Arrived').replace('Unit Typ`', 'Unit Type`');
    const found = await accounting({ ...files, 'mapping.yaml': fixed }, ['calls.csv', 'units.csv']);
    expect(found.map((d) => `${d.severity} ${d.code} ${d.message} ${d.input?.field}`)).toEqual([
      "information MAP_FIELD_NEVER_PRESENT '=StopCode' reads column \"StopCode\" of table calls, which is empty in all 2 records read. StopCode",
    ]);
  });

  it('checks the columns a document template reads (target: cqi-case) as it checks resource rules', async () => {
    const mapping = `
cadmap: 1
id: accounting-document
target: cqi-case
source:
  format: csv
  tables:
    cases: { files: cases.csv, key: CaseID }
document:
  key: =CaseID
  template:
    case: { caseId: =CaseID, triageStart: =TriageStrat }
`;
    const { root, mapping: loaded } = await setUp({ 'mapping.yaml': mapping, 'cases.csv': 'CaseID,TriageStart\n1,2024-01-01T10:00:00Z\n' });
    const run = await mapAll(loaded, [{ path: join(root, 'cases.csv') }]);
    expect(run.diagnostics.map((d) => [d.code, d.rule?.line, d.hint?.split('?')[0]])).toEqual([['MAP_UNKNOWN_COLUMN', 12, "Did you mean 'TriageStart'"]]);
  });

  it('says nothing when no record was read', async () => {
    const found = await accounting({ 'mapping.yaml': ndjsonMapping(), 'calls.ndjson': '' }, ['calls.ndjson']);
    expect(found).toEqual([]);
  });
});

describe('declared source fields', () => {
  it('lists the paths a record may have: an undeclared read fails the mapping, a declared field never present is information', async () => {
    const fields = 'source: { format: ndjson, key: callRef, fields: [callRef, flags.aqi, flags.nhs111, units.callSign] }';
    const root = fixtureTree({ 'mapping.yaml': ndjsonMapping().replace('source: { format: ndjson, key: callRef }', fields) });
    const { mapping, diagnostics } = await loadMapping(join(root, 'mapping.yaml'));
    expect(mapping).toBeUndefined();
    expect(diagnostics.map(summary)).toEqual([
      "error MAP_FIELD_UNDECLARED 13:19 '=flags.aqii.exists()' reads flags.aqii, which source.fields does not declare. | Did you mean flags.aqi? Declared under flags: aqi, nhs111. Correct the name, or add the field to source.fields if the export has it.",
      "error MAP_FIELD_UNDECLARED 15:26 '=flags.aqii' reads flags.aqii, which source.fields does not declare. | Did you mean flags.aqi? Declared under flags: aqi, nhs111. Correct the name, or add the field to source.fields if the export has it.",
    ]);

    const declared = ndjsonMapping().replace('source: { format: ndjson, key: callRef }', fields).replaceAll('flags.aqii', 'flags.nhs111');
    const found = await accounting({ 'mapping.yaml': declared, 'calls.ndjson': '{"callRef":"9","flags":{"aqi":true}}' }, ['calls.ndjson']);
    expect(found.map((d) => `${d.severity} ${d.message}`)).toEqual([
      "information '=flags.nhs111.exists()' reads flags.nhs111, but the one record read had no value there.",
      "information '=flags.nhs111' reads flags.nhs111, but the one record read had no value there.",
      "information '=units' reads units, but the one record read had no value there.",
    ]);
  });

  it('derives the paths from a JSON Schema ($ref, allOf, items, additionalProperties)', async () => {
    const schema = {
      $defs: {
        Call: {
          type: 'object',
          properties: { callRef: { type: 'string' }, flags: { $ref: '#/$defs/Flags' }, units: { type: 'array', items: { properties: { callSign: {} } } } },
          allOf: [{ properties: { extra: { type: 'object', additionalProperties: true } } }],
        },
        Flags: { type: 'object', properties: { aqi: { type: 'boolean' } }, additionalProperties: false },
      },
    };
    const files = { 'calls.schema.json': JSON.stringify(schema) };
    const withSchema = (template: string): Record<string, string> => ({
      ...files,
      'mapping.yaml': ndjsonMapping().replace('source: { format: ndjson, key: callRef }', "source: { format: ndjson, key: callRef, fields: { jsonSchema: calls.schema.json, record: '/$defs/Call' } }").replaceAll('flags.aqii', template),
    });
    const bad = await loadMapping(join(fixtureTree(withSchema('flags.aqii')), 'mapping.yaml'));
    expect(bad.diagnostics.map((d) => [d.code, d.hint?.split('?')[0]])).toEqual([
      ['MAP_FIELD_UNDECLARED', 'Did you mean flags.aqi'],
      ['MAP_FIELD_UNDECLARED', 'Did you mean flags.aqi'],
    ]);
    const good = await loadMapping(join(fixtureTree(withSchema('extra.anything.below')), 'mapping.yaml'));
    expect(good.diagnostics).toEqual([]);
    expect(good.mapping?.files.some((file) => file.endsWith('calls.schema.json'))).toBe(true);
  });

  it('derives the paths from an XSD: named and anonymous types, attributes, simple content text, element references', async () => {
    const xsd = `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:hc="urn:harbour" targetNamespace="urn:harbour" elementFormDefault="qualified">
  <xs:element name="Export"><xs:complexType><xs:sequence><xs:element ref="hc:Incident" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="Incident" type="hc:IncidentType"/>
  <xs:complexType name="IncidentType">
    <xs:sequence>
      <xs:element name="Call"><xs:complexType><xs:attribute name="connected" type="xs:string"/></xs:complexType></xs:element>
      <xs:element name="Aqi" minOccurs="0">
        <xs:complexType>
          <xs:sequence><xs:element name="ResponseTime" type="hc:Seconds" minOccurs="0"/></xs:sequence>
          <xs:attribute name="included" type="xs:boolean"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="id" type="xs:string" use="required"/>
  </xs:complexType>
  <xs:complexType name="Seconds"><xs:simpleContent><xs:extension base="xs:decimal"><xs:attribute name="unit" type="xs:string"/></xs:extension></xs:simpleContent></xs:complexType>
</xs:schema>`;
    const mapping = (read: string): string => `
cadmap: 1
id: accounting-xsd
source: { format: xml, xml: { record: /Export/Incident }, key: id, fields: { xsd: harbour.xsd } }
bundle: { key: =id }
resources:
  - id: call
    resourceType: Communication
    key: =id
    template:
      sent: =Call.connected
      extension:
        - url: https://example.org/aqi
          valueDecimal: =${read}.toDecimal()
`;
    const good = await loadMapping(join(fixtureTree({ 'harbour.xsd': xsd, 'mapping.yaml': mapping('Aqi.ResponseTime.text') }), 'mapping.yaml'));
    expect(good.diagnostics).toEqual([]);
    const bad = await loadMapping(join(fixtureTree({ 'harbour.xsd': xsd, 'mapping.yaml': mapping('Aqi.ResponseTme.text') }), 'mapping.yaml'));
    expect(bad.diagnostics.map((d) => `${d.code} ${d.message} | ${d.hint}`)).toEqual([
      "MAP_FIELD_UNDECLARED '=Aqi.ResponseTme.text.toDecimal()' reads Aqi.ResponseTme, which source.fields does not declare. | Did you mean Aqi.ResponseTime? Declared under Aqi: ResponseTime, included. Correct the name, or add the field to source.fields if the export has it.",
    ]);
    const missing = await loadMapping(join(fixtureTree({ 'mapping.yaml': mapping('Aqi.ResponseTime.text') }), 'mapping.yaml'));
    expect(missing.diagnostics.map((d) => [d.code, d.rule?.yamlPath])).toEqual([['MAP_FIELDS_FILE', 'source.fields']]);
  });
});
