import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureTree } from './support/fixtures.js';
import { runCli } from './support/cli.js';

/** A one-table CSV mapping: a Patient per call, its NHS number through nhsNumber() and a date through dateTime(). */
const mapping = `cadmap: 1
id: hardening
source:
  format: csv
  dateFormats: ["dd/MM/yyyy HH:mm"]
  tables:
    calls: { files: "calls.csv", key: Id }
resources:
  - id: patient
    resourceType: Patient
    key: =Id
    template:
      identifier:
        - system: https://fhir.nhs.uk/Id/nhs-number
          value: =NhsNo.nhsNumber()
      birthDate: =Born.date()
`;

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('what CAD data and a mapping from someone else cannot do to the operator', () => {
  it('escapes control characters from data in everything printed, and frames the line the CSV reader counted', () => {
    const dir = fixtureTree({
      'm.yaml': mapping,
      // a lone CR ends line 2 as the CSV reader counts lines; the bad date is on line 3
      'calls.csv': `Id,NhsNo,Born\n1,9434765919,01/01/1990 10:00\r2,9434765919,\u001b[2J\u001b]52;c;aGVsbG8=\u0007x\u202e\n`,
    });
    const { code, stderr } = runCli(['map', '-m', 'm.yaml', 'calls.csv', '--out', 'out.ndjson'], { cwd: dir });
    expect(code).toBe(1);
    // eslint-disable-next-line no-control-regex -- no raw control character may reach the terminal
    expect(stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(stderr).toContain('\\u001B[2J');
    expect(stderr).toContain('calls.csv:3');
    expect(stderr).toMatch(/ 3 \| 2,\*{7}919,\\u001B\[2J\\u001B\]52;c;aGVsbG8=\\u0007x\\u202E/);
  });

  it('masks NHS numbers that fail the check digit, and spaced ones, in map --json and explain', () => {
    const dir = fixtureTree({ 'm.yaml': mapping, 'calls.csv': 'Id,NhsNo,Born\n1,99 98 97 04 16,01/01/1990 10:00\n2,99 98 97 04 15,01/01/1990 10:00\n' });
    const json = runCli(['map', '-m', 'm.yaml', 'calls.csv', '--json', '--out', 'out.ndjson'], { cwd: dir });
    const text = runCli(['map', '-m', 'm.yaml', 'calls.csv', '--out', 'out2.ndjson'], { cwd: dir });
    const explained = ['1', '2'].map((record) => runCli(['explain', '-m', 'm.yaml', 'calls.csv', '--record', record], { cwd: dir }));
    const printed = [json, text, ...explained].map((run) => run.stdout + run.stderr).join('\n');
    expect(printed).toContain('*******416');
    expect(printed).toContain('*******415');
    expect(printed).not.toMatch(/99 98 97 04 1[56]|999897041[56]/);
  });

  it('never overwrites one bundle file with another: colliding keys get a stable suffix and a warning', () => {
    const dir = fixtureTree({ 'm.yaml': mapping, 'calls.csv': 'Id,NhsNo,Born\na/b,,\na:b,,\na_b,,\na_b-2,,\nz,,\n' });
    const first = runCli(['map', '-m', 'm.yaml', 'calls.csv', '--out-dir', 'out'], { cwd: dir });
    expect(first.code).toBe(0);
    const files = readdirSync(join(dir, 'out')).sort();
    expect(files).toHaveLength(5);
    expect(files.filter((f) => f.startsWith('a_b~'))).toHaveLength(2);
    expect(first.stderr.match(/is written to a_b~[0-9a-f]{12}\.json: a_b\.json is taken/g)).toHaveLength(2);
    const ids = files.map((f) => (JSON.parse(readFileSync(join(dir, 'out', f), 'utf8')) as { id: string }).id);
    expect(new Set(ids).size).toBe(5);
    // a second run names its files the same way: it replaces each record's own file and nothing else
    writeFileSync(join(dir, 'out', 'z.json'), '{"id":"another record"}');
    const second = runCli(['map', '-m', 'm.yaml', 'calls.csv', '--out-dir', 'out'], { cwd: dir });
    expect(second.code).toBe(0);
    expect(readFileSync(join(dir, 'out', 'z.json'), 'utf8')).toBe('{"id":"another record"}');
    expect(readdirSync(join(dir, 'out')).filter((f) => !files.includes(f))).toEqual([expect.stringMatching(/^z~[0-9a-f]{12}\.json$/)]);
  });

  it('creates bundles and dead letters readable by their owner only, and refuses to write beside a device', () => {
    const dir = fixtureTree({ 'm.yaml': mapping, 'calls.csv': 'Id,NhsNo,Born\n1,9434765919,01/01/1990 10:00\n2,,31/02/1990 10:00\n,,\n' });
    const { code } = runCli(['map', '-m', 'm.yaml', 'calls.csv', '--out', 'new/out.ndjson'], { cwd: dir });
    expect(code).toBe(1);
    expect(mode(join(dir, 'new'))).toBe(0o700);
    expect(mode(join(dir, 'new', 'out.ndjson'))).toBe(0o600);
    expect(mode(join(dir, 'new', 'out.ndjson.dead-letter.ndjson'))).toBe(0o600);
    const device = runCli(['map', '-m', 'm.yaml', 'calls.csv', '-o', '/dev/null'], { cwd: dir });
    expect(device.code).toBe(2);
    expect(device.stderr).toContain('--out /dev/null is not a regular file, so --dead-letter cannot be written beside it');
    expect(existsSync('/dev/null.dead-letter.ndjson')).toBe(false);
    expect(runCli(['map', '-m', 'm.yaml', 'calls.csv', '-o', '/dev/null', '--dead-letter', 'dead.ndjson'], { cwd: dir }).code).toBe(1);
  });

  it('lint refuses files outside the mapping folder and never quotes them', () => {
    const dir = fixtureTree({
      'mine/m.yaml': mapping.replace('source:', 'imports: [../shared.yaml, /etc/passwd.yaml]\nlookups:\n  env: { file: /proc/self/environ }\n  key: { file: ../key.csv }\nsource:'),
      'shared.yaml': 'constants:\n  secret: TOPSECRET-1\n',
      'key.csv': 'TOPSECRET-2\n',
    });
    const { code, stdout, stderr } = runCli(['lint', 'mine/m.yaml'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr.match(/error MAP_FILE_REFUSED/g)).toHaveLength(4);
    expect(stdout + stderr).not.toMatch(/TOPSECRET|root:x:0|PATH=/);
    const widened = runCli(['lint', '--mapping-root', '.', 'mine/m.yaml'], { cwd: dir });
    expect(widened.stderr.match(/error MAP_FILE_REFUSED/g)).toHaveLength(2);
    expect(widened.stdout + widened.stderr).not.toMatch(/TOPSECRET|root:x:0|PATH=/);
  });
});
