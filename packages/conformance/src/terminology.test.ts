import { beforeAll, describe, expect, it } from 'vitest';
import type { Checker } from './checker.js';
import { createChecker } from './checker.js';
import { FhirPackageRegistry } from './registry.js';
import { Terminology } from './terminology.js';
import { ukCoreChecker } from '../test/support.js';

describe('offline terminology', () => {
  let checker: Checker;
  beforeAll(() => {
    checker = ukCoreChecker();
  });

  it('SNOMED CT intensional value sets are reported as not checked offline (information)', () => {
    const registry = checker.registry;
    registry.addResource({
      resourceType: 'StructureDefinition',
      url: 'http://example.org/StructureDefinition/condition-required-snomed',
      name: 'ConditionRequiredSnomed',
      status: 'draft',
      kind: 'resource',
      abstract: false,
      type: 'Condition',
      baseDefinition: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Condition',
      derivation: 'constraint',
      differential: { element: [{ id: 'Condition.code', path: 'Condition.code', binding: { strength: 'required', valueSet: 'https://fhir.hl7.org.uk/ValueSet/UKCore-ConditionCode' } }] },
    });
    const own = createChecker({ registry });
    const result = own.checkResource(
      { resourceType: 'Condition', subject: { reference: 'Patient/p1' }, code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] } },
      { profiles: ['http://example.org/StructureDefinition/condition-required-snomed'] },
    );
    expect(result.valid).toBe(true);
    expect(result.issues).toContainEqual(expect.objectContaining({ code: 'CONF_NOT_CHECKED_OFFLINE', severity: 'information', expression: 'Condition.code' }));
  });

  it('a code system that is not available offline is reported distinctly from a code not in the value set', () => {
    const registry = new FhirPackageRegistry();
    registry.loadR4Core();
    registry.addResource({ resourceType: 'ValueSet', url: 'http://example.org/vs/remote', status: 'active', compose: { include: [{ system: 'http://example.org/cs/not-loaded' }] } });
    registry.addResource({ resourceType: 'ValueSet', url: 'http://example.org/vs/local', status: 'active', compose: { include: [{ system: 'http://example.org/cs/local', concept: [{ code: 'a' }] }] } });
    const terminology = new Terminology(registry);
    expect(terminology.check('http://example.org/vs/remote', 'http://example.org/cs/not-loaded', 'x')).toEqual({ status: 'unavailable', what: 'CodeSystem http://example.org/cs/not-loaded' });
    expect(terminology.check('http://example.org/vs/local', 'http://example.org/cs/local', 'b')).toEqual({ status: 'not-member' });
    expect(terminology.check('http://example.org/vs/local', 'http://example.org/cs/local', 'a')).toEqual({ status: 'member' });
    expect(terminology.check('http://example.org/vs/missing', undefined, 'a')).toMatchObject({ status: 'unavailable' });
    // is-a filters over a local hierarchy
    expect(terminology.check('http://hl7.org/fhir/ValueSet/administrative-gender', 'http://hl7.org/fhir/administrative-gender', 'other').status).toBe('member');
  });

  it('required ⟶ error, extensible ⟶ warning, preferred/example ⟶ nothing', () => {
    const base = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    expect(checker.checkResource({ ...base, status: 'done' }).issues).toContainEqual(expect.objectContaining({ code: 'CONF_BINDING', severity: 'error', expression: 'Observation.status' }));
    // Observation.interpretation is extensible in R4
    const extensible = checker.checkResource({ ...base, interpretation: [{ coding: [{ system: 'http://example.org/cs', code: 'zz' }] }] });
    expect(extensible.issues.filter((i) => i.expression === 'Observation.interpretation[0]')).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'CONF_BINDING' }),
    ]);
    const inVs = checker.checkResource({ ...base, interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H' }] }] });
    expect(inVs.issues.filter((i) => i.expression.startsWith('Observation.interpretation'))).toEqual([]);
    // Observation.code is bound to LOINC codes as an example binding: nothing reported
    const example = checker.checkResource({ ...base, code: { coding: [{ system: 'http://example.org/cs', code: 'zz' }] } });
    expect(example.issues.filter((i) => i.expression.startsWith('Observation.code'))).toEqual([]);
    const wrongCode = checker.checkResource({ ...base, interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'HIGHER' }] }] });
    expect(wrongCode.issues).toContainEqual(expect.objectContaining({ code: 'CONF_BINDING', severity: 'warning', expression: 'Observation.interpretation[0]' }));
    expect(wrongCode.issues).toContainEqual(expect.objectContaining({ code: 'CONF_CODE_INVALID', severity: 'error', expression: 'Observation.interpretation[0].coding[0].code' }));
  });

  it('compiles every FHIRPath expression once and caches it', () => {
    const own = createChecker({ registry: checker.registry });
    const patient = (i: number) => ({ resourceType: 'Patient', contact: [{ gender: 'female', name: { family: `F${i}` } }] });
    for (let i = 0; i < 20; i++) {expect(own.checkResource(patient(i)).valid).toBe(true);}
    const bad = own.checkResource({ resourceType: 'Patient', contact: [{ gender: 'female' }] });
    expect(bad.issues).toContainEqual(expect.objectContaining({ code: 'CONF_INVARIANT', ruleKey: 'pat-1', severity: 'error' }));
  });
});
