import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureTree } from '../../../../test/support/fixtures.js';
import { mapEveryWay } from '../../../../test/support/engine-paths.js';
import { loadMapping } from '../mapping/load.js';

/**
 * A value a function cannot convert is never silently empty: MAP_CONVERSION_FAILED (or the function's own code)
 * at the cell, an error unless the mapping's `checks` chose warning (the element is then left out), the same on
 * the generated-code path, the interpreter, fhirpath.js and with provenance on.
 */
const mappingWith = (template: string, checks = ''): string => `
cadmap: 1
id: conversions
${checks}
source:
  format: csv
  tables:
    calls: { files: "calls.csv", key: IncidentId }
bundle:
  key: =IncidentId
resources:
  - id: call
    resourceType: Observation
    key: =IncidentId
    template:
${template
  .trim()
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
`;

const calls = `IncidentId,Amount,Count,Flag,Day,NhsNo
1,"1.234,5",3,Y,2024-03-31,9434765919
2,12.5,three,maybe,2024-13-31,1234567890
3,,,,,
`;

describe('conversions that fail', () => {
  it("reports '1.234,5'.replace(',', '.').toDecimal() at the cell, and the record fails", async () => {
    const { results } = await mapEveryWay(mappingWith(`valueQuantity: { value: "=Amount.replace(',', '.').toDecimal()", unit: EUR }`), { 'calls.csv': calls });
    const [first, second, third] = results;
    expect(first!.ok).toBe(false);
    expect(first!.diagnostics).toMatchObject([
      {
        code: 'MAP_CONVERSION_FAILED',
        severity: 'error',
        message: 'toDecimal() cannot convert "1.234.5": it expects a number written with digits and an optional \'.\' such as 12.5.',
        rule: { line: 16, ruleId: 'call', yamlPath: 'resources[0].template.valueQuantity.value' },
        input: { row: 1, field: 'Amount', fieldIndex: 2, recordKey: '1' },
      },
    ]);
    expect(second!.ok).toBe(true);
    expect(second!.bundle?.entry?.[0]?.resource).toMatchObject({ valueQuantity: { value: 12.5, unit: 'EUR' } });
    // an empty cell is absent, not a failed conversion
    expect(third!.ok).toBe(true);
    expect(third!.diagnostics).toEqual([]);
  });

  it('reports toInteger() and toBoolean() as well, and the same from fhirpath.js', async () => {
    const template = `
valueInteger: =Count.toInteger()
valueBoolean: =Flag.toBoolean()
component:
  - valueQuantity: { value: "=Amount.replace(',', '.').toDecimal() + 0.5" }
`;
    const { results } = await mapEveryWay(mappingWith(template), { 'calls.csv': calls });
    const codes = results.map((result) => result.diagnostics.map((d) => `${d.code} ${d.input?.field ?? '?'} ${d.message.split(':')[0]}`));
    expect(codes).toEqual([
      ['MAP_CONVERSION_FAILED Amount toDecimal() cannot convert "1.234.5"'],
      ['MAP_CONVERSION_FAILED Count toInteger() cannot convert "three"', 'MAP_CONVERSION_FAILED Flag toBoolean() cannot convert "maybe"'],
      [],
    ]);
    expect(results[0]!.bundle?.entry?.[0]?.resource).toMatchObject({ valueInteger: 3, valueBoolean: true });
  });

  it("reports fhirpath.js's own conversions (toDate) and keeps their typed results", async () => {
    const template = `
effectiveDateTime: =Day.toDate().toString()
valueBoolean: =Day.toDate() > @2024-01-01
`;
    const { results } = await mapEveryWay(mappingWith(template), { 'calls.csv': calls });
    expect(results[0]!.bundle?.entry?.[0]?.resource).toMatchObject({ effectiveDateTime: '2024-03-31', valueBoolean: true });
    expect(results[1]!.diagnostics.map((d) => [d.code, d.severity, d.input?.field])).toEqual([
      ['MAP_CONVERSION_FAILED', 'error', 'Day'],
      ['MAP_CONVERSION_FAILED', 'error', 'Day'],
    ]);
    expect(results[1]!.diagnostics[0]!.message).toBe('toDate() cannot convert "2024-13-31": it expects a FHIRPath date such as 2024-03-31.');
  });

  it('leaves the element out with a warning when the mapping declares checks.conversions: warning', async () => {
    const { results } = await mapEveryWay(mappingWith(`valueQuantity: { value: "=Amount.replace(',', '.').toDecimal()", unit: EUR }`, 'checks: { conversions: warning }'), {
      'calls.csv': calls,
    });
    expect(results[0]!.ok).toBe(true);
    expect(results[0]!.bundle?.entry?.[0]?.resource).toEqual({ resourceType: 'Observation' });
    expect(results[0]!.diagnostics.map((d) => [d.code, d.severity, d.input?.field])).toEqual([['MAP_CONVERSION_FAILED', 'warning', 'Amount']]);
  });

  it('makes dates warnings and codes errors when the mapping says so', async () => {
    const template = `
effectiveDateTime: =Day.dateTime('yyyy-MM-dd')
identifier: [{ value: =NhsNo.nhsNumber() }]
`;
    const defaults = await mapEveryWay(mappingWith(template), { 'calls.csv': calls });
    expect(defaults.results[1]!.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['MAP_DATE_UNPARSEABLE', 'error'],
      ['MAP_NHS_NUMBER_INVALID', 'warning'],
    ]);
    const declared = await mapEveryWay(mappingWith(template, 'checks: { dates: warning, codes: error }'), { 'calls.csv': calls });
    expect(declared.results[1]!.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['MAP_DATE_UNPARSEABLE', 'warning'],
      ['MAP_NHS_NUMBER_INVALID', 'error'],
    ]);
  });

  it('reports a conversion of constants when the mapping is loaded', async () => {
    const root = fixtureTree({ 'mapping.yaml': mappingWith(`valueQuantity: { value: "='1.234,5'.replace(',', '.').toDecimal()" }`) });
    const { mapping, diagnostics } = await loadMapping(join(root, 'mapping.yaml'));
    expect(mapping).toBeUndefined();
    expect(diagnostics).toMatchObject([{ code: 'MAP_CONVERSION_FAILED', severity: 'error', rule: { line: 16, yamlPath: 'resources[0].template.valueQuantity.value' } }]);
  });
});
