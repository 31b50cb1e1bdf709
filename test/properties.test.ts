import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type Mapping } from '../packages/core/src/index.js';
import { openSource } from '../packages/core/src/sources/index.js';
import { originOf, setOrigin, type SourceNode, type SourceRecord } from '../packages/core/src/sources/types.js';
import { transformRecord } from '../packages/core/src/transform/engine.js';
import { projectRoot } from './support/fixtures.js';

/**
 * Properties of the engine over all three sample vendors, on real sample records whose values fast-check
 * mutates (arbitrary text, blanks, removed fields, emptied or duplicated child rows).
 */
const vendors = ['northwind-csv', 'harbour-xml', 'beacon-ndjson'] as const;
const fhirDateTime = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const dateTimeKeys = new Set(['valueDateTime', 'sent', 'start', 'end', 'timestamp']);

const loaded = new Map<string, { mapping: Mapping; records: SourceRecord[] }>();

beforeAll(async () => {
  for (const vendor of vendors) {
    const dir = join(projectRoot, 'mappings', vendor);
    const { mapping, diagnostics } = await loadMapping(join(dir, 'mapping.yaml'));
    if (!mapping) {
      throw new Error(`${vendor}: ${JSON.stringify(diagnostics)}`);
    }
    const sample = join(dir, 'sample');
    const opened = await openSource(mapping.source, readdirSync(sample).map((f) => ({ path: join(sample, f) })));
    const records: SourceRecord[] = [];
    for await (const record of opened.records()) {
      records.push(record);
    }
    loaded.set(vendor, { mapping, records });
  }
});

type Mutation = { at: number; kind: 'text' | 'blank' | 'remove' | 'drop-rows' | 'double-rows'; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('text', 'blank', 'remove', 'drop-rows', 'double-rows'),
  text: fc.oneof(fc.string(), fc.constantFrom('31/03/2024 01:30:00', '2024-10-27T01:30:00', '9434765919', 'SW1A 1AA', '999', 'C1', '<x>', '__proto__', '0', '-1', ' ')),
});

/** Clones a record tree (keeping hidden origins) and applies mutations to its leaves and child arrays. */
function mutate(data: SourceNode, mutations: readonly Mutation[]): SourceNode {
  const clone = (node: unknown): unknown => {
    if (Array.isArray(node)) {
      return node.map(clone);
    }
    if (node !== null && typeof node === 'object') {
      const out = Object.create(null) as Record<string, unknown>;
      for (const [k, v] of Object.entries(node)) {
        out[k] = clone(v);
      }
      const origin = originOf(node);
      if (origin) {
        setOrigin(out, origin);
      }
      return out;
    }
    return node;
  };
  const root = clone(data) as Record<string, unknown>;
  const slots: { holder: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        slots.push({ holder: node, key: i });
        walk(item);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        slots.push({ holder: node as Record<string, unknown>, key: k });
        walk(v);
      }
    }
  };
  walk(root);
  for (const m of mutations) {
    const slot = slots[m.at % Math.max(1, slots.length)];
    if (!slot) {
      continue;
    }
    const current = (slot.holder as Record<string | number, unknown>)[slot.key];
    if (Array.isArray(current)) {
      (slot.holder as Record<string | number, unknown>)[slot.key] = m.kind === 'drop-rows' ? [] : m.kind === 'double-rows' ? [...current, ...current] : current;
    } else if (typeof current !== 'object' || current === null) {
      if (m.kind === 'remove' && !Array.isArray(slot.holder)) {
        delete (slot.holder)[slot.key as string];
      } else {
        (slot.holder as Record<string | number, unknown>)[slot.key] = m.kind === 'blank' ? '' : m.text;
      }
    }
  }
  return root as SourceNode;
}

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
  const arbitraryRecord = fc.tuple(fc.nat(), fc.array(mutation, { maxLength: 12 })).map(([index, mutations]) => {
    const { records } = loaded.get(vendor)!;
    const base = records[index % records.length]!;
    return { ...base, data: base.data ? mutate(base.data, mutations) : undefined } satisfies SourceRecord;
  });

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
