import { beforeAll, describe, expect, it } from 'vitest';
import { createChecker } from './checker.js';
import type { Checker } from './checker.js';
import { FhirPackageRegistry } from './registry.js';

const profile = (id: string, type: string, elements: object[]) => ({
  resourceType: 'StructureDefinition', url: `http://example.org/SD/${id}`, name: id, status: 'draft', kind: 'resource', abstract: false, type,
  baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`, derivation: 'constraint', differential: { element: elements },
});

describe('minValue, maxValue and maxLength', () => {
  let checker: Checker;
  beforeAll(() => {
    const registry = new FhirPackageRegistry();
    registry.loadR4Core();
    registry.addResource(profile('obs', 'Observation', [
      { path: 'Observation.value[x]', type: [{ code: 'Quantity' }] },
      { path: 'Observation.valueQuantity', minValueQuantity: { value: 0, system: 'http://unitsofmeasure.org', code: 'kg' }, maxValueQuantity: { value: 300, system: 'http://unitsofmeasure.org', code: 'kg' } },
      { path: 'Observation.effective[x]', type: [{ code: 'dateTime' }] },
      { path: 'Observation.effectiveDateTime', minValueDateTime: '2020-01-01' },
    ]));
    registry.addResource(profile('params', 'Parameters', [{ path: 'Parameters.parameter.value[x]', type: [{ code: 'time' }], minValueTime: '01:00:00', maxValueTime: '03:00:00' }]));
    registry.addResource(profile('patient', 'Patient', [
      { id: 'Patient.birthDate', path: 'Patient.birthDate', minValueDuration: { value: 120, system: 'http://unitsofmeasure.org', code: 'a' }, maxValueDuration: { value: 0, system: 'http://unitsofmeasure.org', code: 'd' } },
      { id: 'Patient.name.family', path: 'Patient.name.family', maxLength: 5 },
      { id: 'Patient.multipleBirth[x]', path: 'Patient.multipleBirth[x]', type: [{ code: 'integer' }], maxValueInteger: 8 },
    ]));
    checker = createChecker({ registry });
  });
  const errors = (resource: object, id: string) => checker.checkResource(resource, { profiles: [`http://example.org/SD/${id}`] }).issues.filter((i) => i.severity === 'error').map((i) => i.expression);

  it('Quantities in the limit\'s unit, converted with UCUM; dateTimes with their precision', () => {
    const obs = (value: object, effective = '2021') => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: effective, valueQuantity: value });
    expect(errors(obs({ value: 70, system: 'http://unitsofmeasure.org', code: 'kg' }), 'obs')).toEqual([]);
    expect(errors(obs({ value: -1, system: 'http://unitsofmeasure.org', code: 'kg' }), 'obs')).toEqual(['Observation.valueQuantity']);
    expect(errors(obs({ value: 400000, system: 'http://unitsofmeasure.org', code: 'g' }), 'obs')).toEqual(['Observation.valueQuantity']);
    expect(errors(obs({ value: 4, system: 'http://unitsofmeasure.org', code: 'm' }), 'obs')).toEqual(['Observation.valueQuantity']);
    expect(errors(obs({ value: 70, system: 'http://unitsofmeasure.org', code: 'kg' }, '2019-12-31T23:00:00Z'), 'obs')).toEqual(['Observation.effectiveDateTime']);
    // 2020 against 2020-01-01: indeterminate, not a violation.
    expect(errors(obs({ value: 70, system: 'http://unitsofmeasure.org', code: 'kg' }, '2020'), 'obs')).toEqual([]);
  });

  it('times, integers, string lengths, and Durations from now on dates', () => {
    const params = (...times: string[]) => ({ resourceType: 'Parameters', parameter: times.map((t) => ({ name: 't', valueTime: t })) });
    expect(errors(params('00:30:00', '02:00:00', '03:30:00'), 'params')).toEqual(['Parameters.parameter[0].valueTime', 'Parameters.parameter[2].valueTime']);
    expect(errors({ resourceType: 'Patient', birthDate: '1950-01-01', name: [{ family: 'Smith' }], multipleBirthInteger: 2 }, 'patient')).toEqual([]);
    expect(errors({ resourceType: 'Patient', birthDate: '1850-01-01', name: [{ family: 'Smithson' }], multipleBirthInteger: 9 }, 'patient')).toEqual(['Patient.name[0].family', 'Patient.birthDate', 'Patient.multipleBirthInteger']);
    expect(errors({ resourceType: 'Patient', birthDate: '2999-01-01' }, 'patient')).toEqual(['Patient.birthDate']);
  });
});
