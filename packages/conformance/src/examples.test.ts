import { beforeAll, describe, expect, it } from 'vitest';
import type { Checker } from './checker.js';
import { exampleFiles, impliedProfile, readJson, ukCoreChecker, ukCoreExamples } from '../test/support.js';
import { join } from 'node:path';

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
      if (profile) profiled++;
      const result = checker.checkResource(resource, profile ? { profiles: [profile] } : {});
      for (const issue of result.issues) {
        if (issue.severity === 'error' || issue.severity === 'fatal') errors.push(`${file}: ${issue.code} ${issue.expression} ${issue.message}`);
      }
    }
    expect(errors).toEqual([]);
    expect(profiled).toBeGreaterThanOrEqual(135);
    expect(checker.loadIssues).toEqual([]);
  });
});
