/** True when ten digits pass the NHS number modulus 11 check. */
export function isNhsNumber(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    sum += Number(digits[i]) * (10 - i);
  }
  const check = 11 - (sum % 11);
  const expected = check === 11 ? 0 : check;
  return expected !== 10 && expected === Number(digits[9]);
}

const rules: readonly [RegExp, (match: string, ...groups: string[]) => string][] = [
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, () => '[private key redacted]'],
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi, (_m, scheme = 'Bearer') => `${scheme} [redacted]`],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, () => '[jwt redacted]'],
  [/("?(?:access_token|client_assertion|refresh_token|id_token)"?\s*[:=]\s*"?)[^"&\s,}]+/gi, (_m, prefix = '') => `${prefix}[redacted]`],
  [/(?<![\d])(\d{3})([ -]?)(\d{3})\2(\d{4})(?![\d])/g, (match, a = '', _sep, b = '', c = '') => (isNhsNumber(`${a}${b}${c}`) ? '[NHS number redacted]' : match)],
];

/**
 * Removes secrets and personal identifiers from text meant for logs or error messages: private keys, bearer
 * tokens, JWTs, `access_token`/`client_assertion` values and NHS numbers (10 digits, optionally 3-3-4 spaced or
 * dashed, that pass the modulus 11 check).
 */
export function redact(text: string): string {
  let out = text;
  for (const [pattern, replace] of rules) {
    out = out.replace(pattern, replace as (substring: string, ...args: unknown[]) => string);
  }
  return out;
}
