import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePathwaysXml, cqiEncoder } from '@cadmap/adapter-cqi';
import { startCqiSandbox, type CqiSandbox } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { cqiCommand } from './cqi.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const mapping = join(root, 'mappings/pathways-cqi/mapping.yaml');
const sample = join(root, 'mappings/pathways-cqi/sample');
const flawed = join(root, 'mappings/pathways-cqi/tests/flawed/input');

function captureIo(cwd: string, env: Record<string, string | undefined> = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return { cwd, env, stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, out: () => out, err: () => err };
}

let dir: string;
let sandbox: CqiSandbox;
const secret = 'dG9wLXNlY3JldA==';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cadmap-cqi-cli-'));
  sandbox = await startCqiSandbox({ decodeXml: decodePathwaysXml, credentials: { header: 'X-Example-Credentials', value: `Basic ${secret}` } });
  const client = await sandbox.issueClient('cli-test');
  writeFileSync(join(dir, 'client.pem'), client.cert);
  writeFileSync(join(dir, 'client.key'), client.key);
  writeFileSync(join(dir, 'ca.pem'), sandbox.ca.cert);
  writeFileSync(
    join(dir, 'cadmap.config.yaml'),
    `cqi:\n  environment: uat\n  baseUrls: { uat: ${sandbox.url} }\n  format: xml\n  certificateFile: client.pem\n  keyFile: client.key\n  caFile: ca.pem\n  credentials: { header: X-Example-Credentials, scheme: Basic }\n  queue: queue/cqi.sqlite\n`,
  );
});
afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cadmap cqi', () => {
  it('map: runs the Pathways sample mapping to NDJSON cases', async () => {
    const io = captureIo(dir);
    const code = await cqiCommand(io, ['map', '--mapping', mapping, sample, '-o', 'cases.ndjson', '--no-color']);
    expect(code).toBe(0);
    const cases = readFileSync(join(dir, 'cases.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { schemaVersion: string });
    expect(cases).toHaveLength(22);
    expect(cases.every((c) => c.schemaVersion === 'cqi-case/1.0.0')).toBe(true);
    expect(io.err()).toMatch(/1 × warning\s+CQI_DX_CODE/);
  });

  it('map: fails a case that breaks an invariant, pointing at the mapping rule and the XML element', async () => {
    const io = captureIo(dir);
    expect(await cqiCommand(io, ['map', '--mapping', mapping, flawed, '-o', 'flawed.ndjson', '--no-color'])).toBe(1);
    expect(io.err()).toMatch(/error CQI_LINE_TIME_ORDER: Case [0-9a-f-]+, line 3 \(sequence 3\): time out/);
    expect(io.err()).toContain('mappings/pathways-cqi/mapping.yaml:74:19');
    expect(io.err()).toMatch(/flawed_1_line-time-order\.xml:121:9/);
    expect(io.err()).toMatch(/error CQI_TRIAGE_TIME_ORDER/);
  });

  it('map: refuses a mapping that builds bundles', async () => {
    await expect(cqiCommand(captureIo(dir), ['map', '--mapping', join(root, 'mappings/harbour-xml/mapping.yaml'), sample])).rejects.toThrow(/not CQI cases/);
  });

  it('check: validates JSON, NDJSON and XML case files with coded, located diagnostics', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test breaks the types on purpose
    const [first, second] = readFileSync(join(dir, 'cases.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    const broken = structuredClone(second!);
    broken.case.triageEnd = '2000-01-01T00:00:00Z';
    writeFileSync(join(dir, 'check.ndjson'), `${JSON.stringify(first)}\n${JSON.stringify(broken)}\n`);
    writeFileSync(join(dir, 'one.xml'), cqiEncoder('xml').encode(first).body!);
    writeFileSync(join(dir, 'bad.json'), '{ "schemaVersion": ');
    const io = captureIo(dir);
    const code = await cqiCommand(io, ['check', 'check.ndjson', 'one.xml', 'bad.json', '--no-color']);
    expect(code).toBe(1);
    expect(io.err()).toMatch(/error CQI_TRIAGE_TIME_ORDER: Case [0-9a-f-]+: triage ends \(2000-01-01T00:00:00Z\) before it starts/);
    expect(io.err()).toContain('check.ndjson:2');
    expect(io.err()).toMatch(/error CQI_WIRE_SYNTAX: .*bad\.json is not JSON/);
    expect(io.err()).toContain('4 cases: 2 valid, 2 with errors');
    const json = captureIo(dir);
    await cqiCommand(json, ['check', 'one.xml', '--json']);
    expect(JSON.parse(json.out())).toMatchObject({ cases: 1, valid: 1, invalid: 0 });
  });

  it('submit: queues while the service is closed, keeps the queue across runs and delivers once open; never prints the secret', async () => {
    const env = { CADMAP_CQI_CREDENTIALS: secret };
    await sandbox.setAvailability('closed-503');
    const closed = captureIo(dir, env);
    expect(await cqiCommand(closed, ['submit', 'cases.ndjson', '--no-color'])).toBe(3);
    expect(closed.err()).toContain('22 cases read (0 invalid, not queued); 0 delivered, 0 rejected, 22 still queued');
    expect(closed.err()).toMatch(/CQI_UNAVAILABLE/);

    await sandbox.setAvailability('closed-refused');
    const refused = captureIo(dir, env);
    expect(await cqiCommand(refused, ['submit', '--no-color'])).toBe(3);
    expect(refused.err()).toContain('22 still queued');

    await sandbox.setAvailability('open');
    const open = captureIo(dir, env);
    expect(await cqiCommand(open, ['submit', '--no-color'])).toBe(0);
    expect(open.out().match(/^✓ .*: delivered$/gm)).toHaveLength(22);
    expect(open.err()).toContain('0 cases read (0 invalid, not queued); 22 delivered, 0 rejected, 0 still queued');
    expect(sandbox.accepted.map((a) => a.mediaType)).toEqual(Array(22).fill('application/xml'));
    for (const io of [closed, refused, open]) {
      expect(io.out() + io.err()).not.toContain(secret);
    }
  });

  it('submit: reports configuration problems as usage errors', async () => {
    await expect(cqiCommand(captureIo(dir, {}), ['submit'])).rejects.toThrow(/CADMAP_CQI_CREDENTIALS/);
    await expect(cqiCommand(captureIo(dir, { CADMAP_CQI_CREDENTIALS: secret }), ['submit', '--environment', 'prod'])).rejects.toThrow(/uat or live/);
    const io = captureIo(dir, { CADMAP_CQI_CREDENTIALS: secret });
    expect(await cqiCommand(io, ['submit', '--environment', 'live', '--no-color'])).toBe(2);
    expect(io.err()).toMatch(/CQI_CONFIG: No base URL for the live CQI environment/);
  });

  it('sandbox: writes a config that submit can use as is', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const io = captureIo(dir);
    const running = cqiCommand(io, ['sandbox', '--dir', 'sbx'], { untilStopped: () => stopped });
    while (!io.err().includes('Stop with Ctrl-C')) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const credential = /CADMAP_CQI_CREDENTIALS=(\S+)/.exec(io.err())![1]!;
    const submit = captureIo(dir, { CADMAP_CQI_CREDENTIALS: credential });
    expect(await cqiCommand(submit, ['submit', '--config', 'sbx/cadmap.config.yaml', 'one.xml', '--no-color'])).toBe(0);
    expect(submit.out()).toMatch(/✓ .*: delivered/);
    stop();
    expect(await running).toBe(0);
    expect(io.err()).toContain('Stopping: 1 case accepted.');
  });
});
