import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EvalReport } from '../expressions/types.js';
import type { LookupTable } from '../mapping/model.js';
import fc from 'fast-check';
import { coder, coding, lookupTarget, translate, translator } from './lookup.js';
import { loadConceptMapLookup, loadCsvLookup, loadLookupFile } from './lookup-files.js';
import { scratchDirectory } from '../../../../test/support/fixtures.js';

const collect = () => {
  const reports: EvalReport[] = [];
  return { reports, sink: { report: (r: EvalReport) => reports.push(r) } };
};
const span = { file: 'm.yaml', line: 3, column: 5 };
const table = (overrides: Partial<LookupTable> = {}): LookupTable => ({
  name: 'callOrigin',
  system: 'https://fhir.nhs.uk/R4/CodeSystem/Ambulance-CallOrigin',
  entries: new Map([
    ['999', { code: '01', display: '999' }],
    ['NHS111', { code: '02', display: 'NHS 111', system: 'urn:other' }],
    ['Bare', { code: '03' }],
  ]),
  caseSensitive: false,
  onMissing: 'error',
  span,
  ...overrides,
});

describe('translate() and coding()', () => {
  it('matches after trimming, case-insensitively by default', () => {
    const { sink, reports } = collect();
    expect(translate(table(), ' 999 ', sink)).toBe('01');
    expect(translate(table(), 'nhs111', sink)).toBe('02');
    expect(translate(table(), 999, sink)).toBe('01');
    expect(reports).toEqual([]);
  });
  it('honours caseSensitive', () => {
    const { sink, reports } = collect();
    expect(translate(table({ caseSensitive: true }), 'nhs111', sink)).toBeUndefined();
    expect(translate(table({ caseSensitive: true }), 'NHS111', sink)).toBe('02');
    expect(reports.map((r) => r.code)).toEqual(['MAP_LOOKUP_MISS']);
  });
  it('gives a key written exactly as in the table the same target as its normalised form (the first entry wins)', () => {
    const { sink, reports } = collect();
    const clashing = table({ entries: new Map([['male', { code: 'first' }], ['Male', { code: 'second' }], [' ', { code: 'blank' }]]) });
    expect(translate(clashing, 'Male', sink)).toBe('first');
    expect(translate(clashing, 'MALE ', sink)).toBe('first');
    expect(translate(clashing, ' ', sink)).toBeUndefined();
    expect(translate(table({ caseSensitive: true, entries: new Map([['Male', { code: 'm' }]]) }), 'Male', sink)).toBe('m');
    expect(reports).toEqual([]);
  });
  it('builds Codings with the entry system, else the table system, omitting absent fields', () => {
    const { sink } = collect();
    expect(coding(table(), '999', sink)).toEqual({ system: 'https://fhir.nhs.uk/R4/CodeSystem/Ambulance-CallOrigin', code: '01', display: '999' });
    expect(coding(table(), 'nhs111', sink)).toEqual({ system: 'urn:other', code: '02', display: 'NHS 111' });
    const { system: _system, ...withoutSystem } = table();
    const bare = coding(withoutSystem, 'bare', sink);
    expect(bare).toEqual({ code: '03' });
    expect(Object.keys(bare ?? {})).toEqual(['code']);
  });
  it('uses the default, else reports a miss with the table severity', () => {
    const withDefault = collect();
    expect(translate(table({ default: { code: '98' } }), 'fax', withDefault.sink)).toBe('98');
    expect(withDefault.reports).toEqual([]);
    const warn = collect();
    expect(lookupTarget(table({ onMissing: 'warning' }), 'fax', warn.sink)).toBeUndefined();
    expect(warn.reports.map((r) => [r.code, r.severity])).toEqual([['MAP_LOOKUP_MISS', 'warning']]);
    expect(warn.reports[0]?.message).toContain('"fax"');
    const error = collect();
    translate(table(), 'fax', error.sink);
    expect(error.reports[0]?.severity).toBe('error');
  });
  it('treats an empty value as absent without a miss', () => {
    const { sink, reports } = collect();
    expect(translate(table(), '  ', sink)).toBeUndefined();
    expect(reports).toEqual([]);
  });
});

