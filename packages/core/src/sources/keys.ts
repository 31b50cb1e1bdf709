/** True when the string is non-empty and made only of ASCII digits. */
function isDigits(value: string): boolean {
  const n = value.length;
  if (n === 0) {
    return false;
  }
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) {
      return false;
    }
  }
  return true;
}

/**
 * Orders two key values: numerically when both are all digits (by length without leading zeros, then by digits,
 * so ids of any size compare right), else by UTF-16 code units.
 */
export function compareKeyPart(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  // digits of equal length order as text (leading zeros pad alike), so only different lengths need the digit check
  if (a.length !== b.length && isDigits(a) && isDigits(b)) {
    let i = 0;
    let j = 0;
    while (i < a.length - 1 && a.charCodeAt(i) === 48) {
      i++;
    }
    while (j < b.length - 1 && b.charCodeAt(j) === 48) {
      j++;
    }
    const lengthA = a.length - i;
    const lengthB = b.length - j;
    if (lengthA !== lengthB) {
      return lengthA < lengthB ? -1 : 1;
    }
    for (; i < a.length; i++, j++) {
      const d = a.charCodeAt(i) - b.charCodeAt(j);
      if (d !== 0) {
        return d < 0 ? -1 : 1;
      }
    }
    return a < b ? -1 : 1;
  }
  return a < b ? -1 : 1;
}

/** Orders composite keys part by part. */
export function compareKey(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const c = compareKeyPart(a[k]!, b[k]!);
    if (c !== 0) {
      return c;
    }
  }
  return a.length - b.length;
}
