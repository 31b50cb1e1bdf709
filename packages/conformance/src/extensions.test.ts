import { beforeAll, describe, expect, it } from 'vitest';
import { createChecker } from './checker.js';
import type { Checker } from './checker.js';
import { FhirPackageRegistry } from './registry.js';

const extension = (id: string, context: object[], more: object = {}) => ({
  resourceType: 'StructureDefinition', url: `http://example.org/SD/${id}`, name: id, status: 'draft', kind: 'complex-type', abstract: false, type: 'Extension',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Extension', derivation: 'constraint', context,
  differential: { element: [{ id: 'Extension.url', path: 'Extension.url', fixedUri: `http://example.org/SD/${id}` }, { id: 'Extension.value[x]', path: 'Extension.value[x]', type: [{ code: 'boolean' }] }] },
  ...more,
});
const flag = (id: string) => ({ url: `http://example.org/SD/${id}`, valueBoolean: true });

describe('extension contexts', () => {
  let checker: Checker;
  beforeAll(() => {
    const registry = new FhirPackageRegistry();
    registry.loadR4Core();
    registry.addResource(extension('on-parameter', [{ type: 'element', expression: 'OperationDefinition.parameter' }]));
    registry.addResource(extension('on-text', [{ type: 'element', expression: 'DomainResource.text' }]));
    registry.addResource(extension('on-canonical', [{ type: 'element', expression: 'CanonicalResource' }]));
    registry.addResource(extension('in-donor', [{ type: 'extension', expression: 'http://hl7.org/fhir/StructureDefinition/patient-cadavericDonor' }]));
    registry.addResource(extension('home-address', [{ type: 'fhirpath', expression: "Patient.address.where(use = 'home')" }]));
    registry.addResource(extension('inactive-only', [{ type: 'element', expression: 'Patient' }], { contextInvariant: ['active.not()'] }));
    checker = createChecker({ registry });
  });
  const contextErrors = (resource: object) => checker.checkResource(resource).issues.filter((i) => i.code === 'CONF_EXTENSION' && i.severity === 'error').map((i) => i.expression);

  it('an element context holds where a contentReference leads back to the element (parameter.part)', () => {
    const opdef = { resourceType: 'OperationDefinition', name: 'X', status: 'draft', kind: 'operation', code: 'x', system: false, type: false, instance: false,
      parameter: [{ name: 'p', use: 'in', min: 0, max: '1', extension: [flag('on-parameter')], part: [{ name: 'q', use: 'in', min: 0, max: '1', type: 'string', extension: [flag('on-parameter')] }] }] };
    expect(contextErrors(opdef)).toEqual([]);
  });

  it('contexts on a base type apply to what derives from it; CanonicalResource means the canonical resources', () => {
    expect(contextErrors({ resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>', extension: [flag('on-text')] } })).toEqual([]);
    expect(contextErrors({ resourceType: 'CodeSystem', status: 'draft', content: 'not-present', extension: [flag('on-canonical')] })).toEqual([]);
    expect(contextErrors({ resourceType: 'Patient', extension: [flag('on-canonical')] })).toEqual(['Patient.extension[0]']);
  });

  it('an extension context: only inside that extension, also on its value', () => {
    const donor = (inner: object) => ({ resourceType: 'Patient', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-cadavericDonor', valueBoolean: true, _valueBoolean: { extension: [inner] } }] });
    expect(contextErrors(donor(flag('in-donor')))).toEqual([]);
    expect(contextErrors({ resourceType: 'Patient', extension: [flag('in-donor')] })).toEqual(['Patient.extension[0]']);
  });

  it('a FHIRPath context selects the elements, and a context invariant must hold', () => {
    expect(contextErrors({ resourceType: 'Patient', address: [{ use: 'home', extension: [flag('home-address')] }] })).toEqual([]);
    expect(contextErrors({ resourceType: 'Patient', address: [{ use: 'work', extension: [flag('home-address')] }] })).toEqual(['Patient.address[0].extension[0]']);
    expect(contextErrors({ resourceType: 'Patient', active: false, extension: [flag('inactive-only')] })).toEqual([]);
    expect(contextErrors({ resourceType: 'Patient', active: true, extension: [flag('inactive-only')] })).toEqual(['Patient.extension[0]']);
  });

  it('a resource id carries no extensions', () => {
    expect(contextErrors({ resourceType: 'Patient', id: 'p', _id: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }] } })).toEqual(['Patient.id']);
  });
});
