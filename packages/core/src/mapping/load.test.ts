import { describe, expect, it } from 'vitest';
import { fixtureTree } from '../../../../test/support/fixtures.js';
import { loadMapping } from './load.js';

const minimalSource = `source:
  format: csv
  tables:
    calls: { files: "*.csv", key: IncidentId }
`;

/** A mapping of one rule, `call`, whose template is `template` (text after `template:`, inline or indented lines). */
const callRule = (template: string): string => `cadmap: 1
id: demo
${minimalSource}resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    template:${template}
`;

async function load(text: string, extra: Record<string, string> = {}) {
  const dir = fixtureTree({ 'mapping.yaml': text, ...extra });
  const result = await loadMapping(`${dir}/mapping.yaml`);
  return { ...result, dir };
}

describe('loadMapping', () => {
  it('loads a valid mapping with defaults filled in', async () => {
    const { mapping, diagnostics } = await load(`cadmap: 1
id: demo
${minimalSource}resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    template: { status: completed }
`);
    expect(diagnostics).toEqual([]);
    expect(mapping?.source.timeZone).toBe('Europe/London');
    expect(mapping?.source.encoding).toBe('utf-8');
    expect(mapping?.source.order).toBe('sorted');
    expect(mapping?.rules.map((r) => r.id)).toEqual(['call']);
    expect(mapping?.namespace).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports YAML syntax errors with line and column', async () => {
    const { mapping, diagnostics } = await load('cadmap: 1\nid: demo\nsource:\n  format: csv\n   bad: indent\n');
    expect(mapping).toBeUndefined();
    expect(diagnostics[0]).toMatchObject({ code: 'MAP_YAML_SYNTAX', severity: 'error', rule: { line: 4, column: 11 } });
  });

  it('reports aliases that name no earlier anchor or contain themselves, at the alias', async () => {
    const later = await load(`${callRule(' { status: *done }')}  - id: other\n    resourceType: Communication\n    key: =IncidentId\n    template: { status: &done completed }\n`);
    expect(later.mapping).toBeUndefined();
    expect(later.diagnostics).toEqual([
      expect.objectContaining({ code: 'MAP_YAML_SYNTAX', message: expect.stringContaining('*done names no anchor &done before it'), rule: expect.objectContaining({ line: 11, column: 25 }) }),
    ]);
    const cyclic = await load(callRule(' &self { contained: [*self] }'));
    expect(cyclic.diagnostics).toEqual([
      expect.objectContaining({ code: 'MAP_YAML_SYNTAX', message: expect.stringContaining('inside the node anchored &self'), rule: expect.objectContaining({ line: 11, column: 35 }) }),
    ]);
    const earlier = await load(`cadmap: 1\nid: demo\n${minimalSource}resources:\n  - id: call\n    resourceType: Communication\n    key: =IncidentId\n    template: &t { status: completed }\n  - id: again\n    resourceType: Communication\n    key: =IncidentId\n    template: *t\n`);
    expect(earlier.diagnostics).toEqual([]);
    // the copy keeps the anchored text's position
    expect(earlier.mapping?.rules[1]?.template).toMatchObject({ kind: 'literal', value: { status: 'completed' }, span: { line: 11, column: 18 } });
    expect(earlier.mapping?.rules[0]?.template).toMatchObject({ kind: 'literal', value: { status: 'completed' } });
  });

  it("evaluates a rule's forEach of constants once, unless it reports", async () => {
    const { mapping, diagnostics } = await load(`cadmap: 1
id: demo
constants: { one: A, two: B }
lookups:
  orgs: { entries: { A: X } }
${minimalSource}resources:
  - id: org
    resourceType: Organization
    forEach: =(%one | %two)
    key: =$this
    template: { name: =$this }
  - id: translated
    resourceType: Organization
    forEach: =%two.translate('orgs')
    key: =$this
    template: { name: =$this }
`);
    expect(diagnostics).toEqual([]);
    const [constant, reporting] = mapping!.rules;
    const reports: unknown[] = [];
    const sink = { report: (report: unknown) => reports.push(report) };
    const vars = { ...mapping!.constants, record: {} };
    const once = constant!.forEach!.evaluate({ IncidentId: '1' }, vars, sink);
    expect(once).toEqual(['A', 'B']);
    expect(constant!.forEach!.evaluate({ IncidentId: '2' }, vars, sink)).toBe(once);
    // B has no entry in the lookup: reported on every evaluation, so not folded
    expect(reporting!.forEach!.evaluate({ IncidentId: '1' }, vars, sink)).toEqual([]);
    expect(reporting!.forEach!.evaluate({ IncidentId: '2' }, vars, sink)).toEqual([]);
    expect(reports).toEqual([expect.objectContaining({ code: 'MAP_LOOKUP_MISS' }), expect.objectContaining({ code: 'MAP_LOOKUP_MISS' })]);
  });

  it('reports keys that are lists or maps at the key, without a process warning', async () => {
    const warnings: unknown[] = [];
    const onWarning = (warning: unknown): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const { mapping, diagnostics } = await load(`cadmap: 1\nid: demo\nconstants:\n  [a, b]: 1\n  ? { c: d }\n  : 2\n  x: &list [e]\n  *list : 3\n${minimalSource}resources: []\n`);
      expect(mapping).toBeUndefined();
      expect(diagnostics.map((d) => [d.code, d.message, d.rule?.line, d.rule?.column])).toEqual([
        ['MAP_YAML_SYNTAX', 'YAML: a key here is a list; keys of a mapping must be plain names.', 4, 3],
        ['MAP_YAML_SYNTAX', 'YAML: a key here is a map; keys of a mapping must be plain names.', 5, 5],
        ['MAP_YAML_SYNTAX', 'YAML: a key here is a list; keys of a mapping must be plain names.', 8, 3],
      ]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('reads tagged values as the text written and warns at the tag', async () => {
    const { mapping, diagnostics } = await load(
      callRule(`
      sent: !!timestamp 2001-12-14
      payload: [{ contentString: !!binary cjJi }]
      !!binary cjJi: x
      note: !local text`),
    );
    expect(mapping?.rules[0]?.template).toMatchObject({ kind: 'literal', value: { sent: '2001-12-14', payload: [{ contentString: 'cjJi' }], cjJi: 'x', note: 'text' } });
    expect(diagnostics.map((d) => [d.code, d.severity, d.rule?.line, d.rule?.column])).toEqual([
      ['MAP_YAML_SYNTAX', 'warning', 12, 13],
      ['MAP_YAML_SYNTAX', 'warning', 13, 34],
      ['MAP_YAML_SYNTAX', 'warning', 14, 7],
      ['MAP_YAML_SYNTAX', 'warning', 15, 13],
    ]);
    expect(diagnostics[0]?.hint).toMatch(/remove the tag/);
  });

  it('reads key parts and the bundle type that depend only on constants once, as text', async () => {
    const { mapping, diagnostics } = await load(`cadmap: 1
id: demo
constants: { kind: collection, site: 7, empty: '' }
${minimalSource}bundle:
  type: =%kind
resources:
  - id: call
    resourceType: Communication
    key: [=IncidentId, =%site, =%empty]
    template: { status: completed }
`);
    expect(diagnostics).toEqual([]);
    expect(mapping?.bundle.type).toEqual({ kind: 'literal', value: 'collection' });
    // an empty constant stays an expression, so an empty key is still reported on every record
    expect(mapping?.rules[0]?.key.map((part) => (part.kind === 'literal' ? part.value : part.expression.text))).toEqual(['IncidentId', '7', '%empty']);
  });

  it('refuses aliases that expand past the limit (an alias bomb)', async () => {
    const row = (name: string, of: string): string => `${name}: &${name} [${Array.from({ length: 10 }, () => `*${of}`).join(', ')}]`;
    const { mapping, diagnostics } = await load(`x: &a [1, 2]\n${row('b', 'a')}\n${row('c', 'b')}\n${row('d', 'c')}\ncadmap: 1\n`);
    expect(mapping).toBeUndefined();
    expect(diagnostics).toEqual([expect.objectContaining({ code: 'MAP_YAML_SYNTAX', message: expect.stringContaining('Excessive alias count'), hint: expect.stringContaining('more than 100 copies') })]);
  });

  it('explains a comma inside a flow mapping', async () => {
    const { diagnostics } = await load(`cadmap: 1
id: demo
${minimalSource}resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    template:
      subject: { reference: =ref('call', %record.IncidentId, X) }
`);
    expect(diagnostics[0]).toMatchObject({ code: 'MAP_YAML_SYNTAX', rule: { line: 12, column: 42 } });
    expect(diagnostics[0]?.hint).toMatch(/quote expressions that contain commas/);
  });

  it('points an unknown key at its own line and suggests the intended one', async () => {
    const { diagnostics } = await load(`cadmap: 1
id: demo
${minimalSource}resources:
  - id: call
    resourceType: Communication
    kee: =IncidentId
    template: {}
`);
    const unknown = diagnostics.find((d) => d.message.includes("'kee'"));
    expect(unknown).toMatchObject({ code: 'MAP_SCHEMA', rule: { line: 10, column: 5, yamlPath: 'resources[0].kee' } });
    expect(unknown?.hint).toMatch(/Did you mean 'key'\?/);
    expect(diagnostics.some((d) => d.message.includes("Missing required key 'key'"))).toBe(true);
  });

  it('rejects an unsupported language version with MAP_VERSION', async () => {
    const { diagnostics } = await load(`cadmap: 2\nid: demo\n${minimalSource}resources: []\n`);
    expect(diagnostics.find((d) => d.code === 'MAP_VERSION')).toMatchObject({ rule: { line: 1, column: 9 } });
  });

  it('places expression errors inside the YAML line', async () => {
    const { diagnostics } = await load(`cadmap: 1
id: demo
${minimalSource}resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    template:
      sent: =CallConnected.dateTme()
`);
    const error = diagnostics.find((d) => d.code === 'MAP_UNKNOWN_FUNCTION');
    expect(error?.rule).toMatchObject({ line: 12, ruleId: 'call' });
    expect(error?.rule?.column).toBeGreaterThanOrEqual(14);
    expect(error?.hint).toMatch(/dateTime/);
  });

  it('reports duplicate rule ids, unknown rules in ref() and unknown %variables', async () => {
    const { diagnostics } = await load(`cadmap: 1
id: demo
${minimalSource}resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    template:
      sender:
        reference: =ref('org', %submitter)
  - id: call
    resourceType: Encounter
    key: =IncidentId
    template: { status: finished }
`);
    const codes = diagnostics.map((d) => d.code).sort();
    expect(codes).toEqual(['MAP_DUPLICATE_ID', 'MAP_UNKNOWN_RULE', 'MAP_UNKNOWN_VARIABLE']);
  });

  it('merges constants and lookups from imports, the mapping overriding them', async () => {
    const { mapping, diagnostics } = await load(
      `cadmap: 1
id: demo
imports: [common/base.yaml]
constants: { b: from-mapping }
${minimalSource}resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    template: { status: =%a, note: [{ text: =%b }] }
`,
      {
        'common/base.yaml': 'constants: { a: from-import, b: from-import }\nlookups:\n  origin:\n    file: origin.csv\n',
        'common/origin.csv': 'source,code,display\n999,01,999\n',
      },
    );
    expect(diagnostics).toEqual([]);
    expect(mapping?.constants).toMatchObject({ a: 'from-import', b: 'from-mapping' });
    expect(mapping?.lookups.get('origin')?.entries.get('999')).toMatchObject({ code: '01' });
  });

  it('reports a missing import and an import cycle', async () => {
    const missing = await load(`cadmap: 1\nid: demo\nimports: [nope.yaml]\n${minimalSource}resources:\n  - { id: c, resourceType: Communication, key: =IncidentId, template: {} }\n`);
    expect(missing.diagnostics.find((d) => d.code === 'MAP_FILE_UNREADABLE')).toMatchObject({ rule: { line: 3 } });
    const cycle = await load(`cadmap: 1\nid: demo\nimports: [a.yaml]\n${minimalSource}resources:\n  - { id: c, resourceType: Communication, key: =IncidentId, template: {} }\n`, {
      'a.yaml': 'imports: [b.yaml]\n',
      'b.yaml': 'imports: [a.yaml]\n',
    });
    expect(cycle.diagnostics.some((d) => d.message.startsWith('Import cycle'))).toBe(true);
  });

  it('checks CSV table structure', async () => {
    const { diagnostics } = await load(`cadmap: 1
id: demo
source:
  format: csv
  tables:
    calls: { files: "a.csv" }
    resources: { files: "b.csv", parent: nowhere, on: { A: B } }
resources:
  - { id: c, resourceType: Communication, key: =IncidentId, template: {} }
`);
    expect(diagnostics.map((d) => d.code).sort()).toEqual(['MAP_SCHEMA', 'MAP_UNKNOWN_TABLE']);
  });

  it('rejects unknown time zones', async () => {
    const { diagnostics } = await load(`cadmap: 1\nid: demo\nsource:\n  format: ndjson\n  timeZone: Europe/Londn\nresources:\n  - { id: c, resourceType: Communication, key: =id, template: {} }\n`);
    expect(diagnostics[0]).toMatchObject({ code: 'MAP_TIME_ZONE', rule: { line: 5 } });
  });
});
