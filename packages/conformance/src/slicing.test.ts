import { beforeAll, describe, expect, it } from 'vitest';
import type { Checker } from './checker.js';
import { createChecker } from './checker.js';
import { FhirPackageRegistry } from './registry.js';
import { ukCoreChecker } from '../test/support.js';

const profileUrl = 'http://example.org/StructureDefinition/bp-like';
const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });

describe('slicing discriminators', () => {
  let checker: Checker;
  beforeAll(() => {
    checker = ukCoreChecker();
    checker.registry.addResource({
      resourceType: 'StructureDefinition',
      url: profileUrl,
      name: 'BpLike',
      status: 'draft',
      kind: 'resource',
      abstract: false,
      type: 'Observation',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Observation',
      derivation: 'constraint',
      differential: {
        element: [
          { id: 'Observation.identifier', path: 'Observation.identifier', slicing: { discriminator: [{ type: 'exists', path: 'system' }], rules: 'closed' } },
          { id: 'Observation.identifier:withSystem', path: 'Observation.identifier', sliceName: 'withSystem', max: '1' },
          { id: 'Observation.identifier:withSystem.system', path: 'Observation.identifier.system', min: 1 },
          { id: 'Observation.identifier:bare', path: 'Observation.identifier', sliceName: 'bare' },
          { id: 'Observation.identifier:bare.system', path: 'Observation.identifier.system', max: '0' },
          { id: 'Observation.value[x]', path: 'Observation.value[x]', slicing: { discriminator: [{ type: 'type', path: '$this' }], rules: 'closed' } },
          { id: 'Observation.value[x]:valueQuantity', path: 'Observation.value[x]', sliceName: 'valueQuantity', type: [{ code: 'Quantity' }] },
          { id: 'Observation.value[x]:valueQuantity.unit', path: 'Observation.value[x].unit', min: 1 },
          { id: 'Observation.component', path: 'Observation.component', slicing: { discriminator: [{ type: 'pattern', path: 'code' }], ordered: true, rules: 'closed' } },
          { id: 'Observation.component:systolic', path: 'Observation.component', sliceName: 'systolic', min: 1, max: '1' },
          { id: 'Observation.component:systolic.code', path: 'Observation.component.code', patternCodeableConcept: loinc('8480-6') },
          { id: 'Observation.component:diastolic', path: 'Observation.component', sliceName: 'diastolic', min: 1, max: '1' },
          { id: 'Observation.component:diastolic.code', path: 'Observation.component.code', patternCodeableConcept: loinc('8462-4') },
        ],
      },
    });
  });

  const observation = () => ({
    resourceType: 'Observation',
    status: 'final',
    code: loinc('85354-9'),
    identifier: [{ system: 'http://example.org/ids', value: '1' }, { value: '2' }],
    valueQuantity: { value: 120, unit: 'mmHg' },
    component: [
      { code: loinc('8480-6'), valueQuantity: { value: 120 } },
      { code: loinc('8462-4'), valueQuantity: { value: 80 } },
    ],
  });
  const check = (o: object) => checker.checkResource(o, { profiles: [profileUrl] }).issues.filter((i) => i.severity === 'error');

  it('a conforming resource has no errors', () => {
    expect(check(observation())).toEqual([]);
  });

  it('pattern discriminator: slice min, closed and ordered', () => {
    const missing = observation();
    missing.component.pop();
    expect(check(missing)).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Observation.component', ruleKey: 'diastolic' }));
    const swapped = observation();
    swapped.component.reverse();
    expect(check(swapped)).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Observation.component[1]' }));
    const extra = observation();
    extra.component.push({ code: loinc('9999-9'), valueQuantity: { value: 1 } });
    expect(check(extra)).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Observation.component[2]' }));
  });

  it('exists discriminator: two identifiers with a system break withSystem 0..1', () => {
    const o = observation();
    o.identifier.push({ system: 'http://example.org/ids', value: '3' });
    expect(check(o)).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', ruleKey: 'withSystem' }));
  });

  it('type discriminator: a closed choice slice rejects other types and applies slice constraints', () => {
    const o: Record<string, unknown> = observation();
    delete o['valueQuantity'];
    o['valueString'] = 'high';
    expect(check(o)).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Observation.valueString' }));
    const noUnit = observation();
    noUnit.valueQuantity = { value: 1 } as typeof noUnit.valueQuantity;
    expect(check(noUnit)).toContainEqual(expect.objectContaining({ code: 'CONF_CARDINALITY', expression: 'Observation.valueQuantity.unit' }));
  });

  it('extension context: a Patient-only extension on an Observation is an error', () => {
    const o = { ...observation(), extension: [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex', valueCodeableConcept: { text: 'x' } }] };
    expect(check(o)).toContainEqual(expect.objectContaining({ code: 'CONF_EXTENSION', expression: 'Observation.extension[0]' }));
  });

  it('an extension is checked against its own profile (value type and ext-1)', () => {
    const patient = { resourceType: 'Patient', extension: [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex', valueString: 'M' }] };
    const issues = checker.checkResource(patient, { profiles: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] }).issues;
    expect(issues).toContainEqual(expect.objectContaining({ code: 'CONF_TYPE', expression: 'Patient.extension[0].valueString' }));
    const both = { resourceType: 'Patient', extension: [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex', valueCodeableConcept: { text: 'x' }, extension: [{ url: 'a', valueString: 'b' }] }] };
    expect(checker.checkResource(both).issues).toContainEqual(expect.objectContaining({ code: 'CONF_INVARIANT', ruleKey: 'ext-1', expression: 'Patient.extension[0]' }));
  });

  it('resolve() discriminators match referenced Bundle entries; profile discriminators validate silently', () => {
    const sd = (url: string, type: string, elements: object[]) => ({
      resourceType: 'StructureDefinition', url, name: 'X', status: 'draft', kind: 'resource', abstract: false, type,
      baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`, derivation: 'constraint', differential: { element: elements },
    });
    checker.registry.addResource(sd('http://example.org/SD/hb', 'Observation', [{ id: 'Observation.code', path: 'Observation.code', patternCodeableConcept: loinc('718-7') }]));
    checker.registry.addResource(sd('http://example.org/SD/report', 'DiagnosticReport', [
      { id: 'DiagnosticReport.result', path: 'DiagnosticReport.result', slicing: { discriminator: [{ type: 'pattern', path: 'resolve().code' }], rules: 'closed' } },
      { id: 'DiagnosticReport.result:hb', path: 'DiagnosticReport.result', sliceName: 'hb', min: 1, max: '1', type: [{ code: 'Reference', targetProfile: ['http://example.org/SD/hb'] }] },
      { id: 'DiagnosticReport.identifier', path: 'DiagnosticReport.identifier', slicing: { discriminator: [{ type: 'profile', path: '$this' }], rules: 'closed' } },
      { id: 'DiagnosticReport.identifier:withValue', path: 'DiagnosticReport.identifier', sliceName: 'withValue', type: [{ code: 'Identifier', profile: ['http://example.org/SD/id-with-value'] }] },
    ]));
    checker.registry.addResource({
      resourceType: 'StructureDefinition', url: 'http://example.org/SD/id-with-value', name: 'IdWithValue', status: 'draft', kind: 'complex-type', abstract: false, type: 'Identifier',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Identifier', derivation: 'constraint', differential: { element: [{ id: 'Identifier.value', path: 'Identifier.value', min: 1 }] },
    });
    const bundle = (code: string, identifier: object) => ({
      resourceType: 'Bundle', type: 'collection',
      entry: [
        { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001', resource: { resourceType: 'DiagnosticReport', meta: { profile: ['http://example.org/SD/report'] }, status: 'final', code: { text: 'FBC' }, identifier: [identifier], result: [{ reference: 'urn:uuid:00000000-0000-4000-8000-000000000002' }] } },
        { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000002', resource: { resourceType: 'Observation', status: 'final', code: loinc(code) } },
      ],
    });
    const errors = (b: object) => checker.checkBundle(b).issues.filter((i) => i.severity === 'error');
    expect(errors(bundle('718-7', { value: 'r1' }))).toEqual([]);
    expect(errors(bundle('1234-5', { value: 'r1' }))).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Bundle.entry[0].resource.result[0]' }));
    expect(errors(bundle('718-7', { system: 'http://example.org/ids' }))).toContainEqual(expect.objectContaining({ code: 'CONF_SLICE', expression: 'Bundle.entry[0].resource.identifier[0]' }));
  });
});

describe('slicing semantics (regressions)', () => {
  let core: FhirPackageRegistry;
  beforeAll(() => {
    core = new FhirPackageRegistry();
    core.loadR4Core();
  });
  const sd = (url: string, type: string, elements: object[], base = `http://hl7.org/fhir/StructureDefinition/${type}`) => ({
    resourceType: 'StructureDefinition', url, name: 'X', status: 'draft', kind: 'resource', abstract: false, type, baseDefinition: base, derivation: 'constraint', differential: { element: elements },
  });
  const checkerWith = (...definitions: object[]) => {
    const registry = new FhirPackageRegistry({ parent: core });
    for (const d of definitions) {registry.addResource(d as never);}
    return createChecker({ registry });
  };
  const errors = (checker: Checker, resource: object, profile: string) => checker.checkResource(resource, { profiles: [profile] }).issues.filter((i) => i.severity === 'error').map((i) => `${i.code} ${i.expression}`);

  it('Bundle.entry sliced by resource type and by profile', () => {
    const byType = sd('http://example.org/SD/by-type', 'Bundle', [
      { id: 'Bundle.entry', path: 'Bundle.entry', slicing: { discriminator: [{ type: 'type', path: 'resource' }], rules: 'closed' } },
      { id: 'Bundle.entry:patient', path: 'Bundle.entry', sliceName: 'patient', min: 1, max: '1' },
      { id: 'Bundle.entry:patient.resource', path: 'Bundle.entry.resource', type: [{ code: 'Patient' }] },
      { id: 'Bundle.entry:staff', path: 'Bundle.entry', sliceName: 'staff', min: 0, max: '2' },
      { id: 'Bundle.entry:staff.resource', path: 'Bundle.entry.resource', type: [{ code: 'Practitioner' }, { code: 'PractitionerRole' }] },
    ]);
    const byProfile = sd('http://example.org/SD/by-profile', 'Bundle', [
      { id: 'Bundle.entry', path: 'Bundle.entry', slicing: { discriminator: [{ type: 'profile', path: '$this.resource' }], rules: 'closed' } },
      { id: 'Bundle.entry:named', path: 'Bundle.entry', sliceName: 'named', min: 1, max: '1' },
      { id: 'Bundle.entry:named.resource', path: 'Bundle.entry.resource', type: [{ code: 'Patient', profile: ['http://example.org/SD/named-patient'] }] },
    ]);
    const named = sd('http://example.org/SD/named-patient', 'Patient', [{ id: 'Patient.name', path: 'Patient.name', min: 1 }]);
    const checker = checkerWith(byType, byProfile, named);
    const entry = (n: number, resource: object) => ({ fullUrl: `urn:uuid:00000000-0000-4000-8000-00000000000${n}`, resource });
    const bundle = (...resources: object[]) => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((r, i) => entry(i + 1, r)) });
    const patient = { resourceType: 'Patient', name: [{ family: 'Smith' }] };
    expect(errors(checker, bundle(patient, { resourceType: 'Practitioner' }, { resourceType: 'PractitionerRole' }), byType.url)).toEqual([]);
    expect(errors(checker, bundle({ resourceType: 'Practitioner' }, { resourceType: 'Organization', name: 'x' }), byType.url)).toEqual(['CONF_SLICE Bundle.entry[1]', 'CONF_SLICE Bundle.entry']);
    expect(errors(checker, bundle(patient), byProfile.url)).toEqual([]);
    expect(errors(checker, bundle({ resourceType: 'Patient' }), byProfile.url)).toEqual(['CONF_SLICE Bundle.entry[0]', 'CONF_SLICE Bundle.entry']);
  });

  it('with several discriminators, one a slice leaves unconstrained does not decide (max 0 means absent)', () => {
    const profile = sd('http://example.org/SD/telecoms', 'Patient', [
      { id: 'Patient.telecom', path: 'Patient.telecom', slicing: { discriminator: [{ type: 'value', path: 'system' }, { type: 'value', path: 'use' }], rules: 'closed' } },
      { id: 'Patient.telecom:home', path: 'Patient.telecom', sliceName: 'home', max: '1' },
      { id: 'Patient.telecom:home.system', path: 'Patient.telecom.system', fixedCode: 'phone' },
      { id: 'Patient.telecom:home.use', path: 'Patient.telecom.use', fixedCode: 'home' },
      { id: 'Patient.telecom:email', path: 'Patient.telecom', sliceName: 'email', max: '1' },
      { id: 'Patient.telecom:email.system', path: 'Patient.telecom.system', fixedCode: 'email' },
      { id: 'Patient.telecom:email.use', path: 'Patient.telecom.use', max: '0' },
    ]);
    const checker = checkerWith(profile);
    expect(errors(checker, { resourceType: 'Patient', telecom: [{ system: 'phone', use: 'home', value: '1' }, { system: 'email', value: 'a@b' }] }, profile.url)).toEqual([]);
    expect(errors(checker, { resourceType: 'Patient', telecom: [{ system: 'email', use: 'work', value: 'a@b' }] }, profile.url)).toEqual(['CONF_SLICE Patient.telecom[0]']);
  });

  it('slices inside a recursive element (Parameters.parameter.part), and differentials without ids', () => {
    const profile = sd('http://example.org/SD/params', 'Parameters', [
      { path: 'Parameters.parameter', slicing: { discriminator: [{ type: 'value', path: 'name' }], rules: 'closed' } },
      { path: 'Parameters.parameter', sliceName: 'address', min: 1, max: '1' },
      { path: 'Parameters.parameter.name', fixedString: 'address' },
      { path: 'Parameters.parameter.part', slicing: { discriminator: [{ type: 'value', path: 'name' }], rules: 'closed' }, min: 1 },
      { path: 'Parameters.parameter.part', sliceName: 'number', min: 1, max: '1' },
      { path: 'Parameters.parameter.part.name', fixedString: 'number' },
      { path: 'Parameters.parameter.part.value[x]', min: 1, type: [{ code: 'integer' }] },
      { path: 'Parameters.parameter.part', sliceName: 'who', max: '1' },
      { path: 'Parameters.parameter.part.name', fixedString: 'who' },
      { path: 'Parameters.parameter.part.resource', type: [{ code: 'Practitioner' }, { code: 'PractitionerRole' }] },
    ]);
    const checker = checkerWith(profile);
    const params = (...part: object[]) => ({ resourceType: 'Parameters', parameter: [{ name: 'address', part }] });
    expect(errors(checker, params({ name: 'number', valueInteger: 1 }, { name: 'who', resource: { resourceType: 'PractitionerRole' } }), profile.url)).toEqual([]);
    expect(errors(checker, params({ name: 'number', valueString: 'one' }, { name: 'street', valueString: 'x' }), profile.url)).toEqual([
      'CONF_SLICE Parameters.parameter[0].part[1]',
      'CONF_TYPE Parameters.parameter[0].part[0].valueString',
      'CONF_CARDINALITY Parameters.parameter[0].part[0].value',
    ]);
    expect(errors(checker, params({ name: 'number', valueInteger: 1 }, { name: 'who', resource: { resourceType: 'Organization', name: 'x' } }), profile.url)).toEqual(['CONF_TYPE Parameters.parameter[0].part[1].resource']);
  });

  it('a contained resource refers to a sibling contained resource (#id), and # to the container', () => {
    const checker = checkerWith();
    const bundle = {
      resourceType: 'Bundle', type: 'collection',
      entry: [{ fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001', resource: {
        resourceType: 'Organization', id: 'org', name: 'Org',
        contained: [
          { resourceType: 'OrganizationAffiliation', id: 'aff', organization: { reference: '#' }, participatingOrganization: { reference: '#agent' } },
          { resourceType: 'Organization', id: 'agent', name: 'Agent' },
        ],
      } }],
    };
    expect(checker.checkBundle(bundle).issues.filter((i) => i.code === 'CONF_REFERENCE')).toEqual([]);
    const dangling = structuredClone(bundle);
    dangling.entry[0]!.resource.contained[0]!.participatingOrganization = { reference: '#nobody' };
    expect(checker.checkBundle(dangling).issues.filter((i) => i.code === 'CONF_REFERENCE').map((i) => i.expression)).toEqual(['Bundle.entry[0].resource.contained[0].participatingOrganization.reference']);
  });
});
