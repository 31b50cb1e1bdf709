import fc from 'fast-check';
import { v5 as uuidv5 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { cadmapNamespace, entryFullUrl, mappingNamespace, uuidV5 } from './ids.js';

describe('UUIDv5', () => {
  it('matches the RFC 9562 example and the uuid package for any name and namespace', () => {
    // RFC 9562 appendix A.4: name "www.example.com" in the DNS namespace
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme' }),
          fc.string({ unit: 'grapheme', minLength: 300, maxLength: 1200 }),
          // ASCII names (written byte by byte), also long ones and ones turning non-ASCII part-way
          fc.string({ maxLength: 60 }),
          fc.string({ minLength: 1000, maxLength: 1100 }),
          fc.tuple(fc.string({ maxLength: 30 }), fc.constantFrom('é', '’', '😀', '\u0080'), fc.string({ maxLength: 10 })).map((parts) => parts.join('')),
        ),
        fc.uuid(),
        (name, namespace) => {
          expect(uuidV5(name, namespace)).toBe(uuidv5(name, namespace));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('derives fullUrls deterministically from namespace, type and key', () => {
    const ns = mappingNamespace('demo');
    expect(ns).toBe(uuidv5('mapping/demo', cadmapNamespace));
    expect(entryFullUrl(ns, 'Patient', '1|2')).toBe(`urn:uuid:${uuidv5('Patient/1|2', ns)}`);
    expect(entryFullUrl(ns, 'Patient', '1|2')).toBe(entryFullUrl(ns, 'Patient', '1|2'));
    expect(entryFullUrl(ns, 'Patient', '1|2')).not.toBe(entryFullUrl(ns, 'Encounter', '1|2'));
  });

  it('refuses a malformed namespace', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(/Not a UUID namespace/);
  });
});
