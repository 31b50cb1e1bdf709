import type { Severity } from '../diagnostics/diagnostic.js';
import type { EvalSink } from '../expressions/types.js';

/** Outward codes A9, A99, AA9, AA99, A9A, AA9A followed by an inward code 9AA; also GIR 0AA. */
const postcodePattern = /^([A-Z][0-9]{1,2}|[A-Z]{2}[0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z]{2}[0-9][A-Z])([0-9][A-Z]{2})$/;

/** A UK postcode in upper case with one space before the inward code (`sw1a1aa` ⟶ `SW1A 1AA`), or undefined. */
export function normalisePostcode(value: string): string | undefined {
  const compact = value.replace(/\s+/g, '').toUpperCase();
  if (compact === 'GIR0AA') {
    return 'GIR 0AA';
  }
  const match = postcodePattern.exec(compact);
  return match ? `${match[1] ?? ''} ${match[2] ?? ''}` : undefined;
}

/** `postcode()`: the normalised postcode, or undefined with MAP_POSTCODE_INVALID (a warning unless the mapping's
 * `checks.codes` says error). */
export function postcode(value: unknown, sink: EvalSink, severity: Severity = 'warning'): string | undefined {
  const normalised = typeof value === 'string' ? normalisePostcode(value) : undefined;
  if (normalised === undefined) {
    sink.report({
      code: 'MAP_POSTCODE_INVALID',
      severity,
      value,
      message: `${JSON.stringify(value)} is not a UK postcode (A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA); it was left out.`,
      hint: 'Check the source column; partial postcodes (outward code only) are not accepted.',
    });
  }
  return normalised;
}
