import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type Mapping } from '../mapping/load.js';
import type { SourceNode, SourceRecord } from '../sources/types.js';
import { adsVendors, arbitraryRecordOf, loadSampleRecords } from '../../../../test/support/mutate-records.js';
import { interpretRecord, transformRecord, type MapResult } from './engine.js';
import { scratchDirectory } from '../../../../test/support/fixtures.js';

/**
 * The generated-code path (templates compiled to JavaScript, scalar expression forms) must give exactly what
 * the interpreter gives: same bundle JSON, same entry rules, same diagnostics (codes, messages, rule and input
 * spans), on real vendor records mutated by fast-check and on a mapping written to reach every shape.
 */
const vendors = adsVendors;
const loaded = new Map<string, { mapping: Mapping; records: SourceRecord[] }>();

beforeAll(async () => {
  for (const [vendor, value] of await loadSampleRecords(vendors)) {
    loaded.set(vendor, value);
  }
});

/** Everything a caller can see of a result, as text. */
function observable(result: MapResult): string {
  return JSON.stringify({
    key: result.key,
    ok: result.ok,
    skipped: result.skipped,
    bundle: result.bundle,
    entryRules: result.entryRules,
    diagnostics: result.diagnostics,
  });
}

describe.each(vendors)('generated code on %s records', (vendor) => {
  it('gives the same bundles and diagnostics as the interpreter', () => {
    const { mapping, records } = loaded.get(vendor)!;
    const arbitraryRecord = arbitraryRecordOf(records);
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        expect(observable(transformRecord(mapping, record))).toBe(observable(interpretRecord(mapping, record)));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same results on the unmutated sample, and provenance runs build the same bundles', () => {
    const { mapping, records } = loaded.get(vendor)!;
    for (const record of records) {
      const generated = transformRecord(mapping, record);
      expect(observable(generated)).toBe(observable(interpretRecord(mapping, record)));
      expect(JSON.stringify(transformRecord(mapping, record, { provenance: true }).bundle)).toBe(JSON.stringify(generated.bundle));
    }
  });
});

const shapesMapping = `
cadmap: 1
id: codegen-shapes
constants:
  system: https://example.org/id
  fallback: other
source:
  format: json
  json: { record: '' }
bundle:
  type: collection
  key: =id
  # one constant object (built as one literal): members named like the bundle's own take their place
  template:
    meta:
      tag:
        - system: =%system
          code: shapes
    type: batch
    id: fixed
    "0": zero
resources:
  - id: call
    resourceType: Communication
    key: =id
    when: =skip.empty() or skip = false
    template:
      identifier:
        - system: =%system
          value: =id
        - $forEach: =codes
          $as: code
          system: =%system
          value: =%code
      status: =iif(stop.exists(), 'stopped', %fallback)
      statusReason:
        $when: =stop.exists() and reason != 'none'
        text: =reason
        coding:
          - =stop
          - =extra
      sent: =when.dateTime()
      note:
        - text: =nested.a.b
        - text: =%record.nested.a.b
      about:
        - $forEach: =people
          reference: =ref('person', %record.id, no)
      topic:
        text: =iif(%record.kind = 'x', kind, nested.a.b)
      # lists of one item: an expression (one value, none or several) and an object
      instantiatesUri:
        - =codes
      payload:
        - contentString: =reason
      category:
        - $forEach: =%fallback
          text: =%fallback
        - $forEach: =%record
          text: =kind
      # pure forms generated as code: xor and implies, where() tests, members and a step after an iif()
      priority: =iif(stop.exists() xor kind = 'x', 'xor', iif(reason.exists() implies extra = 1, 'implies', 'neither'))
      recipient:
        - $when: =%record.names.where(text = %record.kind or no != 'x').exists()
          display: =names.where(alias = 1).empty()
      medium:
        - text: =iif(kind = 'x', nested, %record.nested).a.b
      received: =iif(skip = true, when, extra).dateTime()
      sender:
        display: =kind = %record.reason
        identifier:
          value: =iif((extra = 1) implies stop.exists(), 'yes', 'no')
  - id: person
    resourceType: Patient
    forEach: =people
    as: person
    let:
      named: =%record.names.where(no = %person.no or alias = %person.no)
    key: [=%record.id, =no]
    template:
      name:
        - $forEach: =%named
          $as: n
          $when: =text.exists()
          text: =text
      gender: =sex
      # a template forEach over a where() (loop generated)
      telecom:
        - $forEach: =%record.names.where(alias = %person.no or text = 'x')
          value: =text
      birthDate: =born.date('dd/MM/yyyy')
      # a two-part reference whose first part reports (bad dates)
      link:
        - type: seealso
          other:
            reference: =ref('person', born.date('dd/MM/yyyy'), no)
  # a forEach filtered by a where() (loop generated; its criterion may have several values for an item)
  - id: relative
    resourceType: RelatedPerson
    forEach: =people.where(sex = 'x' or no = 1)
    key: [=%record.id, =no, =sex]
    template:
      gender: =sex
  # a key part that reports (bad dates) followed by one that may have several values
  - id: visit
    resourceType: Encounter
    forEach: =people
    key: [=born.date('dd/MM/yyyy'), visit, =no]
    template:
      status: finished
`;

