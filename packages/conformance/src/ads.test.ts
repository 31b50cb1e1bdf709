import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checker } from './checker.js';
import { createChecker } from './checker.js';
import { attachProvenance, renderText } from './outcome.js';
import { adsProfiles, fixtures, readJson, ukCoreRegistry } from '../test/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are real FHIR JSON mutated freely in tests
type Json = Record<string, any>;
const bundle = (): Json => readJson<Json>(join(fixtures, 'ads-bundle.json'));
const errorsOf = (checker: Checker, b: Json) => checker.checkBundle(b).issues.filter((i) => i.severity === 'error');

describe('ADS profiles on top of UK Core', () => {
  let checker: Checker;
  beforeAll(() => {
    checker = createChecker({ registry: ukCoreRegistry(), packages: [adsProfiles] });
  });

  it('loads the profiles package with no problems', () => {
    expect(checker.loadIssues).toEqual([]);
    expect(checker.registry.packages.at(-1)).toMatchObject({ name: 'cadmap.ads.r4', resourceCount: 24 });
  });

  it('the hand-written sample bundle (ads.md §3 shape) checks clean', () => {
    const result = checker.checkBundle(bundle());
    expect(result.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.entries).toHaveLength(6);
  });

  it('a call origin without its leading zero breaks the required binding', () => {
    const b = bundle();
    b.entry[0].resource.extension[0].valueCodeableConcept.coding[0].code = '1';
    expect(errorsOf(checker, b)).toContainEqual(expect.objectContaining({ code: 'CONF_BINDING', expression: 'Bundle.entry[0].resource.extension[0].valueCodeableConcept' }));
  });

  it('a response category without its type sub-extension breaks the slice', () => {
    const b = bundle();
    b.entry[0].resource.extension[1].extension.shift();
    expect(errorsOf(checker, b)).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Bundle.entry[0].resource.extension[1].extension', ruleKey: 'responseCategoryType' }));
  });

  it('the response category type accepts both spellings of its system but not an unknown code', () => {
    const b = bundle();
    b.entry[0].resource.extension[1].extension[0].valueCodeableConcept.coding[0].code = 'final';
    expect(errorsOf(checker, b)).toContainEqual(expect.objectContaining({ code: 'CONF_BINDING', expression: 'Bundle.entry[0].resource.extension[1].extension[0].valueCodeableConcept' }));
  });

  it('an AQI response time that is not a Duration is a type error', () => {
    const b = bundle();
    b.entry[0].resource.extension[4] = { url: 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-AQIResponseTime', valueString: '412' };
    expect(errorsOf(checker, b)).toContainEqual(expect.objectContaining({ code: 'CONF_TYPE', expression: 'Bundle.entry[0].resource.extension[4].valueString' }));
  });

  it('an unknown DateTimeType code is a warning (extensible binding)', () => {
    const b = bundle();
    b.entry[0].resource.extension[3].extension[0].valueCodeableConcept.coding[0].code = 'time-made-up';
    const issues = checker.checkBundle(b).issues;
    expect(issues).toContainEqual(expect.objectContaining({ code: 'CONF_BINDING', severity: 'warning', expression: 'Bundle.entry[0].resource.extension[3].extension[0].valueCodeableConcept' }));
    expect(issues).toContainEqual(expect.objectContaining({ code: 'CONF_CODE_INVALID', severity: 'error', expression: 'Bundle.entry[0].resource.extension[3].extension[0].valueCodeableConcept.coding[0].code' }));
  });

  it('Communication.sent is required (ADS10) and recipient is 1..1 (ADS1)', () => {
    const b = bundle();
    delete b.entry[0].resource.sent;
    b.entry[0].resource.recipient.push({ reference: 'urn:uuid:8a3f0e52-2c1b-5d4e-9f61-0c7d2e4b6a02' });
    const errors = errorsOf(checker, b);
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_CARDINALITY', expression: 'Bundle.entry[0].resource.sent' }));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_CARDINALITY', expression: 'Bundle.entry[0].resource.recipient[1]' }));
  });

  it('Communication.about must reference an Encounter', () => {
    const b = bundle();
    b.entry[0].resource.about[0].reference = 'urn:uuid:8a3f0e52-2c1b-5d4e-9f61-0c7d2e4b6a04';
    expect(errorsOf(checker, b)).toContainEqual(expect.objectContaining({ code: 'CONF_REFERENCE', expression: 'Bundle.entry[0].resource.about[0].reference' }));
  });

  it('Bundle.type message needs a MessageHeader first (bdl-12, evaluated by FHIRPath)', () => {
    const b = bundle();
    b.type = 'message';
    expect(errorsOf(checker, b)).toContainEqual(expect.objectContaining({ code: 'CONF_INVARIANT', ruleKey: 'bdl-12', expression: 'Bundle' }));
  });

  it('a non-modifier extension in modifierExtension is an error', () => {
    const b = bundle();
    b.entry[0].resource.modifierExtension = [b.entry[0].resource.extension.pop()];
    expect(errorsOf(checker, b)).toContainEqual(expect.objectContaining({ code: 'CONF_EXTENSION', expression: 'Bundle.entry[0].resource.modifierExtension[0]' }));
  });

  it('canonical aliases let a trust use the real URLs', () => {
    const real = 'https://fhir.nhs.uk/StructureDefinition/Extension-ADS-CallOrigin-REAL';
    const aliased = createChecker({
      registry: ukCoreRegistry(),
      packages: [adsProfiles],
      canonicalAliases: { [real]: 'https://fhir.nhs.uk/R4/StructureDefinition/Extension-ADS-CallOrigin' },
    });
    const b = bundle();
    b.entry[0].resource.extension[0].url = real;
    expect(aliased.checkBundle(b).issues.filter((i) => i.code === 'CONF_EXTENSION')).toEqual([]);
    b.entry[0].resource.extension[0].valueCodeableConcept.coding[0].code = '1';
    expect(errorsOf(aliased, b)).toContainEqual(expect.objectContaining({ code: 'CONF_BINDING' }));
  });

  it('reports a broken element with the YAML rule and the CSV cell from provenance (nearest ancestor)', () => {
    const b = bundle();
    b.entry[0].resource.extension[0].valueCodeableConcept.coding[0].code = '1';
    const provenance = new Map([
      ['Bundle.entry[0].resource.extension[0]', { rule: { file: 'mappings/acme/mapping.yaml', line: 42, column: 9, yamlPath: 'resources[0].template.extension[0]' }, input: { file: 'calls.csv', line: 3, row: 2, field: 'CallOrigin', fieldIndex: 5 } }],
    ]);
    const diagnostics = attachProvenance(errorsOf(checker, b), (p) => provenance.get(p));
    expect(diagnostics.map((d) => d.code).sort()).toEqual(['CONF_BINDING', 'CONF_CODE_INVALID']);
    const issue = diagnostics.find((d) => d.code === 'CONF_BINDING');
    expect(diagnostics.every((d) => d.input?.field === 'CallOrigin')).toBe(true);
    expect(issue).toMatchObject({ code: 'CONF_BINDING', rule: { file: 'mappings/acme/mapping.yaml', line: 42 }, input: { row: 2, field: 'CallOrigin' } });
    expect(renderText(issue ? [issue] : [])).toContain('rule: mappings/acme/mapping.yaml:42:9');
  });
});
