import { createRequire } from 'node:module';

interface UcumUtils {
  convertUnitTo(fromUnitCode: string, fromValue: number, toUnitCode: string): { status: string; toVal?: number };
  validateUnitString(unit: string): { status: string };
}

let utils: UcumUtils | undefined;

/** NLM's UCUM library, loaded on first use (its unit tables take a moment to read). */
function ucum(): UcumUtils {
  if (!utils) {
    const require = createRequire(import.meta.url);
    const pkg = require('@lhncbc/ucum-lhc') as { UcumLhcUtils: { getInstance(): UcumUtils } };
    utils = pkg.UcumLhcUtils.getInstance();
  }
  return utils;
}

/** `value` in `from` units expressed in `to` units, or undefined when the units are not commensurable. */
export function convertUcum(value: number, from: string, to: string): number | undefined {
  const result = ucum().convertUnitTo(from, value, to);
  return result.status === 'succeeded' && typeof result.toVal === 'number' ? result.toVal : undefined;
}

/** Whether a UCUM unit expression is valid. */
export function isValidUcum(unit: string): boolean {
  return ucum().validateUnitString(unit).status === 'valid';
}
