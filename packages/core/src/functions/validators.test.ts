import { describe, expect, it } from 'vitest';
import type { EvalReport } from '../expressions/types.js';
import { entryFullUrl } from '../bundle/ids.js';
import { keyPartText, ref, uuid5 } from './identifiers.js';
import { isNhsNumber, nhsNumber, normaliseNhsNumber } from './nhs-number.js';
import { normaliseOdsCode, odsCode } from './ods-code.js';
import { normalisePostcode, postcode } from './postcode.js';

const collect = () => {
  const reports: EvalReport[] = [];
  return { reports, sink: { report: (r: EvalReport) => reports.push(r) } };
};

describe('NHS numbers', () => {
  it('accepts valid numbers, stripping spaces and dashes', () => {
    expect(normaliseNhsNumber('9434765919')).toBe('9434765919');
    expect(normaliseNhsNumber('943 476 5919')).toBe('9434765919');
    expect(normaliseNhsNumber('943-476-5919')).toBe('9434765919');
    // check digit 11 ⟶ 0
    expect(normaliseNhsNumber('1000000060')).toBe('1000000060');
  });
  it('rejects a wrong check digit, check digit 10, wrong length and letters', () => {
    expect(normaliseNhsNumber('9434765918')).toBeUndefined();
    // weights give 11 − (sum mod 11) = 10: never valid whatever the last digit
    for (let last = 0; last <= 9; last++) {
      expect(normaliseNhsNumber(`123456789${last}`)).toBeUndefined();
    }
    expect(normaliseNhsNumber('943476591')).toBeUndefined();
    expect(normaliseNhsNumber('94347659190')).toBeUndefined();
    expect(normaliseNhsNumber('94347659A9')).toBeUndefined();
  });
  it('nhsNumber() warns and isNhsNumber() answers', () => {
    const { sink, reports } = collect();
    expect(nhsNumber('943 476 5919', sink)).toBe('9434765919');
    expect(nhsNumber('1234567890', sink)).toBeUndefined();
    expect(reports.map((r) => [r.code, r.severity])).toEqual([['MAP_NHS_NUMBER_INVALID', 'warning']]);
    // the refused value is never quoted whole: a bad check digit is still a patient's identifier
    expect(nhsNumber('99 98 97 04 16', sink)).toBeUndefined();
    expect(reports.map((r) => r.message).join('\n')).not.toMatch(/1234567890|99 98 97 04 16/);
    expect(reports[1]!.message).toMatch(/^The value \*{7}416 /);
    expect(isNhsNumber('9434765919')).toBe(true);
    expect(isNhsNumber('9434765918')).toBe(false);
    expect(isNhsNumber(9434765919)).toBe(false);
  });
});

describe('postcodes', () => {
  it.each([
    ['sw1a1aa', 'SW1A 1AA'],
    ['M1 1AE', 'M1 1AE'],
    ['b33 8th', 'B33 8TH'],
    ['CR2 6XH', 'CR2 6XH'],
    ['DN55  1PT', 'DN55 1PT'],
    ['W1A 0AX', 'W1A 0AX'],
    ['EC1A 1BB', 'EC1A 1BB'],
    ['gir0aa', 'GIR 0AA'],
  ])('%s ⟶ %s', (input, expected) => {
    expect(normalisePostcode(input)).toBe(expected);
  });
  it.each(['SW1A', '1AA SW1', 'SW1A 1A', 'ABC1 1AA', 'A 1AA', 'SW1A 1AAA', ''])('rejects %j', (input) => {
    expect(normalisePostcode(input)).toBeUndefined();
  });
  it('postcode() warns on invalid values', () => {
    const { sink, reports } = collect();
    expect(postcode('nowhere', sink)).toBeUndefined();
    expect(reports[0]?.code).toBe('MAP_POSTCODE_INVALID');
  });
});

describe('ODS codes', () => {
  it.each(['RX9', 'R1A', 'RX9AB', 'RRK15', '5A7', 'Y01234', ' rrk ', 'RX901ABCD'])('accepts %j', (input) => {
    expect(normaliseOdsCode(input)).toBe(input.trim().toUpperCase());
  });
  it.each(['RX', 'RX9 AB', 'RX-9', 'RX9012ABCD', ''])('rejects %j', (input) => {
    expect(normaliseOdsCode(input)).toBeUndefined();
  });
  it('odsCode() warns on invalid values', () => {
    const { sink, reports } = collect();
    expect(odsCode('R', sink)).toBeUndefined();
    expect(odsCode(12, sink)).toBeUndefined();
    expect(reports.map((r) => r.code)).toEqual(['MAP_ODS_CODE_INVALID', 'MAP_ODS_CODE_INVALID']);
  });
});

describe('identifiers', () => {
  const ns = '7f3c5a8e-2d1b-5c4e-9a6f-0b8d2e4c6a1f';
  it('uuid5 is deterministic and namespaced', () => {
    expect(uuid5('abc', ns)).toBe(uuid5('abc', ns));
    expect(uuid5('abc', ns)).not.toBe(uuid5('abd', ns));
    expect(uuid5('abc', ns)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('ref joins key parts with | like the bundle does', () => {
    const { sink, reports } = collect();
    expect(ref(ns, 'encounter', 'Encounter', [['INC1'], [2]], sink)).toBe(entryFullUrl(ns, 'Encounter', 'INC1|2'));
    expect(reports).toEqual([]);
  });
  it('ref leaves a reference with an empty key part out silently and reports multi-valued parts', () => {
    const { sink, reports } = collect();
    expect(ref(ns, 'encounter', 'Encounter', [['INC1'], []], sink)).toBeUndefined();
    expect(ref(ns, 'encounter', 'Encounter', [[''], ['x']], sink)).toBeUndefined();
    expect(ref(ns, 'encounter', 'Encounter', [['a', 'b']], sink)).toBeUndefined();
    expect(reports.map((r) => r.code)).toEqual(['MAP_MULTIPLE_VALUES']);
    expect(keyPartText({})).toBeUndefined();
  });
});