describe('translator() and coder()', () => {
  it('give what translate() and coding() give, and report every miss every time', () => {
    const values = fc.oneof(fc.constantFrom('999', ' 999 ', 'nhs111', 'NHS111', 'bare', 'BARE ', 'fax', '', ' ', 'Fax'), fc.string({ maxLength: 4 }), fc.integer({ min: 998, max: 1000 }));
    fc.assert(
      fc.property(fc.array(values, { maxLength: 40 }), fc.boolean(), fc.constantFrom(undefined, { code: '99' }), (inputs, caseSensitive, fallback) => {
        const lookup = table({ caseSensitive, ...(fallback ? { default: fallback } : {}) });
        const translating = translator(lookup);
        const coding_ = coder(lookup);
        for (const value of inputs) {
          const fast = collect();
          const slow = collect();
          expect(translating(value, fast.sink)).toEqual(translate(lookup, value, slow.sink));
          expect(coding_(value, fast.sink)).toBe(coding(lookup, value, slow.sink));
          expect(fast.reports).toEqual(slow.reports);
        }
      }),
    );
  });
});

describe('lookup files', () => {
  const dir = scratchDirectory('cadmap-lookups-');
  const write = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('reads a CSV with header, optional display/system, any column order', async () => {
    const path = await write('stop.csv', '\uFEFFcode,Source,display,system\n01,A,"Stop, cancelled",urn:s\n02,B,,\n');
    const loaded = await loadCsvLookup(path, span);
    expect(loaded.diagnostics).toEqual([]);
    expect([...loaded.entries]).toEqual([
      ['A', { code: '01', display: 'Stop, cancelled', system: 'urn:s' }],
      ['B', { code: '02' }],
    ]);
  });
  it('reports a missing header column, empty cells and repeats with lines', async () => {
    const noHeader = await loadCsvLookup(await write('bad.csv', 'A,01\nB,02\n'), span);
    // a file that fails to load is named, never quoted: no line for a code frame to show
    expect(noHeader.diagnostics.map((d) => [d.code, d.input?.line])).toEqual([['MAP_LOOKUP_FILE', undefined]]);
    const rows = await loadCsvLookup(await write('rows.csv', 'source,code\nA,01\n,02\nA,03\nC,\n'), span);
    expect(rows.diagnostics.map((d) => d.input?.line)).toEqual([3, 4, 5]);
    expect([...rows.entries.keys()]).toEqual(['A']);
    const missing = await loadLookupFile('csv', join(dir, 'nope.csv'), span);
    expect(missing.diagnostics[0]?.code).toBe('MAP_LOOKUP_FILE');
    expect(missing.diagnostics[0]?.message).toContain('ENOENT');
  });
  it('reads a FHIR ConceptMap, keeping translating equivalences and reporting the others', async () => {
    const conceptMap = {
      resourceType: 'ConceptMap',
      group: [
        {
          source: 'urn:cad',
          target: 'https://fhir.nhs.uk/R4/CodeSystem/Disposition',
          element: [
            { code: 'CONV', target: [{ code: '01', display: 'Conveyed', equivalence: 'equivalent' }] },
            { code: 'HT', target: [{ code: '02', equivalence: 'wider' }] },
            { code: 'XX', target: [{ code: '99', equivalence: 'disjoint' }] },
            { code: 'NONE', target: [{ equivalence: 'unmatched' }] },
          ],
        },
      ],
    };
    const text = JSON.stringify(conceptMap, null, 2);
    const lineOf = (needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;
    const path = await write('disp.json', text);
    const loaded = await loadConceptMapLookup(path, span);
    expect(loaded.system).toBe('https://fhir.nhs.uk/R4/CodeSystem/Disposition');
    expect([...loaded.entries]).toEqual([
      ['CONV', { code: '01', display: 'Conveyed', system: 'https://fhir.nhs.uk/R4/CodeSystem/Disposition' }],
      ['HT', { code: '02', system: 'https://fhir.nhs.uk/R4/CodeSystem/Disposition' }],
    ]);
    expect(loaded.diagnostics.map((d) => [d.code, d.severity, d.input?.line])).toEqual([
      ['MAP_LOOKUP_FILE', 'warning', lineOf('"code": "XX"')],
      ['MAP_LOOKUP_FILE', 'warning', lineOf('"code": "NONE"')],
    ]);
    expect(loaded.diagnostics[0]?.message).toContain('disjoint');
  });
  it('reports malformed ConceptMaps', async () => {
    const notJson = await loadConceptMapLookup(await write('x.json', '{\n  "resourceType": \n}'), span);
    expect(notJson.diagnostics[0]?.code).toBe('MAP_LOOKUP_FILE');
    const wrongType = await loadConceptMapLookup(await write('y.json', '{"resourceType":"ValueSet"}'), span);
    expect(wrongType.diagnostics[0]?.message).toContain('not a FHIR ConceptMap');
  });
});
