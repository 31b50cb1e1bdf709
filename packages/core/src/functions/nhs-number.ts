import type { Severity } from '../diagnostics/diagnostic.js';
import type { EvalSink } from '../expressions/types.js';

/**
 * The 10 digits of a valid NHS number (spaces and dashes removed, modulus 11 check digit), or undefined.
 * Weights 10..2 over the first nine digits; 11 − (sum mod 11) is the check digit, 11 counts as 0 and 10 is invalid.
 */
export function normaliseNhsNumber(value: string): string | undefined {
  const digits = value.replace(/[\s-]/g, '');
  if (!/^\d{10}$/.test(digits)) {
    return undefined;
  }
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    sum += (digits.charCodeAt(i) - 48) * (10 - i);
  }
  let check = 11 - (sum % 11);
  if (check === 11) {
    check = 0;
  }
  if (check === 10 || check !== digits.charCodeAt(9) - 48) {
    return undefined;
  }
  return digits;
}

/** True when the value is a valid NHS number (see normaliseNhsNumber). */
export const isNhsNumber = (value: unknown): boolean =>
  typeof value === 'string' && normaliseNhsNumber(value) !== undefined;

/** `nhsNumber()`: the normalised NHS number, or undefined with MAP_NHS_NUMBER_INVALID (a warning unless the mapping's
 * `checks.codes` says error). */
export function nhsNumber(value: unknown, sink: EvalSink, severity: Severity = 'warning'): string | undefined {
  const normalised = typeof value === 'string' ? normaliseNhsNumber(value) : undefined;
  if (normalised === undefined) {
    sink.report({
      code: 'MAP_NHS_NUMBER_INVALID',
      severity,
      value,
      message: `${describeRefused(value)} is not a valid NHS number (10 digits with a modulus 11 check digit); it was left out.`,
      hint: 'Check the source column; use isNhsNumber() in a condition to skip values known to be placeholders.',
    });
  }
  return normalised;
}

/** A refused value as a message may show it: digits masked to the last three, like a valid NHS number in a log. */
function describeRefused(value: unknown): string {
  if (typeof value !== 'string') {
    return `A ${value === null ? 'null' : typeof value} value`;
  }
  const digits = value.replace(/\D/g, '');
  return digits.length > 0 ? `The value *******${digits.slice(-3)} (${value.length} characters)` : `The value ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
}
