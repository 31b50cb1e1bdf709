/**
 * The HL7 Java validator's R4 test cases through the checker, in one process: agreement by category and the
 * suite's total time (`npx tsx bench/hl7-cases.ts`; part of `npm run bench`).
 */
import { formatHl7Report, hasHl7Cases, runHl7Cases } from '../test/support/hl7-cases.js';

if (!hasHl7Cases) {
  process.stdout.write('hl7 cases: ../shared/reference/fhir-test-cases-r4 not found; skipped\n');
} else {
  const report = runHl7Cases();
  process.stdout.write(formatHl7Report(report, { disagreements: process.argv.includes('--disagreements') }));
  process.stdout.write(`harness total time: ${(report.milliseconds / 1000).toFixed(1)} s for ${report.checks.length} checks (${(report.milliseconds / report.checks.length).toFixed(0)} ms per check, registry set-up included)\n`);
}
