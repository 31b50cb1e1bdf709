import { beforeAll, describe, expect, it } from 'vitest';
import { createChecker } from './checker.js';
import type { Checker } from './checker.js';
import { readFhirJson } from './json.js';
import { FhirPackageRegistry } from './registry.js';
import { readFhirXml } from './xml.js';
import type { StructureSource } from './xml.js';

const fhir = (body: string, root = 'Patient'): string => `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://hl7.org/fhir">\n${body}\n</${root}>\n`;

describe('FHIR XML', () => {
  let registry: FhirPackageRegistry;
  let structures: StructureSource;
  let checker: Checker;
  beforeAll(() => {
    registry = new FhirPackageRegistry();
    registry.loadR4Core();
    structures = (name) => registry.coreStructure(name);
    checker = createChecker({ registry });
  });

  it('reads primitives with their types, ids and extensions, repeats as arrays, Extension.url as an attribute', () => {
    const { resource, issues } = readFhirXml(
      fhir(`  <id value="p1"/>
  <active value="true"/>
  <name>
    <given value="Ann"/>
    <given id="g2" value="Lee"><extension url="http://example.org/x"><valueInteger value="7"/></extension></given>
  </name>
  <multipleBirthInteger value="2"/>`),
      structures,
    );
    expect(issues).toEqual([]);
    expect(resource).toEqual({
      resourceType: 'Patient',
      id: 'p1',
      active: true,
      name: [{ given: ['Ann', 'Lee'], _given: [null, { id: 'g2', extension: [{ url: 'http://example.org/x', valueInteger: 7 }] }] }],
      multipleBirthInteger: 2,
    });
  });

  it('unwraps contained and entry resources, and turns the narrative div into its XHTML text', () => {
    const { resource } = readFhirXml(
      fhir(`  <type value="collection"/>
  <entry><fullUrl value="urn:uuid:1"/><resource><Patient><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>A &amp; B &lt;b&gt;</p><br/></div></text>
    <contained><Organization><id value="o"/><name value="Org"/></Organization></contained></Patient></resource></entry>`, 'Bundle'),
      structures,
    );
    expect(resource).toEqual({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>A &amp; B &lt;b&gt;</p><br/></div>' }, contained: [{ resourceType: 'Organization', id: 'o', name: 'Org' }] } }],
    });
  });

  it('reports format rules with line and column: attributes, text, order, namespaces, undeclared entities', () => {
    const { issues } = readFhirXml(
      fhir(`  <gender value="male" something="x"/>
  <active value="true"/>
  stray text
  <address><text value="A &reg; B"/></address>`),
      structures,
    );
    expect(issues.map((i) => [i.code, i.input?.line, i.input?.column, i.message])).toEqual([
      ['CONF_INPUT', 6, 27, 'The entity "reg" was referenced, but not declared.'],
      ['CONF_FORMAT', 3, 3, 'Undefined attribute "something" on gender (a code).'],
      ['CONF_FORMAT', 4, 3, 'Element "active" is out of order: it must come before "gender".'],
      ['CONF_FORMAT', 2, 1, 'Text should not be present in <Patient> ("stray text").'],
    ]);
    const noNamespace = readFhirXml('<Patient><id value="x"/></Patient>', structures);
    expect(noNamespace.issues.map((i) => i.message)).toEqual(['<Patient> is in the namespace (none), not "http://hl7.org/fhir".']);
    expect(noNamespace.resource).toEqual({ resourceType: 'Patient', id: 'x' });
  });

  it('rejects text that is not well-formed, with the place', () => {
    const { resource, issues } = readFhirXml('<Patient xmlns="http://hl7.org/fhir">\n  <id value="x">\n</Patient>', structures);
    expect(resource).toBeUndefined();
    expect(issues).toEqual([expect.objectContaining({ code: 'CONF_INPUT', severity: 'error', input: expect.objectContaining({ line: 3 }) })]);
  });

  it('gives the same findings as JSON, and XML findings carry the line and column of the element', () => {
    const xml = fhir(`  <gender value="unknown-ish"/>
  <birthDate value="2020-02-30"/>
  <deceasedBoolean value="false"/>
  <deceasedDateTime value="2020"/>
  <contact><gender value="female"/></contact>
  <foo value="bar"/>`);
    const json = '{"resourceType":"Patient","gender":"unknown-ish","birthDate":"2020-02-30","deceasedBoolean":false,"deceasedDateTime":"2020","contact":[{"gender":"female"}],"foo":"bar"}';
    const fromXml = checker.checkText(xml, { file: 'p.xml' });
    const fromJson = checker.checkText(json, { file: 'p.json' });
    const key = (i: { code: string; expression: string }): string => `${i.code} ${i.expression}`;
    expect(fromXml.issues.map(key).sort()).toEqual(fromJson.issues.map(key).sort());
    const at = (expression: string): unknown => fromXml.issues.find((i) => i.expression === expression)?.input;
    expect(at('Patient.gender')).toEqual({ file: 'p.xml', line: 3, column: 3 });
    expect(at('Patient.birthDate')).toEqual({ file: 'p.xml', line: 4, column: 3 });
    expect(at('Patient.foo')).toEqual({ file: 'p.xml', line: 8, column: 3 });
    expect(fromJson.issues.find((i) => i.expression === 'Patient.birthDate')?.input).toEqual({ file: 'p.json', line: 1, column: 62 });
  });

  it('an empty primitive element breaks ele-1, as `"_x": {}` does in JSON', () => {
    const fromXml = checker.checkText(fhir('  <birthDate/>'));
    const fromJson = checker.checkText('{"resourceType":"Patient","_birthDate":{}}');
    expect(fromXml.issues.filter((i) => i.severity === 'error').map((i) => i.message)).toEqual(fromJson.issues.filter((i) => i.severity === 'error').map((i) => i.message));
    expect(fromXml.valid).toBe(false);
  });

  it('JSON text: duplicate properties and comments are reported, not silently resolved', () => {
    const duplicate = readFhirJson('{"resourceType":"Patient",\n "gender":"male",\n "gender":"female"}');
    expect(duplicate.issues).toEqual([expect.objectContaining({ code: 'CONF_FORMAT', expression: 'Patient.gender', input: { file: '', line: 3, column: 2 } })]);
    const comment = readFhirJson('{"resourceType":"Patient" // no\n}');
    expect(comment.resource).toBeUndefined();
    expect(comment.issues[0]?.message).toMatch(/comments are not allowed/);
  });
});
