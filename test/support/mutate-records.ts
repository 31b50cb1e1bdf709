import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadMapping, type Mapping } from '../../packages/core/src/mapping/load.js';
import { openSource } from '../../packages/core/src/sources/index.js';
import { originOf, setOrigin, type SourceNode, type SourceRecord } from '../../packages/core/src/sources/types.js';

/**
 * Arbitrary variations of real source records for property tests: a record from a sample export with its
 * leaves replaced by arbitrary text, blanks, nulls, several values or objects, fields removed, and child rows
 * dropped or doubled. Hidden origins are kept, so diagnostics still locate their cells.
 */
export type Mutation = { at: number; kind: 'text' | 'blank' | 'remove' | 'null' | 'several' | 'object' | 'drop-rows' | 'double-rows'; text: string };

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('text', 'blank', 'remove', 'null', 'several', 'object', 'drop-rows', 'double-rows'),
  text: fc.oneof(fc.string(), fc.constantFrom('31/03/2024 01:30:00', '2024-10-27T01:30:00', '9434765919', 'SW1A 1AA', '999', 'C1', 'H&T', '__proto__', '0', ' ')),
});

/** Clones a record tree (keeping hidden origins) and mutates leaves: text, blanks, nulls, arrays and objects where one value was. */
export function mutate(data: SourceNode, mutations: readonly Mutation[]): SourceNode {
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
  const root = clone(data);
  const slots: { holder: Record<string | number, unknown>; key: string | number }[] = [];
  const walk = (node: unknown): void => {
    if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        slots.push({ holder: node as Record<string | number, unknown>, key: Array.isArray(node) ? Number(k) : k });
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
    const current = slot.holder[slot.key];
    if (Array.isArray(current)) {
      slot.holder[slot.key] = m.kind === 'drop-rows' ? [] : m.kind === 'double-rows' ? [...(current as unknown[]), ...(current as unknown[])] : current;
    } else if (typeof current !== 'object' || current === null) {
      const replacements: Record<Mutation['kind'], unknown> = {
        text: m.text,
        blank: '',
        remove: undefined,
        null: null,
        several: [m.text, current],
        object: { value: m.text },
        'drop-rows': m.text,
        'double-rows': m.text,
      };
      if (m.kind === 'remove' && !Array.isArray(slot.holder)) {
        delete slot.holder[slot.key];
      } else {
        slot.holder[slot.key] = replacements[m.kind];
      }
    }
  }
  return root as SourceNode;
}


/** A record drawn from `records` with up to 12 mutations applied. */
export function arbitraryRecordOf(records: readonly SourceRecord[]): fc.Arbitrary<SourceRecord> {
  return fc.tuple(fc.nat(), fc.array(mutation, { maxLength: 12 })).map(([index, mutations]) => {
    const base = records[index % records.length]!;
    return { ...base, data: base.data ? mutate(base.data, mutations) : undefined };
  });
}

/** The three ADS sample vendors. */
export const adsVendors = ['northwind-csv', 'harbour-xml', 'beacon-ndjson'] as const;

/** Loads each vendor's mapping and reads every record of its sample export. */
export async function loadSampleRecords(vendors: readonly string[]): Promise<Map<string, { mapping: Mapping; records: SourceRecord[] }>> {
  const mappingsDir = fileURLToPath(new URL('../../mappings/', import.meta.url));
  const loaded = new Map<string, { mapping: Mapping; records: SourceRecord[] }>();
  for (const vendor of vendors) {
    const dir = join(mappingsDir, vendor);
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
  return loaded;
}
