import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChecker } from '../src/checker.js';
import type { Checker, CheckerOptions } from '../src/checker.js';
import { FhirPackageRegistry } from '../src/registry.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The monorepo root (…/main). */
export const repoRoot = join(here, '..', '..', '..');
export const ukCoreJson = join(repoRoot, '..', 'shared', 'reference', 'ukcore', 'json');
export const ukCoreExamples = join(ukCoreJson, 'examples');
/** The UK Core STU2 originals (XML): structuredefinitions/, valuesets/, codesystems/, examples/. */
export const ukCoreXml = join(repoRoot, '..', 'shared', 'reference', 'ukcore');
export const adsProfiles = join(repoRoot, 'profiles');
export const fixtures = join(here, 'fixtures');

/** A fresh registry with R4 core and UK Core STU2 (differentials, value sets, code systems). */
export function ukCoreRegistry(): FhirPackageRegistry {
  const r = new FhirPackageRegistry();
  r.loadR4Core();
  for (const folder of ['structuredefinitions', 'valuesets', 'codesystems']) {r.loadPackage(join(ukCoreJson, folder));}
  return r;
}

export function ukCoreChecker(options: Omit<CheckerOptions, 'registry'> = {}): Checker {
  return createChecker({ ...options, registry: ukCoreRegistry() });
}

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function exampleFiles(): string[] {
  return readdirSync(ukCoreExamples).filter((f) => f.endsWith('.json')).sort();
}

/**
 * The UK Core profile an example claims (meta.profile) or implies by its file name: the longest profile id that
 * prefixes the name and is for the example's resource type, else UKCore-<resourceType>.
 */
export function impliedProfile(checker: Checker, file: string, resource: { resourceType: string; meta?: { profile?: string[] } }): string | undefined {
  if (resource.meta?.profile?.length) {return undefined;}
  const base = file.replace(/-Example\.json$/, '').replace(/\.json$/, '');
  const prefix = 'https://fhir.hl7.org.uk/StructureDefinition/';
  const candidates = checker.registry
    .structureDefinitionUrls()
    .filter((u) => u.startsWith(`${prefix}UKCore-`))
    .filter((u) => {
      const id = u.slice(prefix.length);
      return (base === id || base.startsWith(`${id}-`)) && checker.registry.structureDefinition(u)?.type === resource.resourceType;
    })
    .sort((a, b) => b.length - a.length);
  const byType = `${prefix}UKCore-${resource.resourceType}`;
  return candidates[0] ?? (checker.registry.structureDefinition(byType) ? byType : undefined);
}
