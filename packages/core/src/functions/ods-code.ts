import type { Severity } from '../diagnostics/diagnostic.js';
import type { EvalSink } from '../expressions/types.js';

/**
 * Accepted ODS code shape, after trimming and upper-casing: 3 to 9 letters or digits. That covers
 * organisation codes (3–6 characters: `RX9`, `R1A`, `5A7`, `RRK`, `Y01234`) and site codes (up to 9:
 * `RX9AB`, `RRK15`, `RX901`). The shape only is checked, not that the code exists.
 */
export const odsCodePattern = /^[A-Z0-9]{3,9}$/;

/** The ODS code trimmed and upper-cased when it has an ODS shape, else undefined. */
export function normaliseOdsCode(value: string): string | undefined {
  const code = value.trim().toUpperCase();
  return odsCodePattern.test(code) ? code : undefined;
}

/** `odsCode()`: the normalised code, or undefined with MAP_ODS_CODE_INVALID (a warning unless the mapping's
 * `checks.codes` says error). */
export function odsCode(value: unknown, sink: EvalSink, severity: Severity = 'warning'): string | undefined {
  const normalised = typeof value === 'string' ? normaliseOdsCode(value) : undefined;
  if (normalised === undefined) {
    sink.report({
      code: 'MAP_ODS_CODE_INVALID',
      severity,
      value,
      message: `${JSON.stringify(value)} does not have the shape of an ODS code (3 to 9 letters or digits); it was left out.`,
      hint: 'Check the source column against the ODS directory (https://odsportal.digital.nhs.uk).',
    });
  }
  return normalised;
}
