import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checker } from './checker.js';
import { ukCoreChecker } from '../test/support.js';

describe('robustness', () => {
  let checker: Checker;
  beforeAll(() => {
    checker = ukCoreChecker();
  });

  it('never throws on arbitrary JSON, and always returns an OperationOutcome', () => {
    const resourceLike = fc.record({
      resourceType: fc.constantFrom('Patient', 'Observation', 'Bundle', 'Communication', 'Nope'),
      id: fc.string(),
      meta: fc.option(fc.record({ profile: fc.array(fc.constantFrom('https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient', 'http://example.org/unknown')) }), { nil: undefined }),
      name: fc.jsonValue(),
      extension: fc.array(fc.record({ url: fc.oneof(fc.webUrl(), fc.string()), valueString: fc.jsonValue() })),
      entry: fc.array(fc.record({ fullUrl: fc.string(), resource: fc.jsonValue() }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), resourceLike), (value) => {
        const result = checker.checkResource(value);
        expect(result.outcome.resourceType).toBe('OperationOutcome');
        expect(result.outcome.issue.length).toBeGreaterThan(0);
        for (const issue of result.issues) {expect(typeof issue.expression).toBe('string');}
      }),
      { numRuns: 300 },
    );
  });
});
