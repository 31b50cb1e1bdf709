import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { beforeAll, describe, expect, it } from 'vitest';
import { FhirPackageRegistry, buildCoreCache } from './registry.js';
import { scratchDirectory } from '../../../test/support/fixtures.js';

const sd = (url: string, version: string) => ({
  resourceType: 'StructureDefinition',
  url,
  version,
  name: 'X',
  status: 'draft',
  kind: 'resource',
  abstract: false,
  type: 'Patient',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
  derivation: 'constraint',
  differential: { element: [{ id: 'Patient', path: 'Patient' }] },
});

function packageFolder(name: string, version: string, resources: object[], layout: 'package' | 'flat'): string {
  const root = scratchDirectory('cadmap-pkg-');
  const dir = layout === 'package' ? join(root, 'package') : root;
  mkdirSync(dir, { recursive: true });
  if (layout === 'package') {writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, fhirVersions: ['4.0.1'] }));}
  resources.forEach((r, i) => writeFileSync(join(dir, `r${i}.json`), JSON.stringify(r)));
  writeFileSync(join(dir, 'not-fhir.json'), '{"hello": 1}');
  return root;
}

describe('FhirPackageRegistry', () => {
  let registry: FhirPackageRegistry;
  beforeAll(() => {
    registry = new FhirPackageRegistry();
    registry.loadR4Core();
  });

  it('loads R4 core definitions, value sets and code systems', () => {
    expect(registry.coreType('Patient')?.snapshot?.element.length).toBeGreaterThan(30);
    expect(registry.coreType('string')?.kind).toBe('primitive-type');
    expect(registry.isResourceType('Patient')).toBe(true);
    expect(registry.isResourceType('HumanName')).toBe(false);
    expect(registry.valueSet('http://hl7.org/fhir/ValueSet/administrative-gender')).toBeDefined();
    expect(registry.resolve('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1')).toBeDefined();
    expect(registry.resolve('http://hl7.org/fhir/ValueSet/administrative-gender|3.0.0')).toBeUndefined();
  });

  it('loads a folder in package layout and a flat folder, and resolves url|version', () => {
    const r = new FhirPackageRegistry();
    const a = r.loadPackage(packageFolder('example.a', '1.0.0', [sd('http://example.org/SD/x', '1.0.0')], 'package'));
    const b = r.loadPackage(packageFolder('example.b', '2.0.0', [sd('http://example.org/SD/x', '2.0.0')], 'flat'));
    expect(a).toMatchObject({ name: 'example.a', version: '1.0.0', resourceCount: 1 });
    expect(b?.resourceCount).toBe(1);
    expect(r.resolve('http://example.org/SD/x')?.version).toBe('2.0.0');
    expect(r.resolve('http://example.org/SD/x|1.0.0')?.version).toBe('1.0.0');
    expect(r.resolve('http://example.org/SD/x|1')?.version).toBe('1.0.0');
    expect(r.problems).toEqual([]);
  });

  it('loads a .tgz and name#version from a FHIR package cache', async () => {
    const folder = packageFolder('example.tgz', '3.1.0', [sd('http://example.org/SD/t', '3.1.0')], 'package');
    const file = join(folder, 'example.tgz');
    await tar.c({ gzip: true, file, cwd: folder }, ['package']);
    const r = new FhirPackageRegistry();
    expect(r.loadPackage(file)).toMatchObject({ name: 'example.tgz', version: '3.1.0', resourceCount: 1 });
    expect(r.structureDefinition('http://example.org/SD/t')).toBeDefined();

    const cache = scratchDirectory('cadmap-fhir-cache-');
    const inCache = packageFolder('x', '0', [sd('http://example.org/SD/c', '0.9.0')], 'package');
    mkdirSync(join(cache, 'example.cached#0.9.0'));
    await tar.c({ file: join(cache, 'p.tar'), cwd: inCache }, ['package']);
    await tar.x({ file: join(cache, 'p.tar'), cwd: join(cache, 'example.cached#0.9.0') });
    expect(r.loadPackage('example.cached#0.9.0', { fhirCacheDir: cache })?.resourceCount).toBe(1);
    expect(r.loadPackage('example.missing#1.0.0', { fhirCacheDir: cache })).toBeUndefined();
    expect(r.problems).toEqual([expect.objectContaining({ message: expect.stringContaining('example.missing#1.0.0') })]);
  });

  it('a .tgz made on macOS: AppleDouble files (._name, __MACOSX/) are metadata, not resources; XML resources load', async () => {
    const folder = packageFolder('mac.tgz', '1.0.0', [sd('http://example.org/SD/m', '1.0.0')], 'package');
    // AppleDouble files are binary resource forks named like the real file.
    writeFileSync(join(folder, 'package', '._r0.json'), Buffer.from([0, 5, 22, 7, 0, 2, 0, 0, 0x4d, 0x61, 0x63]));
    mkdirSync(join(folder, '__MACOSX', 'package'), { recursive: true });
    writeFileSync(join(folder, '__MACOSX', 'package', '._r0.json'), Buffer.from([0, 5, 22, 7]));
    writeFileSync(join(folder, 'package', 'ValueSet-x.xml'), '<ValueSet xmlns="http://hl7.org/fhir"><url value="http://example.org/VS/x"/><status value="active"/></ValueSet>');
    const file = join(folder, 'mac.tgz');
    await tar.c({ gzip: true, file, cwd: folder }, ['package', '__MACOSX']);
    const r = new FhirPackageRegistry({ parent: registry });
    expect(r.loadPackage(file)).toMatchObject({ name: 'mac.tgz', resourceCount: 2, urls: ['http://example.org/VS/x', 'http://example.org/SD/m'] });
    expect(r.problems).toEqual([]);
    expect(r.valueSet('http://example.org/VS/x')?.status).toBe('active');
  });

  it('loads single resource files, JSON or XML, and falls back on a parent registry', () => {
    const folder = packageFolder('files', '1', [], 'flat');
    writeFileSync(join(folder, 'sd.json'), JSON.stringify(sd('http://example.org/SD/file', '1.0.0')));
    const child = new FhirPackageRegistry({ parent: registry });
    expect(child.loadPackage(join(folder, 'sd.json'))?.urls).toEqual(['http://example.org/SD/file']);
    expect(child.structureDefinition('http://example.org/SD/file')).toBeDefined();
    expect(child.coreType('Patient')).toBe(registry.coreType('Patient'));
    expect(registry.structureDefinition('http://example.org/SD/file')).toBeUndefined();
  });

  it('reports unparseable resource files instead of dropping them', () => {
    const folder = packageFolder('bad', '1', [], 'flat');
    writeFileSync(join(folder, 'broken.json'), '{ "resourceType": ');
    const r = new FhirPackageRegistry();
    r.loadPackage(folder);
    expect(r.problems).toEqual([expect.objectContaining({ source: join(folder, 'broken.json') })]);
  });

  it('resolves canonical aliases', () => {
    const r = new FhirPackageRegistry();
    r.addResource(sd('http://example.org/SD/real', '1'));
    r.addAlias('https://trust.example/SD/configured', 'http://example.org/SD/real');
    expect(r.structureDefinition('https://trust.example/SD/configured')?.url).toBe('http://example.org/SD/real');
  });

  it('the split core cache resolves the same definitions lazily', () => {
    const dir = scratchDirectory('cadmap-core-cache-');
    expect(buildCoreCache(dir)).toBeGreaterThan(3000);
    const r = new FhirPackageRegistry();
    r.loadR4Core({ cacheDir: dir });
    expect(r.coreType('Observation')?.snapshot?.element.length).toBe(registry.coreType('Observation')?.snapshot?.element.length);
    expect(r.codeSystem('http://hl7.org/fhir/administrative-gender')?.concept?.length).toBe(4);
  });
});
