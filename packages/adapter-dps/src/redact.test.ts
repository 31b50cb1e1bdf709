import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNhsNumber, redact } from './redact.js';

describe('redact', () => {
  it('removes bearer tokens, JWTs and token fields', () => {
    expect(redact('Authorization: Bearer abc.DEF-123_x')).toBe('Authorization: Bearer [redacted]');
    expect(redact('assertion eyJhbGciOiJSUzUxMiJ9.eyJpc3MiOiJ4In0.c2ln end')).toBe('assertion [jwt redacted] end');
    expect(redact('{"access_token":"Zk9x0","expires_in":"3599"}')).toBe('{"access_token":"[redacted]","expires_in":"3599"}');
    expect(redact('grant_type=client_credentials&client_assertion=abc.def.ghi&x=1')).toBe('grant_type=client_credentials&client_assertion=[redacted]&x=1');
  });

  it('removes private keys, whole blocks', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\nabc\n-----END PRIVATE KEY-----';
    expect(redact(`key: ${pem} done`)).toBe('key: [private key redacted] done');
    expect(redact('-----BEGIN RSA PRIVATE KEY-----\nMIIB')).toBe('[private key redacted]');
  });

  it('removes valid NHS numbers in any common spacing and keeps other digits', () => {
    expect(redact('patient 9998970415 seen')).toBe('patient [NHS number redacted] seen');
    expect(redact('patient 999 897 0415 seen')).toBe('patient [NHS number redacted] seen');
    expect(redact('patient 999-897-0415')).toBe('patient [NHS number redacted]');
    expect(redact('call 24000139, count 1234567890')).toBe('call 24000139, count 1234567890');
    expect(redact('id 99989704150')).toBe('id 99989704150');
  });

  it('never lets a valid NHS number through', () => {
    const nhsNumber = fc
      .array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 })
      .map((d) => {
        const sum = d.reduce((s, v, i) => s + v * (10 - i), 0);
        const check = (11 - (sum % 11)) % 11;
        return check === 10 ? undefined : `${d.join('')}${check}`;
      })
      .filter((n): n is string => n !== undefined);
    fc.assert(
      fc.property(nhsNumber, fc.string(), (n, around) => {
        expect(isNhsNumber(n)).toBe(true);
        expect(redact(`x ${n} ${around.replace(/\d/g, '')}`)).not.toContain(n);
      }),
    );
  });
});
