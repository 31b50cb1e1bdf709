import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checker } from './checker.js';
import type { ConformanceCode } from './codes.js';
import { impliedProfile, readJson, ukCoreChecker, ukCoreExamples } from '../test/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are real FHIR JSON mutated freely in tests
type Json = Record<string, any>;

function example(name: string): Json {
  return readJson<Json>(join(ukCoreExamples, `${name}-Example.json`));
}

describe('mutations of real UK Core examples are caught at the right expression', () => {
  let checker: Checker;
  beforeAll(() => {
    checker = ukCoreChecker();
  });

  function check(name: string, mutate: (r: Json) => void, explicitProfile?: string): { code: ConformanceCode; severity: string; expression: string; ruleKey?: string }[] {
    const resource = example(name);
    const profile = explicitProfile ?? impliedProfile(checker, `${name}-Example.json`, resource as { resourceType: string });
    const clean = checker.checkResource(resource, profile ? { profiles: [profile] } : {});
    expect(clean.valid, `${name} is clean before mutation`).toBe(true);
    mutate(resource);
    return checker.checkResource(resource, profile ? { profiles: [profile] } : {}).issues.filter((i) => i.severity === 'error');
  }

  const bundleOf = (...entries: [string, Json][]): Json => ({
    resourceType: 'Bundle',
    type: 'collection',
    entry: entries.map(([fullUrl, resource]) => ({ fullUrl, resource })),
  });

  it('min cardinality: AllergyIntolerance.code is 1..1 in UK Core', () => {
    const errors = check('UKCore-AllergyIntolerance-Amoxicillin', (r) => delete r.code);
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_CARDINALITY', expression: 'AllergyIntolerance.code' }));
  });

  it('max cardinality: Observation.referenceRange is 0..0 in UKCore-Observation-Group-Lab', () => {
    const errors = check('UKCore-Observation-Group-FullBloodCount', (r) => {
      r.referenceRange = [{ text: 'normal' }];
    }, 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-Group-Lab');
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_CARDINALITY', expression: 'Observation.referenceRange[0]' }));
  });

  it('wrong type: Observation.valueAttachment is not a type of Observation.value[x]', () => {
    const errors = check('UKCore-Observation-Lab-RedCellCount', (r) => {
      r.valueAttachment = r.valueQuantity;
      delete r.valueQuantity;
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_TYPE', expression: 'Observation.valueAttachment' }));
  });

  it('wrong JSON shape: a repeating element given as an object', () => {
    const errors = check('UKCore-Patient-RichardSmith', (r) => {
      r.name = r.name[0];
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_TYPE', expression: 'Patient.name' }));
  });

  it('bad primitive: Patient.birthDate with month 13', () => {
    const errors = check('UKCore-Patient-RichardSmith', (r) => {
      r.birthDate = '1982-13-01';
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_PRIMITIVE', expression: 'Patient.birthDate' }));
  });

  it('fixed value: the laboratory category slice fixes coding.system', () => {
    const errors = check('UKCore-Observation-Lab-RedCellCount', (r) => {
      const index = r.category.findIndex((c: Json) => c.coding?.[0]?.code === 'laboratory');
      r.category[index].coding[0].system = 'http://example.org/wrong';
      r.__index = index;
    });
    const resource = example('UKCore-Observation-Lab-RedCellCount');
    const index = resource.category.findIndex((c: Json) => c.coding?.[0]?.code === 'laboratory');
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_FIXED', expression: `Observation.category[${index}].coding[0].system` }));
  });

  it('required binding: Patient.gender outside AdministrativeGender', () => {
    const errors = check('UKCore-Patient-RichardSmith', (r) => {
      r.gender = 'mal';
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_BINDING', expression: 'Patient.gender' }));
  });

  it('invariant: pat-1 on a Patient.contact with no details', () => {
    const errors = check('UKCore-Patient-RichardSmith', (r) => {
      r.contact = [{ gender: 'female' }];
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_INVARIANT', expression: 'Patient.contact[0]', ruleKey: 'pat-1' }));
  });

  it('invariant: per-1 on a Period that ends before it starts', () => {
    const errors = check('UKCore-Encounter-InpatientEncounter', (r) => {
      r.period = { start: '2022-02-02T10:00:00Z', end: '2022-02-01T10:00:00Z' };
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_INVARIANT', expression: 'Encounter.period', ruleKey: 'per-1' }));
  });

  it('unknown element: Patient.favouriteColour', () => {
    const errors = check('UKCore-Patient-RichardSmith', (r) => {
      r.favouriteColour = 'blue';
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_UNKNOWN_ELEMENT', expression: 'Patient.favouriteColour' }));
  });

  it('slice: a second NHS number breaks identifier:nhsNumber 0..1', () => {
    const errors = check('UKCore-Patient-RichardSmith', (r) => {
      const nhs = r.identifier.find((i: Json) => i.system === 'https://fhir.nhs.uk/Id/nhs-number');
      r.identifier.push({ ...nhs, value: '9000000017' });
    });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Patient.identifier', ruleKey: 'nhsNumber' }));
  });

  it('extension: a core-namespace extension URL that does not exist', () => {
    const errors = check('UKCore-Patient-RichardSmith', (r) => {
      r.extension = [...(r.extension ?? []), { url: 'http://hl7.org/fhir/StructureDefinition/patient-doesNotExist', valueString: 'x' }];
    });
    const index = (example('UKCore-Patient-RichardSmith').extension ?? []).length;
    expect(errors).toContainEqual(expect.objectContaining({ code: 'CONF_EXTENSION', expression: `Patient.extension[${index}]` }));
  });

  it('dangling reference: a urn:uuid that matches no entry', () => {
    const patient = example('UKCore-Patient-RichardSmith');
    const allergy = example('UKCore-AllergyIntolerance-Amoxicillin');
    allergy.patient = { reference: 'urn:uuid:6c2f5f3e-0000-4000-8000-000000000001' };
    delete allergy.encounter;
    delete allergy.recorder;
    delete allergy.asserter;
    const result = checker.checkBundle(bundleOf(['urn:uuid:6c2f5f3e-0000-4000-8000-000000000002', patient], ['urn:uuid:6c2f5f3e-0000-4000-8000-000000000003', allergy]));
    expect(result.issues).toContainEqual(expect.objectContaining({ code: 'CONF_REFERENCE', severity: 'error', expression: 'Bundle.entry[1].resource.patient.reference' }));
    expect(result.entries[1]?.outcome.issue.some((i) => i.expression?.[0] === 'Bundle.entry[1].resource.patient.reference')).toBe(true);
  });

  it('wrong target type: AllergyIntolerance.patient resolving to a Practitioner', () => {
    const practitioner = example('UKCore-Practitioner-DoctorPaulRastall');
    const allergy = example('UKCore-AllergyIntolerance-Amoxicillin');
    allergy.patient = { reference: 'urn:uuid:6c2f5f3e-0000-4000-8000-000000000002' };
    delete allergy.encounter;
    delete allergy.recorder;
    delete allergy.asserter;
    const result = checker.checkBundle(bundleOf(['urn:uuid:6c2f5f3e-0000-4000-8000-000000000002', practitioner], ['urn:uuid:6c2f5f3e-0000-4000-8000-000000000003', allergy]));
    const issue = result.issues.find((i) => i.code === 'CONF_REFERENCE');
    expect(issue).toMatchObject({ severity: 'error', expression: 'Bundle.entry[1].resource.patient.reference' });
    expect(issue?.message).toContain('Practitioner');
  });

  it('duplicate fullUrl', () => {
    const patient = example('UKCore-Patient-RichardSmith');
    const result = checker.checkBundle(bundleOf(['urn:uuid:6c2f5f3e-0000-4000-8000-000000000002', patient], ['urn:uuid:6c2f5f3e-0000-4000-8000-000000000002', patient]));
    expect(result.issues).toContainEqual(expect.objectContaining({ code: 'CONF_DUPLICATE_FULLURL', expression: 'Bundle.entry[1].fullUrl' }));
  });
});
