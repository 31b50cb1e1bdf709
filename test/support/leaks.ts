import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './fixtures.js';

/** Text meant for a person to read, and where it was shown. */
export interface Shown {
  readonly where: string;
  readonly text: string;
}

/** A secret value the run knew, by name. */
export interface Secret {
  readonly name: string;
  readonly value: string;
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const isValidNhsNumber = (digits: string): boolean => {
  const sum = [...digits.slice(0, 9)].reduce((total, digit, index) => total + Number(digit) * (10 - index), 0);
  const check = 11 - (sum % 11);
  return check !== 10 && (check === 11 ? 0 : check) === Number(digits[9]);
};

/** Valid NHS numbers (modulus 11) in the sample exports of every vendor. */
export function sampleNhsNumbers(): Set<string> {
  const found = new Set<string>();
  const mappings = join(projectRoot, 'mappings');
  for (const vendor of readdirSync(mappings)) {
    if (!statSync(join(mappings, vendor)).isDirectory() || !readdirSync(join(mappings, vendor)).includes('sample')) {
      continue;
    }
    for (const path of filesUnder(join(mappings, vendor, 'sample'))) {
      for (const match of readFileSync(path, 'utf8').matchAll(/(?<![0-9])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9])/g)) {
        const digits = `${match[1]}${match[2]}${match[3]}`;
        if (isValidNhsNumber(digits)) {
          found.add(digits);
        }
      }
    }
  }
  return found;
}

const secretPatterns: readonly [string, RegExp][] = [
  ['private-key PEM block', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['bearer token', /\bBearer\s+[A-Za-z0-9._~+/-]{8,}/i],
  ['MESH authorization token', /\bNHSMESH\s+[A-Za-z0-9]+:[^\s"]{8,}/],
  ['JWT', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./],
];

/**
 * Everything shown that leaks: a private key, token or JWT by pattern, a known secret by value, or a full sample NHS
 * number (separators ignored). Empty when nothing leaks.
 */
export function findLeaks(shown: readonly Shown[], secrets: readonly Secret[], nhsNumbers: ReadonlySet<string>): string[] {
  return shown.flatMap(({ where, text }) => {
    const patterns = secretPatterns.filter(([, pattern]) => pattern.test(text)).map(([name]) => `${where}: ${name}`);
    const values = secrets.filter((secret) => secret.value !== '' && text.includes(secret.value)).map((secret) => `${where}: ${secret.name}`);
    const digits = text.replace(/(?<=[0-9])[ -](?=[0-9])/g, '');
    const numbers = [...nhsNumbers].filter((n) => digits.includes(n));
    return [...patterns, ...values, ...(numbers.length === 0 ? [] : [`${where}: ${numbers.length} NHS number(s), e.g. …${numbers[0]!.slice(-3)}`])];
  });
}
