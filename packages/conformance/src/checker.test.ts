import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratchDirectory } from '../../../test/support/fixtures.js';
import { createChecker } from './checker.js';
import { FhirPackageRegistry } from './registry.js';

const patient = (profile?: string) => ({ resourceType: 'Patient', ...(profile ? { meta: { profile: [profile] } } : {}), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } });

describe('the checker fails closed', () => {
  let core: FhirPackageRegistry;
  beforeAll(() => {
    core = new FhirPackageRegistry();
    core.loadR4Core();
  });
  const checker = (options: Parameters<typeof createChecker>[0] = {}) => createChecker({ registry: new FhirPackageRegistry({ parent: core }), ...options });

  it('a profile named by meta.profile or by the caller that cannot be resolved is an error, unless allowed', () => {
    const unknown = 'https://fhir.example.nhs.uk/StructureDefinition/Missing';
    const strict = checker().checkResource(patient(unknown));
    expect(strict.valid).toBe(false);
    expect(strict.issues).toContainEqual(expect.objectContaining({ code: 'CONF_PROFILE_UNKNOWN', severity: 'error', expression: 'Patient' }));
    expect(checker().checkResource(patient(), { profiles: [unknown] }).valid).toBe(false);
    expect(checker({ allowUnresolved: true }).checkResource(patient(unknown)).valid).toBe(true);
    expect(checker({ allowUnresolved: [`${unknown}|1.0.0`] }).checkResource(patient(unknown)).valid).toBe(true);
    expect(checker({ allowUnresolved: ['https://other.example/SD/x'] }).checkResource(patient(unknown)).valid).toBe(false);
    expect(checker({ unresolvedClaims: 'warning' }).checkResource(patient(unknown)).valid).toBe(true);
    expect(checker({ unresolvedClaims: 'warning' }).checkResource(patient(), { profiles: [unknown] }).valid).toBe(false);
  });

  it('a profile whose snapshot cannot be generated, completely or at all, is an error', () => {
    const registry = new FhirPackageRegistry({ parent: core });
    const base = { resourceType: 'StructureDefinition', name: 'X', status: 'draft', kind: 'resource', abstract: false, type: 'Patient', derivation: 'constraint' };
    registry.addResource({ ...base, url: 'http://example.org/SD/partial', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient', differential: { element: [{ id: 'Patient.nonsense', path: 'Patient.nonsense', min: 1 }] } });
    registry.addResource({ ...base, url: 'http://example.org/SD/orphan', baseDefinition: 'http://example.org/SD/not-loaded', differential: { element: [] } });
    const c = createChecker({ registry });
    const partial = c.checkResource(patient('http://example.org/SD/partial'));
    expect(partial.valid).toBe(false);
    expect(partial.issues).toContainEqual(expect.objectContaining({ code: 'CONF_PACKAGE', severity: 'error', message: expect.stringContaining('is incomplete (Differential element Patient.nonsense') }));
    const orphan = c.checkResource(patient('http://example.org/SD/orphan'));
    expect(orphan.issues).toContainEqual(expect.objectContaining({ code: 'CONF_PACKAGE', severity: 'error', message: expect.stringContaining('cannot be generated (Base http://example.org/SD/not-loaded') }));
    expect(c.loadIssues.map((i) => i.message)).toEqual([expect.stringContaining('Patient.nonsense'), expect.stringContaining('not-loaded')]);
    expect(createChecker({ registry, allowUnresolved: true }).checkResource(patient('http://example.org/SD/orphan')).valid).toBe(true);
  });

  it('a package that fails to load is reported up front and makes every result invalid, unless allowed', () => {
    const dir = scratchDirectory('cadmap-badpkg-');
    writeFileSync(join(dir, 'broken.json'), '{"resourceType": "StructureDefinition",');
    const missing = join(dir, 'no-such-package');
    const c = checker({ packages: [dir, missing] });
    expect(c.loadIssues).toEqual([
      expect.objectContaining({ code: 'CONF_PACKAGE', severity: 'error', message: expect.stringContaining('broken.json') }),
      expect.objectContaining({ code: 'CONF_PACKAGE', severity: 'error', message: expect.stringContaining('Package not found') }),
    ]);
    expect(c.checkResource(patient()).valid).toBe(false);
    expect(c.checkText(JSON.stringify(patient())).valid).toBe(false);
    const lenient = checker({ packages: [dir, missing], allowUnresolved: [missing, join(dir, 'broken.json')] });
    expect(lenient.loadIssues.map((i) => i.severity)).toEqual(['warning', 'warning']);
    expect(lenient.checkResource(patient()).valid).toBe(true);
  });

  it('an unknown extension is an error by default (as the HL7 validator), configurable; example domains are accepted', () => {
    const withExtension = (url: string) => ({ ...patient(), extension: [{ url, valueString: 'x' }] });
    const trust = 'https://fhir.trust.example.nhs.uk/StructureDefinition/Extension-Local';
    expect(checker().checkResource(withExtension(trust)).issues).toContainEqual(expect.objectContaining({ code: 'CONF_EXTENSION', severity: 'error', expression: 'Patient.extension[0]' }));
    expect(checker({ unknownExtensions: 'warning' }).checkResource(withExtension(trust)).valid).toBe(true);
    expect(checker({ extensionDomains: ['https://fhir.trust.example.nhs.uk/'] }).checkResource(withExtension(trust)).issues).toEqual([]);
    expect(checker().checkResource(withExtension('http://example.org/fhir/StructureDefinition/x')).issues).toEqual([]);
  });

  it('ImplementationGuide global profiles apply to every resource of their type', () => {
    const registry = new FhirPackageRegistry({ parent: core });
    registry.addResource({ resourceType: 'StructureDefinition', url: 'http://example.org/SD/named', name: 'Named', status: 'draft', kind: 'resource', abstract: false, type: 'Patient', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient', derivation: 'constraint', differential: { element: [{ id: 'Patient.name', path: 'Patient.name', min: 1 }] } });
    registry.addResource({ resourceType: 'ImplementationGuide', url: 'http://example.org/ImplementationGuide/ig', name: 'IG', status: 'draft', packageId: 'example.ig', fhirVersion: ['4.0.1'], global: [{ type: 'Patient', profile: 'http://example.org/SD/named' }] });
    const c = createChecker({ registry });
    expect(c.checkResource(patient()).issues).toContainEqual(expect.objectContaining({ code: 'CONF_CARDINALITY', severity: 'error', expression: 'Patient.name' }));
    expect(c.checkResource({ ...patient(), name: [{ family: 'X' }] }).valid).toBe(true);
  });

  it('an Attachment states the size of its data; a StructureDefinition names a FHIR type or a URL', () => {
    const media = (size: number) => ({ resourceType: 'Media', status: 'completed', content: { contentType: 'text/plain', data: 'aGVscCBpJ20gYSBidWc=', size } });
    expect(checker().checkResource(media(14)).issues.filter((i) => i.expression === 'Media.content.size')).toEqual([]);
    expect(checker().checkResource(media(100)).issues).toContainEqual(expect.objectContaining({ severity: 'error', expression: 'Media.content.size' }));
    const logical = (type: string) => ({ resourceType: 'StructureDefinition', url: 'http://example.org/SD/Boo', name: 'Boo', status: 'draft', kind: 'logical', abstract: false, type, derivation: 'specialization', baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Element' });
    expect(checker().checkResource(logical('Boo')).issues).toContainEqual(expect.objectContaining({ severity: 'error', expression: 'StructureDefinition.type' }));
    expect(checker().checkResource(logical('http://example.org/SD/Boo')).issues.filter((i) => i.expression === 'StructureDefinition.type' && i.severity === 'error')).toEqual([]);
  });
});