describe('generated code on every template shape', () => {
  let mapping: Mapping;
  beforeAll(async () => {
    const dir = scratchDirectory('cadmap-codegen-');
    const file = join(dir, 'mapping.yaml');
    writeFileSync(file, shapesMapping);
    const result = await loadMapping(file);
    if (!result.mapping) {
      throw new Error(JSON.stringify(result.diagnostics));
    }
    mapping = result.mapping;
  });

  const value = fc.oneof(
    fc.constantFrom<unknown>(undefined, null, '', 'x', 'none', '01/02/2020', '2020-01-02T03:04', 'not a date', 0, 1, true, false),
    fc.string({ maxLength: 4 }),
    fc.array(fc.constantFrom<unknown>('a', 'b', '', null), { maxLength: 3 }),
    fc.constant({ b: 'deep' }),
  );
  const person = fc.record({ no: value, sex: value, born: value }, { requiredKeys: [] });
  const record = fc.record(
    {
      id: fc.oneof(fc.constantFrom<unknown>('c1', '', null, 7), fc.array(fc.constantFrom('c1', 'c2'), { maxLength: 2 })),
      skip: value,
      codes: fc.oneof(value, fc.array(value, { maxLength: 3 })),
      stop: value,
      reason: value,
      extra: value,
      when: value,
      kind: value,
      nested: fc.oneof(value, fc.record({ a: fc.oneof(value, fc.record({ b: value })) })),
      people: fc.oneof(value, fc.array(person, { maxLength: 3 })),
      names: fc.array(fc.record({ no: value, alias: value, text: value }, { requiredKeys: [] }), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );

  it('gives the same results as the interpreter for arbitrary records', () => {
    fc.assert(
      fc.property(record, (data) => {
        const source: SourceRecord = { key: 'k', data: data as SourceNode, origin: { file: 'in.json', line: 1, column: 1 }, raw: '', diagnostics: [] };
        expect(observable(transformRecord(mapping, source))).toBe(observable(interpretRecord(mapping, source)));
      }),
      { numRuns: 1000 },
    );
  });

  it('builds a constant bundle template with its members in the places a spread gives them', () => {
    const source: SourceRecord = { key: 'k', data: { id: 'c1' }, origin: { file: 'in.json', line: 1, column: 1 }, raw: '', diagnostics: [] };
    const bundle = transformRecord(mapping, source).bundle as unknown as Record<string, unknown>;
    expect(Object.keys(bundle)).toEqual(['0', 'resourceType', 'id', 'meta', 'type', 'entry']);
    expect(bundle).toMatchObject({ 0: 'zero', id: 'fixed', type: 'collection', meta: { tag: [{ system: 'https://example.org/id', code: 'shapes' }] } });
    expect(observable(transformRecord(mapping, source))).toBe(observable(interpretRecord(mapping, source)));
  });

  it('reports several values in a value slot, and drops objects whose expressions all came out empty', () => {
    const source = (data: Record<string, unknown>): SourceRecord => ({ key: 'k', data: data as SourceNode, origin: { file: 'in.json', line: 1, column: 1 }, raw: '', diagnostics: [] });
    const several = transformRecord(mapping, source({ id: 'c1', stop: 'x', reason: ['a', 'b'] }));
    expect(several.diagnostics.map((d) => d.code)).toContain('MAP_MULTIPLE_VALUES');
    expect(observable(several)).toBe(observable(interpretRecord(mapping, source({ id: 'c1', stop: 'x', reason: ['a', 'b'] }))));
    const empty = transformRecord(mapping, source({ id: 'c1', nested: { a: { b: '' } } }));
    const resource = empty.bundle?.entry?.[0]?.resource as { note?: unknown } | undefined;
    expect(resource?.note).toBeUndefined();
  });
});
