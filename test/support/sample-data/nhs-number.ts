import type { Random } from './random.js';

/** The modulus 11 check digit of the first nine digits, or undefined when the number cannot be valid (remainder 10). */
export function nhsCheckDigit(nineDigits: string): number | undefined {
  let sum = 0;
  for (let index = 0; index < 9; index += 1) {
    sum += Number(nineDigits[index]) * (10 - index);
  }
  const check = 11 - (sum % 11);
  if (check === 11) {
    return 0;
  }
  return check === 10 ? undefined : check;
}

export function isValidNhsNumber(value: string): boolean {
  if (!/^\d{10}$/.test(value)) {
    return false;
  }
  return nhsCheckDigit(value.slice(0, 9)) === Number(value[9]);
}

/**
 * A valid NHS number in the 999 range, which NHS England reserves for test data, so that synthetic numbers can
 * never be a real person's.
 */
export function validNhsNumber(rng: Random): string {
  for (;;) {
    const nine = `999${String(rng.int(0, 999_999)).padStart(6, '0')}`;
    const check = nhsCheckDigit(nine);
    if (check !== undefined) {
      return `${nine}${check}`;
    }
  }
}

/** A ten-digit number that fails the modulus 11 check (a valid number with its check digit changed). */
export function invalidNhsNumber(rng: Random): string {
  const valid = validNhsNumber(rng);
  const wrong = (Number(valid[9]) + rng.int(1, 9)) % 10;
  return `${valid.slice(0, 9)}${wrong}`;
}
