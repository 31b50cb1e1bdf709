import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMapping, runMapping } from '../packages/core/src/index.js';
import { repoRoot, writeSyntheticExport } from '../test/support/sample-data/generate.js';
import { mapNorthwindByHand } from './northwind-baseline.js';

const mappingFile = join(repoRoot, 'mappings/northwind-csv/mapping.yaml');
const scratch = mkdtempSync(join(tmpdir(), 'cadmap-northwind-baseline-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const filesIn = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .map((name) => join(dir, name));

/** Every bundle of the engine, serialised, with the keys of the results that were not ok. */
async function engineBundles(files: readonly string[]): Promise<{ bundles: string[]; notOk: string[] }> {
  const { mapping, diagnostics } = await loadMapping(mappingFile);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const run = await runMapping(mapping!, files.map((path) => ({ path })));
  const bundles: string[] = [];
  const notOk: string[] = [];
  for await (const result of run.results()) {
    if (!result.ok) {
      notOk.push(`${result.key}: ${result.diagnostics.map((d) => d.code).join(', ')}`);
    }
    bundles.push(JSON.stringify(result.bundle));
  }
  return { bundles, notOk };
}

async function baselineBundles(files: readonly string[]): Promise<string[]> {
  const bundles: string[] = [];
  for await (const bundle of mapNorthwindByHand(files)) {
    bundles.push(JSON.stringify(bundle));
  }
  return bundles;
}

async function expectSameBundles(files: readonly string[], calls: number): Promise<void> {
  const engine = await engineBundles(files);
  const baseline = await baselineBundles(files);
  expect(engine.notOk).toEqual([]);
  expect(engine.bundles).toHaveLength(calls);
  expect(baseline).toHaveLength(calls);
  for (let i = 0; i < calls; i++) {
    // One bundle at a time, so that a difference shows the call it is in.
    expect(baseline[i], `bundle ${i + 1} of ${calls}`).toBe(engine.bundles[i]);
  }
}

describe('mapNorthwindByHand', () => {
  it('builds the same 64 bundles as the engine from the northwind-csv sample', async () => {
    await expectSameBundles(filesIn(join(repoRoot, 'mappings/northwind-csv/sample')), 64);
  });

  it('builds the same bundles as the engine from a generated 2,000-call export', async () => {
    const dir = join(scratch, 'synthetic');
    writeSyntheticExport('northwind-csv', dir, 2000, 7);
    await expectSameBundles(filesIn(dir), 2000);
  });

  it('maps the sample edge cases (the comparison is not between two empty outputs)', async () => {
    const bundles = (await baselineBundles(filesIn(join(repoRoot, 'mappings/northwind-csv/sample')))).map(
      (text) => JSON.parse(text) as { entry: { resource: { resourceType: string; sent?: string; identifier?: { value: string }[] } }[] },
    );
    const call = (id: string) => bundles.find((bundle) => bundle.entry[0]?.resource.identifier?.[0]?.value === id)!;
    const types = (id: string) => call(id).entry.map((entry) => entry.resource.resourceType);
    expect(types('24000411')).toEqual([
      'Communication', 'Encounter', 'Encounter', 'Encounter', 'Patient', 'Patient', 'Patient',
      'Location', 'Location', 'Location', 'Location', 'Location', 'Location', 'Organization',
    ]);
    expect(types('24000190')).toEqual(['Communication', 'Organization']);
    expect(call('24000139').entry[0]?.resource.sent).toBe('2024-03-31T02:05:10+01:00');
    expect(call('24001483').entry[0]?.resource.sent).toBe('2024-10-27T01:20:15+01:00');
  });
});
