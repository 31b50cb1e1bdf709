import type { EvalSink } from '../expressions/types.js';
import type { LookupTable, LookupTarget } from '../mapping/model.js';

/** A FHIR Coding built by `coding()`; absent fields are left out. */
export interface CodingValue {
  system?: string;
  code: string;
  display?: string;
}

interface IndexedTable {
  /** Normalised key → target (the first entry wins). */
  readonly normalised: ReadonlyMap<string, LookupTarget>;
  /** Every key exactly as written → the target its normalised form finds: a hit skips trimming and lower-casing. */
  readonly exact: ReadonlyMap<string, LookupTarget>;
}

const indexedTables = new WeakMap<LookupTable, IndexedTable>();

const normaliseKey = (table: LookupTable, value: string): string =>
  table.caseSensitive ? value.trim() : value.trim().toLowerCase();

function indexOf(table: LookupTable): IndexedTable {
  let indexed = indexedTables.get(table);
  if (!indexed) {
    const normalised = new Map<string, LookupTarget>();
    for (const [key, target] of table.entries) {
      const normalisedKey = normaliseKey(table, key);
      if (!normalised.has(normalisedKey)) {
        normalised.set(normalisedKey, target);
      }
    }
    const exact = new Map<string, LookupTarget>();
    for (const [key] of table.entries) {
      const target = key.trim() === '' ? undefined : normalised.get(normaliseKey(table, key));
      if (target !== undefined) {
        exact.set(key, target);
      }
    }
    indexed = { normalised, exact };
    indexedTables.set(table, indexed);
  }
  return indexed;
}

/**
 * The target of a value in a lookup table: keys matched after trimming (case-insensitively unless the
 * table is caseSensitive), then the table default. A miss reports MAP_LOOKUP_MISS with the table's
 * onMissing severity and gives undefined. An empty value is absent: undefined without a report.
 */
export function lookupTarget(table: LookupTable, value: unknown, sink: EvalSink): LookupTarget | undefined {
  const indexed = indexOf(table);
  if (typeof value === 'string') {
    const hit = indexed.exact.get(value);
    if (hit !== undefined) {
      return hit;
    }
  }
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  if (text !== undefined && text.trim() === '') {
    return undefined;
  }
  const target = text === undefined ? undefined : indexed.normalised.get(normaliseKey(table, text));
  if (target) {
    return target;
  }
  if (table.default) {
    return table.default;
  }
  sink.report({
    code: 'MAP_LOOKUP_MISS',
    severity: table.onMissing,
    value,
    message: `${JSON.stringify(value)} has no entry in lookup '${table.name}' and the table has no default.`,
    hint: `Add an entry for it to lookups.${table.name}, or give the table a default.`,
  });
  return undefined;
}

/** `translate('lookup')`: the target code. */
export function translate(table: LookupTable, value: unknown, sink: EvalSink): string | undefined {
  return lookupTarget(table, value, sink)?.code;
}

/** `coding('lookup')`: `{system, code, display}` with the entry's system, else the table's. */
export function coding(table: LookupTable, value: unknown, sink: EvalSink): CodingValue | undefined {
  const target = lookupTarget(table, value, sink);
  if (!target) {
    return undefined;
  }
  let result = codings.get(target);
  if (!result) {
    const system = target.system ?? table.system;
    result = Object.freeze({
      ...(system !== undefined ? { system } : {}),
      code: target.code,
      ...(target.display !== undefined ? { display: target.display } : {}),
    });
    codings.set(target, result);
  }
  return result;
}

type LookupFunction<T> = (value: unknown, sink: EvalSink) => T | undefined;

/** How many values as met in the data (e.g. `DCA` for the key `dca`) a lookup function remembers. */
const rememberedValues = 4096;

/**
 * `find` over one table, answering the values met in the data that found something from a map, up to
 * {@link rememberedValues} of them (a value that finds something never reports, so remembering it changes
 * nothing but the time; one that finds nothing is looked up, and reported, every time). Filled as values are
 * met: a large table costs nothing up front.
 */
function remembering<T>(find: (value: unknown, sink: EvalSink) => T | undefined): LookupFunction<T> {
  const known = new Map<string, T>();
  return (value, sink) => {
    if (typeof value !== 'string') {
      return find(value, sink);
    }
    const hit = known.get(value);
    if (hit !== undefined) {
      return hit;
    }
    const result = find(value, sink);
    if (result !== undefined && known.size < rememberedValues) {
      known.set(value, result);
    }
    return result;
  };
}

/** `translate()` over one table (see {@link remembering}). */
export const translator = (table: LookupTable): LookupFunction<string> => remembering((value, sink) => translate(table, value, sink));

/** `coding()` over one table (see {@link remembering}); the same frozen Codings as `coding()`. */
export const coder = (table: LookupTable): LookupFunction<CodingValue> => remembering((value, sink) => coding(table, value, sink));

/** One frozen Coding per lookup target: lookups run for most elements of every bundle. */
const codings = new WeakMap<LookupTarget, CodingValue>();
