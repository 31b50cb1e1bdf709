import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMapping } from '../mapping/load.js';
import { mapAll } from '../run.js';
import { interpretRecord } from './engine.js';

const dir = mkdtempSync(join(tmpdir(), 'cadmap-budgets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(name: string, content: string): string {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

/** A bundle mapping over NDJSON records `{ id, items: [...] }` with the given budgets and note template. */
async function mapping(budgets: string, note: string) {
  const path = file(
    'mapping.yaml',
    `cadmap: 1\nid: budgets\n${budgets}\nsource:\n  format: ndjson\n  key: id\nresources:\n  - id: c\n    resourceType: Communication\n    forEach: =items\n    as: item\n    key: "=%record.id + '-' + %item"\n    template:\n      status: completed\n${note}\n`,
  );
  const loaded = await loadMapping(path);
  expect(loaded.diagnostics).toEqual([]);
  return loaded.mapping!;
}

const items = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, k) => String(k)));

describe('record budgets', () => {
  it('sets aside three nested $forEach of 300 items with MAP_RECORD_BUDGET, and maps the next record', async () => {
    const nested = '      note:\n        - $forEach: =%record.items\n          extension:\n            - $forEach: =%record.items\n              extension:\n                - $forEach: =%record.items\n                  url: =$this';
    const m = await mapping('', nested);
    const input = file('calls.ndjson', `{"id":"big","items":${items(300)}}\n{"id":"small","items":["a"]}\n`);
    const { results } = await mapAll(m, [{ path: input }]);
    expect(results.map((r) => [r.key, r.ok])).toEqual([
      ['big', false],
      ['small', true],
    ]);
    const [spent] = results[0]!.diagnostics;
    expect(spent).toMatchObject({ code: 'MAP_RECORD_BUDGET', severity: 'error', input: { file: input, line: 1 } });
    expect(spent!.message).toContain('budgets.maxElements limit of 100000');
    expect(spent!.hint).toContain('budgets: { maxElements: 1000000 }');
    expect(results[0]!.bundle).toBeUndefined();
  });

  it('counts entries: a fan-out of 2,000 × 2,000 stops at the element budget', async () => {
    const m = await mapping('budgets: { maxElements: 50000 }', '      note:\n        - $forEach: =%record.items\n          text: =$this');
    const input = file('fan.ndjson', `{"id":"fan","items":${items(2000)}}\n{"id":"next","items":["a"]}\n`);
    const { results } = await mapAll(m, [{ path: input }]);
    expect(results.map((r) => [r.key, r.ok, r.diagnostics.map((d) => d.code)])).toEqual([
      ['fan', false, ['MAP_RECORD_BUDGET']],
      ['next', true, []],
    ]);
  });

  it('checks bytes and nesting of the built bundle, in both the generated and the interpreted path', async () => {
    const text = 'x'.repeat(5000);
    const payload = '      payload:\n        - contentString: =%record.text';
    const input = file('bytes.ndjson', `{"id":"a","items":["1","2","3","4","5"],"text":"${text}"}\n{"id":"b","items":["1"],"text":"${text}"}\n`);
    const bytes = await mapping('budgets: { maxBytes: 20000 }', payload);
    const { results } = await mapAll(bytes, [{ path: input }]);
    expect(results.map((r) => [r.key, r.ok])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(results[0]!.diagnostics[0]!.message).toContain('budgets.maxBytes limit of 20000');
    expect(interpretRecord(bytes, results[0]!.source).diagnostics[0]!.message).toContain('budgets.maxBytes limit of 20000');
    // Bundle.entry[].resource.payload[]: five levels of objects and arrays
    const deep = await mapping('budgets: { maxDepth: 4 }', payload);
    const nested = (await mapAll(deep, [{ path: input }])).results;
    expect(nested[1]!.diagnostics[0]!.message).toContain('budgets.maxDepth limit of 4');
    expect(interpretRecord(deep, nested[1]!.source).diagnostics[0]!.message).toContain('budgets.maxDepth limit of 4');
  });

  it('sets aside a record whose mapping runs past budgets.maxMilliseconds', async () => {
    const m = await mapping('budgets: { maxMilliseconds: 1 }', "      note:\n        - $forEach: =%record.items\n          text: \"=$this.matches('^(a+)+$')\"");
    const input = file('slow.ndjson', `{"id":"slow","items":${items(20000)}}\n`);
    const { results } = await mapAll(m, [{ path: input }]);
    expect(results[0]!.diagnostics.map((d) => d.code)).toEqual(['MAP_RECORD_BUDGET']);
    expect(results[0]!.diagnostics[0]!.message).toContain('budgets.maxMilliseconds limit of 1 ms');
  });
});
