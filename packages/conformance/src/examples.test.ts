import { beforeAll, describe, expect, it } from 'vitest';
import type { Checker } from './checker.js';
import { exampleFiles, impliedProfile, readJson, ukCoreChecker, ukCoreExamples } from '../test/support.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createChecker } from './checker.js';

describe('UK Core STU2 examples', () => {
  let checker: Checker;
  beforeAll(() => {
    checker = ukCoreChecker();
  });

  it('has all 140 examples', () => {
    expect(exampleFiles()).toHaveLength(140);
  });

  it('checks every example against the profile it claims or implies with 0 errors', () => {
    const errors: string[] = [];
    let profiled = 0;
    for (const file of exampleFiles()) {
      const resource = readJson<{ resourceType: string }>(join(ukCoreExamples, file));
      const profile = impliedProfile(checker, file, resource);
      if (profile) {profiled++;}
      const result = checker.checkResource(resource, profile ? { profiles: [profile] } : {});
      for (const issue of result.issues) {
        if (issue.severity === 'error' || issue.severity === 'fatal') {errors.push(`${file}: ${issue.code} ${issue.expression} ${issue.message}`);}
      }
    }
    expect(errors).toEqual([]);
    expect(profiled).toBeGreaterThanOrEqual(135);
    expect(checker.loadIssues).toEqual([]);
  });

  it('the 215 examples of the unreleased STU3 draft check with only one error, a real fault of the example', () => {
    const draft = join(ukCoreExamples, '..', '..', 'stu3-draft-main', 'json');
    const draftChecker = createChecker({ packages: ['structuredefinitions', 'valuesets', 'codesystems'].map((f) => join(draft, f)) });
    const errors: string[] = [];
    const files = readdirSync(join(draft, 'examples')).filter((f) => f.endsWith('.json'));
    for (const file of files) {
      const resource = readJson<{ resourceType: string }>(join(draft, 'examples', file));
      const profile = impliedProfile(draftChecker, file, resource);
      for (const issue of draftChecker.checkResource(resource, profile ? { profiles: [profile] } : {}).issues) {
        if (issue.severity === 'error') {errors.push(`${file}: ${issue.code} ${issue.expression}`);}
      }
    }
    expect(files.length).toBe(215);
    // The example carries both valueCode and valueCodeableConcept; the extension allows only CodeableConcept.
    expect(errors).toEqual(['Extension-UKCore-ConditionEpisode-Example.json: CONF_TYPE Condition.extension[0].valueCode']);
  });
});
