import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureTree, normalisePaths } from './support/fixtures.js';
import { runCli } from './support/cli.js';

const mapping = `cadmap: 1
id: cli-demo
lookups:
  origin:
    system: https://fhir.nhs.uk/R4/CodeSystem/Ambulance-CallOrigin
    entries: { "999": { code: "01", display: "999" }, "111": "02" }
source:
  format: csv
  dateFormats: ["dd/MM/yyyy HH:mm:ss"]
  tables:
    calls: { files: "*_calls.csv", key: IncidentId }
    patients: { files: "*_patients.csv", parent: calls, on: { IncidentId: IncidentId } }
resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    template:
      status: completed
      sent: =CallConnected.dateTime()
      extension:
        - url: https://example.org/CallOrigin
          valueCodeableConcept:
            coding: [=Origin.coding('origin')]
      about:
        - $forEach: =patients
          reference: =ref('encounter', %record.IncidentId, PatientNo)
  - id: encounter
    resourceType: Encounter
    forEach: =patients
    key: [=%record.IncidentId, =PatientNo]
    template:
      status: finished
`;

function project(calls: string) {
  return fixtureTree({
    'm.yaml': mapping,
    'x_calls.csv': calls,
    'x_patients.csv': 'IncidentId,PatientNo\n1001,1\n1001,2\n1002,1\n',
  });
}

const goodCalls = 'IncidentId,CallConnected,Origin\n1001,01/06/2024 10:00:00,999\n1002,01/06/2024 11:30:00,111\n';

