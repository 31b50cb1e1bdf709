import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../fixtures.js';
import { pathwaysFlawedCases, pathwaysSampleCases } from './pathways.js';

describe('Pathways case sample export', () => {
  const cases = pathwaysSampleCases();

  it.each([
    ['sample', cases],
    ['tests/flawed/input', pathwaysFlawedCases()],
  ])('is what the committed mappings/pathways-cqi/%s holds (regenerate with npx tsx test/support/sample-data/pathways.ts)', (folder, expected) => {
    const dir = join(projectRoot, 'mappings/pathways-cqi', folder);
    expect(readdirSync(dir).sort()).toEqual(expected.map((c) => c.name).sort());
    for (const { name, xml } of expected) {
      expect(readFileSync(join(dir, name), 'utf8'), name).toBe(xml);
    }
  });

  it('is deterministic for a seed and differs for another', () => {
    expect(pathwaysSampleCases()).toEqual(cases);
    expect(pathwaysSampleCases({ seed: 7 })).not.toEqual(cases);
  });

  it('has at least 20 cases of 15 to 60 lines, several releases, both skillsets and overridden dispositions', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    for (const { xml } of cases) {
      const lines = xml.match(/<TriageLine>/g)?.length ?? 0;
      expect(lines).toBeGreaterThanOrEqual(15);
      expect(lines).toBeLessThanOrEqual(60);
    }
    const all = cases.map((c) => c.xml).join('\n');
    expect(new Set(all.match(/<PathwaysReleaseID>[^<]+/g)).size).toBeGreaterThanOrEqual(3);
    expect(all).toContain('<SkillsetDescription>111 Call Handler</SkillsetDescription>');
    expect(all).toContain('<SkillsetDescription>Senior Clinician Module</SkillsetDescription>');
    expect(all).toMatch(/<DispositionOverrideID>\d+<\/DispositionOverrideID>/);
  });
});
