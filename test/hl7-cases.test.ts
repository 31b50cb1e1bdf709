import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatHl7Report, hasHl7Cases, runHl7Cases } from './support/hl7-cases.js';

/**
 * The HL7 Java validator's own R4 test cases (../shared/reference/fhir-test-cases-r4): the checker's agreement
 * with the expected outcomes may not drop below the figure committed in hl7-cases-floor.json (raise it when the
 * checker improves). `npm run bench` prints the table by category.
 */
const floor = JSON.parse(readFileSync(new URL('./hl7-cases-floor.json', import.meta.url), 'utf8')) as { checks: number; agreed: number };

describe.skipIf(!hasHl7Cases)('HL7 validator test cases', () => {
  it(`agree on at least ${floor.agreed} of ${floor.checks} checks, without a crash`, () => {
    const report = runHl7Cases();
    const summary = formatHl7Report(report, { disagreements: true });
    expect(report.checks.length).toBe(floor.checks);
    expect(report.checks.filter((c) => c.crash !== undefined).map((c) => `${c.name}: ${c.crash ?? ''}`)).toEqual([]);
    expect(report.total.agreed, summary).toBeGreaterThanOrEqual(floor.agreed);
  });
});
