import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FhirPackageRegistry } from './registry.js';
import { SnapshotGenerator } from './snapshot.js';
import { readJson, ukCoreJson, ukCoreRegistry } from '../test/support.js';

const oracleDir = join(ukCoreJson, 'structuredefinitions-with-snapshot');

/** Compares the fields that matter for validation; returns one line per difference. */
function compare(mine: readonly ElementDefinition[], oracle: readonly ElementDefinition[]): string[] {
  const byId = new Map(mine.map((e) => [e.id, e]));
  const out: string[] = [];
  for (const o of oracle) {
    const m = byId.get(o.id);
    if (!m) {
      out.push(`missing ${o.id}`);
      continue;
    }
    for (const key of ['min', 'max', 'binding', 'fixedUri', 'fixedCode', 'patternCodeableConcept', 'mustSupport', 'slicing'] as const) {
      if (JSON.stringify(m[key]) !== JSON.stringify(o[key])) {out.push(`${key} ${o.id}: ${JSON.stringify(m[key])} vs ${JSON.stringify(o[key])}`);}
    }
    const types = (e: ElementDefinition): string => JSON.stringify((e.type ?? []).map((t) => [t.code, t.profile, t.targetProfile]));
    if (types(m) !== types(o)) {out.push(`type ${o.id}`);}
  }
  for (const m of mine) {if (!oracle.some((o) => o.id === m.id)) {out.push(`extra ${m.id}`);}}
  return out;
}

/**
 * Differences from the third-party oracle that are explained (see README): the oracle copies the sliced element's
 * constrained min into new slices (giving `reason` min 2 with max 1), leaves out the default url slicing of
 * `extension` elements, and adds the R5-only element HealthcareService.offeredIn.
 */
function explained(line: string): boolean {
  return (
    /^slicing \S+\.extension: \{"discriminator":\[\{"type":"value","path":"url"\}\].*"rules":"open"\} vs (undefined|\{"discriminator":\[\{"type":"value","path":"url"\}\],"rules":"open"\})$/.test(line) ||
    /^min .*extension:[A-Za-z]+: 0 vs [12]$/.test(line) ||
    line === 'missing HealthcareService.offeredIn'
  );
}

describe('SnapshotGenerator', () => {
  let registry: FhirPackageRegistry;
  let generator: SnapshotGenerator;
  beforeAll(() => {
    registry = ukCoreRegistry();
    generator = new SnapshotGenerator(registry);
  });

  it('generates a snapshot for every UK Core StructureDefinition without problems', () => {
    const urls = registry.structureDefinitionUrls().filter((u) => u.startsWith('https://fhir.hl7.org.uk/') || u.startsWith('http://hl7.org/fhir/5.0/'));
    expect(urls.length).toBe(78);
    for (const url of urls) {expect(generator.snapshotOf(url)?.snapshot?.element.length, url).toBeGreaterThan(1);}
    expect(registry.problems).toEqual([]);
    expect(generator.problems).toEqual([]);
  });

  it('agrees with the third-party oracle snapshots except for explained differences', () => {
    let compared = 0;
    const unexplained: string[] = [];
    for (const file of readdirSync(oracleDir)) {
      const oracle = readJson<StructureDefinition>(join(oracleDir, file));
      const mine = generator.snapshotOf(oracle.url);
      expect(mine, oracle.url).toBeDefined();
      const diffs = compare(mine?.snapshot?.element ?? [], oracle.snapshot?.element ?? []);
      compared += oracle.snapshot?.element.length ?? 0;
      unexplained.push(...diffs.filter((d) => !explained(d)).map((d) => `${file}: ${d}`));
    }
    expect(compared).toBeGreaterThan(2000);
    expect(unexplained).toEqual([]);
  });

  it('creates slices from the base element and expands profiled extension types', () => {
    const sd = generator.snapshotOf('https://fhir.hl7.org.uk/StructureDefinition/UKCore-FamilyMemberHistory');
    const fn = sd?.snapshot?.element.find((e) => e.id === 'FamilyMemberHistory.extension:participantR5.extension:function');
    expect(fn).toMatchObject({ min: 0, max: '1' });
    const nhs = generator.snapshotOf('https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient')?.snapshot?.element.find((e) => e.id === 'Patient.identifier:nhsNumber.system');
    expect(nhs).toMatchObject({ min: 1, fixedUri: 'https://fhir.nhs.uk/Id/nhs-number', path: 'Patient.identifier.system' });
  });

  it('reports a differential element that matches nothing', () => {
    registry.addResource({
      resourceType: 'StructureDefinition',
      url: 'http://example.org/StructureDefinition/bad',
      name: 'Bad',
      type: 'Patient',
      kind: 'resource',
      abstract: false,
      status: 'draft',
      derivation: 'constraint',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
      differential: { element: [{ id: 'Patient.nonsense', path: 'Patient.nonsense', min: 1 }] },
    });
    const before = generator.problems.length;
    generator.snapshotOf('http://example.org/StructureDefinition/bad');
    expect(generator.problems.slice(before)).toEqual([expect.objectContaining({ message: expect.stringContaining('Patient.nonsense') })]);
    const bad = registry.structureDefinition('http://example.org/StructureDefinition/bad');
    expect(bad && generator.problemsOf(bad)).toEqual([expect.stringContaining('Patient.nonsense')]);
  });
});