describe('cadmap map', () => {
  it('maps to NDJSON and exits 0 when every record maps', () => {
    const dir = project(goodCalls);
    const { code, stderr } = runCli(['map', '-m', 'm.yaml', 'x_calls.csv', 'x_patients.csv', '--out', 'out.ndjson'], { cwd: dir });
    expect(stderr).toMatch(/2 records: 2 mapped \(5 entries\), 0 failed/);
    expect(code).toBe(0);
    const lines = readFileSync(join(dir, 'out.ndjson'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const bundle = JSON.parse(lines[0]!);
    expect(bundle.entry[0].resource.sent).toBe('2024-06-01T10:00:00+01:00');
    expect(bundle.entry[0].resource.about.map((a: { reference: string }) => a.reference)).toEqual([bundle.entry[1].fullUrl, bundle.entry[2].fullUrl]);
    expect(existsSync(join(dir, 'out.ndjson.dead-letter.ndjson'))).toBe(false);
  });

  it('is deterministic: the same input gives byte-identical output', () => {
    const dir = project(goodCalls);
    runCli(['map', '-m', 'm.yaml', dir, '--out', 'a.ndjson'], { cwd: dir });
    runCli(['map', '-m', 'm.yaml', dir, '--out', 'b.ndjson'], { cwd: dir });
    expect(readFileSync(join(dir, 'a.ndjson'))).toEqual(readFileSync(join(dir, 'b.ndjson')));
  });

  it('sends a failing record to the dead letter with its raw row and carries on (exit 1)', () => {
    const dir = project('IncidentId,CallConnected,Origin\n1001,32/13/2024 10:00:00,999\n1002,01/06/2024 11:30:00,111\n');
    const { code, stderr } = runCli(['map', '-m', 'm.yaml', 'x_calls.csv', 'x_patients.csv', '--out', 'out.ndjson'], { cwd: dir });
    expect(code).toBe(1);
    expect(normalisePaths(stderr, dir)).toContain("error MAP_DATE_UNPARSEABLE");
    expect(stderr).toMatch(/--> m\.yaml:19:14 \(rule 'call', resources\[0\]\.template\.sent\)/);
    expect(stderr).toMatch(/--> x_calls\.csv:2 \(table calls, row 1, column 2 'CallConnected', record 1001\)/);
    expect(stderr).toContain('   2 | 1001,32/13/2024 10:00:00,999');
    const dead = readFileSync(join(dir, 'out.ndjson.dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dead).toHaveLength(1);
    expect(dead[0].key).toBe('1001');
    expect(dead[0].raw.calls).toEqual(['1001,32/13/2024 10:00:00,999']);
    expect(dead[0].raw.patients).toEqual(['1001,1', '1001,2']);
    expect(dead[0].diagnostics[0].code).toBe('MAP_DATE_UNPARSEABLE');
    expect(readFileSync(join(dir, 'out.ndjson'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 with a coded error for a mapping error and maps nothing', () => {
    const dir = project(goodCalls);
    const broken = fixtureTree({ 'bad.yaml': mapping.replace('key: =IncidentId', 'key: =IncidentId.nope()') });
    const { code, stderr } = runCli(['map', '-m', join(broken, 'bad.yaml'), 'x_calls.csv', 'x_patients.csv', '--out', 'out.ndjson'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/MAP_UNKNOWN_FUNCTION/);
    expect(existsSync(join(dir, 'out.ndjson'))).toBe(false);
  });

  it('exits 2 when the mapping reads a column the file lacks', () => {
    const dir = project('IncidentId,Connected,Origin\n1001,01/06/2024 10:00:00,999\n');
    const { code, stderr } = runCli(['map', '-m', 'm.yaml', 'x_calls.csv', 'x_patients.csv'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/MAP_UNKNOWN_COLUMN.*'CallConnected'/);
    expect(stderr).toMatch(/hint/);
  });

  it('writes one file per bundle with --out-dir and a JSON report with --json', () => {
    const dir = project(goodCalls);
    const { code, stdout } = runCli(['map', '-m', 'm.yaml', 'x_calls.csv', 'x_patients.csv', '--out-dir', 'bundles', '--json'], { cwd: dir });
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.summary).toMatchObject({ records: 2, mapped: 2, failed: 0 });
    expect(JSON.parse(readFileSync(join(dir, 'bundles/1001.json'), 'utf8')).resourceType).toBe('Bundle');
  });

  it('answers usage errors with exit 2 and help', () => {
    const { code, stderr } = runCli(['map', '--mapping', 'x.yaml']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/No input files given/);
    expect(runCli(['frobnicate']).code).toBe(2);
    expect(runCli(['map', '--nope']).stderr).toMatch(/Unknown option/);
    const dir = project(goodCalls);
    for (const command of ['map', 'submit']) {
      const limit = runCli([command, '-m', 'm.yaml', 'x_calls.csv', '--max-diagnostics', 'lots'], { cwd: dir });
      expect([command, limit.code, limit.stderr]).toEqual([command, 2, expect.stringMatching(/--max-diagnostics takes a whole number/)]);
    }
  });
});

describe('cadmap lint', () => {
  it('passes a good mapping and reports problems in a bad one with positions', () => {
    const dir = project(goodCalls);
    expect(runCli(['lint', 'm.yaml'], { cwd: dir }).code).toBe(0);
    const bad = fixtureTree({ 'bad.yaml': mapping.replace('status: finished', 'status: =%nothing') });
    const { code, stderr } = runCli(['lint', 'bad.yaml'], { cwd: bad });
    expect(code).toBe(2);
    expect(stderr).toMatch(/MAP_UNKNOWN_VARIABLE/);
    expect(stderr).toMatch(/bad\.yaml:32:\d+/);
  });

  it('checks columns against given inputs', () => {
    const dir = project('IncidentId,Connected,Origin\n');
    const { code, stderr } = runCli(['lint', 'm.yaml', 'x_calls.csv', 'x_patients.csv'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/Did you mean 'Connected'/);
  });
});

describe('cadmap explain', () => {
  it('shows which rule and cell produced each element of one record', () => {
    const dir = project(goodCalls);
    const { code, stdout } = runCli(['explain', '-m', 'm.yaml', 'x_calls.csv', 'x_patients.csv', '--record', '1001'], { cwd: dir });
    expect(code).toBe(0);
    expect(stdout).toMatch(/Bundle\.entry\[0\]: Communication \(rule 'call'\)/);
    expect(stdout).toMatch(/\.sent = "2024-06-01T10:00:00\+01:00"\n\s+← m\.yaml:19:14 .*CallConnected\.dateTime\(\)\n\s+← x_calls\.csv:2 \(table calls, row 1, column 2 'CallConnected', record 1001\) = "01\/06\/2024 10:00:00"/);
  });

  it('says which keys exist when the record is not found', () => {
    const dir = project(goodCalls);
    const { code, stderr } = runCli(['explain', '-m', 'm.yaml', dir, '--record', 'nope'], { cwd: dir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/First keys in the input: 1001, 1002/);
  });
});

describe('cadmap test', () => {
  function mappingDir() {
    return fixtureTree({
      'mapping.yaml': mapping,
      'tests/one/input/x_calls.csv': goodCalls,
      'tests/one/input/x_patients.csv': 'IncidentId,PatientNo\n1001,1\n1002,1\n',
    });
  }

  it('records golden output with --update, then passes', () => {
    const dir = mappingDir();
    expect(runCli(['test', dir, '--update']).stdout).toMatch(/✓ one: updated \(2 bundles/);
    const { code, stdout } = runCli(['test', dir]);
    expect(stdout).toMatch(/✓ one: 2 bundles, 0 diagnostics as expected\n1 passed, 0 failed/);
    expect(code).toBe(0);
  });

  it('fails with a readable diff when the output changes', () => {
    const dir = mappingDir();
    runCli(['test', dir, '--update']);
    const edited = mapping.replace('status: completed', 'status: in-progress');
    writeFileSync(join(dir, 'mapping.yaml'), edited);
    const { code, stdout } = runCli(['test', dir]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/✗ one: 2 of 2 bundles differ/);
    expect(stdout).toMatch(/-\s+"status": "completed",\n\s+\+\s+"status": "in-progress",/);
  });
});

describe('provenance', () => {
  it('writes where every element came from with --provenance', () => {
    const dir = project(goodCalls);
    const { code } = runCli(['map', '-m', 'm.yaml', dir, '--out', 'out.ndjson', '--provenance', 'prov.ndjson'], { cwd: dir });
    expect(code).toBe(0);
    const first = JSON.parse(readFileSync(join(dir, 'prov.ndjson'), 'utf8').split('\n')[0]!);
    const sent = first.provenance.find((p: { expression: string }) => p.expression === 'Bundle.entry[0].resource.sent');
    expect(sent.rule).toMatchObject({ line: 19, column: 14, ruleId: 'call' });
    expect(sent.inputs[0]).toMatchObject({ table: 'calls', row: 1, field: 'CallConnected', fieldIndex: 2, recordKey: '1001' });
    expect(sent.inputValues).toEqual(['01/06/2024 10:00:00']);
  });
});
