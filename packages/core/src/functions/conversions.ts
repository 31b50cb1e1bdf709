import type { Severity } from '../diagnostics/diagnostic.js';
import type { EvalSink } from '../expressions/types.js';

/** The FHIRPath conversion functions cadmap evaluates itself (the others are fhirpath.js's, checked alike). */
export type ConversionName = 'toString' | 'toInteger' | 'toDecimal' | 'toBoolean';

/** Every FHIRPath conversion function: a non-empty value that does not convert is MAP_CONVERSION_FAILED. */
export const conversionFunctions = ['toString', 'toInteger', 'toLong', 'toDecimal', 'toBoolean', 'toDate', 'toDateTime', 'toTime', 'toQuantity'] as const;

const trueTexts = new Set(['true', 't', 'yes', 'y', '1', '1.0']);
const falseTexts = new Set(['false', 'f', 'no', 'n', '0', '0.0']);

/**
 * The FHIRPath conversions of one value (https://hl7.org/fhirpath/#conversion), as fhirpath.js computes them
 * for the values a source holds (text, numbers, booleans); undefined when the value does not convert.
 */
export const conversions: Readonly<Record<ConversionName, (value: unknown) => string | number | boolean | undefined>> = {
  toString: (value) => (typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined),
  toInteger: (value) => {
    if (typeof value === 'number') {
      return Number.isInteger(value) ? value : undefined;
    }
    if (typeof value === 'boolean') {
      return value ? 1 : 0;
    }
    return typeof value === 'string' && /^[+-]?\d+$/.test(value) ? Number.parseInt(value, 10) : undefined;
  },
  toDecimal: (value) => {
    if (typeof value === 'number') {
      return value;
    }
    if (typeof value === 'boolean') {
      return value ? 1 : 0;
    }
    return typeof value === 'string' && /^[+-]?\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
  },
  toBoolean: (value) => {
    if (typeof value === 'boolean') {
      return value;
    }
    if (typeof value === 'number') {
      return value === 1 ? true : value === 0 ? false : undefined;
    }
    if (typeof value === 'string') {
      const text = value.toLowerCase();
      return trueTexts.has(text) ? true : falseTexts.has(text) ? false : undefined;
    }
    return undefined;
  },
};

const expected: Readonly<Record<(typeof conversionFunctions)[number], string>> = {
  toString: 'a text, number or boolean',
  toInteger: 'a whole number such as 42 or -7',
  toLong: 'a whole number such as 42 or -7',
  toDecimal: "a number written with digits and an optional '.' such as 12.5",
  toBoolean: 'true/false, t/f, yes/no, y/n, 1/0 (any case)',
  toDate: 'a FHIRPath date such as 2024-03-31',
  toDateTime: 'a FHIRPath dateTime such as 2024-03-31T01:30:00',
  toTime: 'a FHIRPath time such as 01:30:00',
  toQuantity: "a number with an optional unit such as 5 'mg'",
};

/** Reports MAP_CONVERSION_FAILED for `value`, which `name()` could not convert. */
export function reportConversion(sink: EvalSink, name: (typeof conversionFunctions)[number], value: unknown, severity: Severity): void {
  sink.report({
    code: 'MAP_CONVERSION_FAILED',
    severity,
    value,
    message: `${name}() cannot convert ${describe(value)}: it expects ${expected[name]}.`,
    hint:
      severity === 'error'
        ? `Fix the value in the export, or clean it first (e.g. replace(',', '.')); to test whether a value converts, use convertsTo${name.slice(2)}(). With checks.conversions: warning the element is left out with a warning instead.`
        : `Fix the value in the export, or clean it first (e.g. replace(',', '.')); to test whether a value converts, use convertsTo${name.slice(2)}().`,
  });
}

const describe = (value: unknown): string => (typeof value === 'object' && value !== null ? 'an element with children' : JSON.stringify(value) ?? String(value));

/** `name()` of one present value, reporting a value that does not convert. */
export function convertOrReport(name: ConversionName, severity: Severity): (value: unknown, sink: EvalSink) => unknown {
  const convert = conversions[name];
  return (value, sink) => {
    const converted = convert(value);
    if (converted === undefined) {
      reportConversion(sink, name, value, severity);
    }
    return converted;
  };
}
