import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNhsNumber, maskNhsNumber, redact, Redactor } from './redact.js';

const nhsNumber = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 })
  .map((d) => {
    const sum = d.reduce((s, v, i) => s + v * (10 - i), 0);
    const check = (11 - (sum % 11)) % 11;
    return check === 10 ? undefined : `${d.join('')}${check}`;
  })
  .filter((n): n is string => n !== undefined);

describe('redact', () => {
  it('removes bearer tokens, JWTs and token fields', () => {
    expect(redact('Authorization: Bearer abc.DEF-123_x')).toBe('Authorization: Bearer [redacted]');
    expect(redact('assertion eyJhbGciOiJSUzUxMiJ9.eyJpc3MiOiJ4In0.c2ln end')).toBe('assertion [jwt redacted] end');
    expect(redact('{"access_token":"Zk9x0","expires_in":"3599"}')).toBe('{"access_token":"[redacted]","expires_in":"3599"}');
    expect(redact('grant_type=client_credentials&client_assertion=abc.def.ghi&x=1')).toBe('grant_type=client_credentials&client_assertion=[redacted]&x=1');
  });

  it('removes MESH authorization tokens, API keys, passwords and shared keys given as fields', () => {
    expect(redact('authorization: NHSMESH X26ABC1:2c001608-5f09-4840-9611-bea43e666a30:1:201511201038:9712e9dd1aa8 ok')).toBe('authorization: NHSMESH [redacted] ok');
    expect(redact('apikey: Zq8Jm2kLs0 and x-api-key=Zq8Jm2kLs0')).toBe('apikey: [redacted] and x-api-key=[redacted]');
    expect(redact('{"apiKey":"Zq8Jm2kLs0","kid":"k1"}')).toBe('{"apiKey":"[redacted]","kid":"k1"}');
    expect(redact('CADMAP_MESH_PASSWORD=hunter22 CADMAP_MESH_SHARED_KEY=TestKey99')).toBe('CADMAP_MESH_PASSWORD=[redacted] CADMAP_MESH_SHARED_KEY=[redacted]');
  });

  it('leaves prose, file settings and help text about secrets alone', () => {
    for (const text of [
      'The MESH mailbox password is missing.',
      'Set CADMAP_MESH_PASSWORD or CADMAP_MESH_PASSWORD_FILE.',
      'CADMAP_MESH_PASSWORD_FILE=/run/secrets/mesh',
      "credentials: { header: X-Example-Credentials, scheme: Basic }",
      'API key abc…yz, kid k1, private key from dps-key.pem',
      'privateKeyFile: dps-key.pem',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });

  it('removes private keys, whole blocks, also JSON-escaped and cut short', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\nabc\n-----END PRIVATE KEY-----';
    expect(redact(`key: ${pem} done`)).toBe('key: [private key redacted] done');
    expect(redact(JSON.stringify({ key: pem }))).toBe('{"key":"[private key redacted]"}');
    expect(redact('-----BEGIN RSA PRIVATE KEY-----\nMIIB')).toBe('[private key redacted]');
    expect(redact('-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----')).toBe('[private key redacted]');
  });

  it('masks NHS numbers in the groupings nhsNumber() reads, and any ten digits in an NHS-number field', () => {
    expect(redact('patient 99 98 97 04 15 seen')).toBe('patient *******415 seen');
    expect(redact('patient 9-9-9-8-9-7-0-4-1-5')).toBe('patient *******415');
    expect(redact('{"nhsNumber":"9998970416","id":"1"}')).toBe('{"nhsNumber":"*******416","id":"1"}');
    expect(redact("column 4 'NHS_NO' = \"99 98 97 04 16\"")).toBe("column 4 'NHS_NO' = \"*******416\"");
    expect(redact('patientNhsNumber: 1234567890')).toBe('patientNhsNumber: *******890');
    expect(redact(`← calls.csv:2:5 (table calls, row 1, column 3 'NhsNo', record 7) = "9998970416"`)).toBe(`← calls.csv:2:5 (table calls, row 1, column 3 'NhsNo', record 7) = "*******416"`);
    expect(redact('count 1234567890')).toBe('count 1234567890');
  });

  it('masks valid NHS numbers to their last three digits in any common spacing and keeps other digits', () => {
    expect(redact('patient 9998970415 seen')).toBe('patient *******415 seen');
    expect(redact('patient 999 897 0415 seen')).toBe('patient *******415 seen');
    expect(redact('patient 999-897-0415')).toBe('patient *******415');
    expect(redact('call 24000139, count 1234567890')).toBe('call 24000139, count 1234567890');
    expect(redact('id 99989704150')).toBe('id 99989704150');
    expect(maskNhsNumber('943 476 5919')).toBe('*******919');
    expect(redact('request 0d514a9a-5c55-4fab-a32a-9434765919dd, hash ab9434765919cd')).toBe('request 0d514a9a-5c55-4fab-a32a-9434765919dd, hash ab9434765919cd');
    expect(redact('NHS9434765919 and id-9434765919')).toBe('NHS*******919 and id-*******919');
    expect(isNhsNumber('9434765919')).toBe(true);
    expect(isNhsNumber('9434765918')).toBe(false);
  });

  it('never lets a valid NHS number through, and keeps its last three digits', () => {
    fc.assert(
      fc.property(nhsNumber, fc.string(), (n, around) => {
        expect(isNhsNumber(n)).toBe(true);
        const out = redact(`x ${n} ${around.replace(/\d/g, '')}`);
        expect(out).not.toContain(n);
        expect(out).toContain(`*******${n.slice(-3)}`);
      }),
    );
  });
});

describe('Redactor', () => {
  it('scrubs the secret values it was given wherever they appear, in their encodings too', () => {
    const redactor = new Redactor(['s3cr3t-pass', undefined]);
    redactor.addSecret('shared/key+1\n');
    expect(redactor.redact('login s3cr3t-pass; hmac shared/key+1; url shared%2Fkey%2B1')).toBe('login [redacted]; hmac [redacted]; url [redacted]');
    expect(redactor.redact(JSON.stringify({ value: 'a"quoted"secret' }))).toContain('quoted');
    redactor.addSecret('a"quoted"secret');
    expect(redactor.redact(JSON.stringify({ value: 'a"quoted"secret' }))).toBe('{"value":"[redacted]"}');
  });

  it('scrubs each line of a PEM key it was given, so a fragment cannot leak', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
    const redactor = new Redactor([`-----BEGIN PRIVATE KEY-----\n${body}\nQUFB\n-----END PRIVATE KEY-----\n`]);
    expect(redactor.redact(`fragment ${body.slice(0)} end`)).toBe('fragment [redacted] end');
  });

  it('ignores values too short to scrub safely', () => {
    const redactor = new Redactor(['abc', '']);
    expect(redactor.size).toBe(0);
    expect(redactor.redact('abc abc')).toBe('abc abc');
  });

  it('scrubs any secret from any text', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6, maxLength: 40 }).filter((s) => s.trim().length >= 6 && !['[redacted]', '[private key redacted]', '[jwt redacted]'].some((mark) => mark.includes(s.trim())) && !s.includes('*')), fc.string(), fc.string(), (secret, before, after) => {
        const redactor = new Redactor([secret]);
        expect(redactor.redact(`${before}${secret.trim()}${after}`)).not.toContain(secret.trim());
      }),
    );
  });
});
