import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { baseName, globToRegExp } from './inputs.js';
import { compareKey, compareKeyPart } from './keys.js';

describe('key order', () => {
  it('compares digit keys as numbers of any size and other keys by code units', () => {
    const sorted = ['2', '9', '010', '10', '11', '99999999999999999999', '100000000000000000000', 'A', 'B', 'a'];
    expect([...sorted].reverse().sort(compareKeyPart)).toEqual(sorted);
    expect(compareKeyPart('7', '7')).toBe(0);
    expect(compareKey(['A', '2'], ['A', '10'])).toBe(-1);
    expect(compareKey(['B', '1'], ['A', '10'])).toBe(1);
  });

  it('agrees with BigInt order on digit strings and is antisymmetric', () => {
    const digits = fc.stringMatching(/^[0-9]{1,25}$/);
    fc.assert(
      fc.property(digits, digits, (a, b) => {
        const numeric = BigInt(a) === BigInt(b) ? 0 : BigInt(a) < BigInt(b) ? -1 : 1;
        if (numeric !== 0) {
          expect(compareKeyPart(a, b)).toBe(numeric);
        }
        // antisymmetry; a sum, because toBe tells +0 from -0 when the keys are equal
        expect(Math.sign(compareKeyPart(a, b)) + Math.sign(compareKeyPart(b, a))).toBe(0);
      }),
    );
  });

  it('orders digit keys of the same length, leading zeros included, as numbers', () => {
    const sameLength = fc.integer({ min: 1, max: 20 }).chain((length) => fc.tuple(fc.stringMatching(new RegExp(`^[0-9]{${length}}$`)), fc.stringMatching(new RegExp(`^[0-9]{${length}}$`))));
    fc.assert(
      fc.property(sameLength, ([a, b]) => {
        expect(Math.sign(compareKeyPart(a, b))).toBe(BigInt(a) === BigInt(b) ? 0 : BigInt(a) < BigInt(b) ? -1 : 1);
      }),
    );
  });
});

describe('file globs', () => {
  it('matches base names case-insensitively with *, ? and classes', () => {
    expect(globToRegExp('*_calls.csv').test('ACME_20240301_CALLS.CSV')).toBe(true);
    expect(globToRegExp('*_calls.csv').test('acme_calls.csv.bak')).toBe(false);
    expect(globToRegExp('calls-?.csv').test('calls-1.csv')).toBe(true);
    expect(globToRegExp('calls-[!0-9].csv').test('calls-1.csv')).toBe(false);
    expect(globToRegExp('calls-[ab].csv').test('calls-B.csv')).toBe(true);
    expect(globToRegExp('a+b(1).csv').test('a+b(1).csv')).toBe(true);
    expect(baseName('C:\\exports\\x_calls.csv')).toBe('x_calls.csv');
    expect(baseName('/data/x_calls.csv')).toBe('x_calls.csv');
  });
});
