import { join } from 'node:path';
import { expect } from 'vitest';
import { loadMapping, type Mapping } from '../../packages/core/src/mapping/load.js';
import { openSource } from '../../packages/core/src/sources/index.js';
import type { SourceRecord } from '../../packages/core/src/sources/types.js';
import { interpretRecord, transformRecord, type MapResult } from '../../packages/core/src/transform/engine.js';
import type { Diagnostic } from '../../packages/core/src/diagnostics/diagnostic.js';
import { fixtureTree } from './fixtures.js';

/** Each record mapped by every path of the engine, which must agree on the bundle and the diagnostics. */
export interface MappedEveryWay {
  readonly mapping: Mapping;
  /** The folder holding `mapping.yaml` and the inputs. */
  readonly root: string;
  /** Problems found before the first record (opening the inputs). */
  readonly setup: readonly Diagnostic[];
  readonly records: readonly SourceRecord[];
  /** Per record: the generated-code path (provenance off), the path users run by default. */
  readonly results: readonly MapResult[];
  /** Per record: the interpreter with provenance on (what `explain`, `--provenance` and `--check` use). */
  readonly traced: readonly MapResult[];
}

/** What a caller can see of a result, provenance aside. */
export const observable = (result: MapResult): string =>
  JSON.stringify({ key: result.key, ok: result.ok, skipped: result.skipped, bundle: result.bundle ?? result.document, entryRules: result.entryRules, diagnostics: result.diagnostics });

/**
 * Writes a mapping and its inputs to a scratch folder, loads it (failing the test on mapping errors) and maps
 * every record with generated code, with the interpreter, and with the interpreter tracking provenance,
 * asserting the three give the same bundles and the same diagnostics.
 */
export async function mapEveryWay(mappingText: string, inputs: Readonly<Record<string, string>>): Promise<MappedEveryWay> {
  const root = fixtureTree({ 'mapping.yaml': mappingText, ...inputs });
  const { mapping, diagnostics } = await loadMapping(join(root, 'mapping.yaml'));
  if (!mapping) {
    throw new Error(`mapping does not load: ${JSON.stringify(diagnostics, null, 2)}`);
  }
  const opened = await openSource(
    mapping.source,
    Object.keys(inputs).map((name) => ({ path: join(root, name) })),
  );
  const records: SourceRecord[] = [];
  for await (const record of opened.records()) {
    records.push(record);
  }
  const results = records.map((record) => transformRecord(mapping, record));
  const traced = records.map((record) => transformRecord(mapping, record, { provenance: true }));
  records.forEach((record, index) => {
    expect(observable(interpretRecord(mapping, record)), `interpreter, record ${record.key}`).toBe(observable(results[index]!));
    expect(observable(traced[index]!), `provenance on, record ${record.key}`).toBe(observable(results[index]!));
  });
  return { mapping, root, setup: opened.diagnostics, records, results, traced };
}
