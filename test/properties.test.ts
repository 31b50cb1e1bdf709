import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Mapping } from '../packages/core/src/index.js';
import type { SourceRecord } from '../packages/core/src/sources/types.js';
import { adsVendors, arbitraryRecordOf, loadSampleRecords } from './support/mutate-records.js';
import { transformRecord } from '../packages/core/src/transform/engine.js';

/**
 * Properties of the engine over all three sample vendors, on real sample records whose values fast-check
 * mutates (arbitrary text, blanks, removed fields, emptied or duplicated child rows).
 */
const vendors = adsVendors;
const fhirDateTime = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const dateTimeKeys = new Set(['valueDateTime', 'sent', 'start', 'end', 'timestamp']);

const loaded = new Map<string, { mapping: Mapping; records: SourceRecord[] }>();

beforeAll(async () => {
  for (const [vendor, value] of await loadSampleRecords(vendors)) {
    loaded.set(vendor, value);
  }
});

function collect(node: unknown, visit: (key: string, value: unknown) => void): void {
  if (Array.isArray(node)) {
    node.forEach((item) => collect(item, visit));
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      visit(k, v);
      collect(v, visit);
    }
  }
}

describe.each(vendors)('engine properties on %s records', (vendor) => {
  const arbitraryRecord = fc.constant(null).chain(() => arbitraryRecordOf(loaded.get(vendor)!.records));

  it('never throws, and every failure is explained by an error diagnostic', () => {
    const { mapping } = loaded.get(vendor)!;
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        const result = transformRecord(mapping, record);
        if (!result.ok) {
          expect(result.diagnostics.some((d) => d.severity === 'error' || d.severity === 'fatal')).toBe(true);
        }
        for (const d of result.diagnostics) {
          expect(d.code).toMatch(/^(MAP|SRC)_[A-Z_0-9]+$/);
          expect(d.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same record gives the same bundle', () => {
    const { mapping } = loaded.get(vendor)!;
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        expect(JSON.stringify(transformRecord(mapping, record).bundle)).toBe(JSON.stringify(transformRecord(mapping, record).bundle));
      }),
      { numRuns: 100 },
    );
  });

  it('resolves every reference of every successful bundle to an entry', () => {
    const { mapping } = loaded.get(vendor)!;
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        const result = transformRecord(mapping, record);
        if (!result.ok || !result.bundle) {
          return;
        }
        const fullUrls = new Set(result.bundle.entry?.map((e) => e.fullUrl));
        expect(fullUrls.size).toBe(result.bundle.entry?.length);
        collect(result.bundle, (key, value) => {
          if (key === 'reference') {
            expect(fullUrls.has(value as string), `reference ${String(value)}`).toBe(true);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('emits only valid FHIR dateTimes, with an offset whenever there is a time', () => {
    const { mapping } = loaded.get(vendor)!;
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        const result = transformRecord(mapping, record);
        collect(result.bundle, (key, value) => {
          if (dateTimeKeys.has(key) && typeof value === 'string') {
            expect(value).toMatch(fhirDateTime);
            if (value.includes('T')) {
              expect(value).toMatch(/(Z|[+-]\d\d:\d\d)$/);
            }
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
