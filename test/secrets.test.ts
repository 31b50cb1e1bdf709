import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { decodePathwaysXml } from '@cadmap/adapter-cqi';
import { startCqiSandbox } from '@cadmap/sandbox';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../packages/cli/src/log.js';
import { projectRoot } from './support/fixtures.js';
import { filesUnder, findLeaks, sampleNhsNumbers, type Secret, type Shown } from './support/leaks.js';

/**
 * Secrets and personal data: runs the whole demo (map, check, submit to the local DPS sandbox, poll the local MESH
 * sandbox, reconcile, report) and the CQI flow (map the Pathways samples, check them, submit them to a local CQI
 * sandbox over mutual TLS) with logging at its most verbose (`--log-level debug`), and scans everything meant for a
 * person to read: every log line and message on stdout and stderr, the HTML report, receipts, the ledger as
 * `cadmap status` shows it and a record as `cadmap explain` shows it. No private key, bearer or MESH token, API key, mailbox password, shared key or CQI
 * credential may appear, nor a full NHS number from the sample data (the last three digits at most). Bundles, CQI
 * cases, dead letters, the MESH store and the CQI queue are payloads, not displays, and the sandbox folders hold the
 * secrets themselves: those are not scanned.
 */
const run = promisify(execFile);
const bin = join(projectRoot, 'packages/cli/dist/bin.js');
const out = mkdtempSync(join(tmpdir(), 'cadmap-secrets-'));
const cqiDir = mkdtempSync(join(tmpdir(), 'cadmap-secrets-cqi-'));
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(cqiDir, { recursive: true, force: true });
});

const shown: Shown[] = [];
let secrets: Secret[] = [];
let demoLog = '';
let cqiLog = '';
const numbers = sampleNhsNumbers();
const debugEnv = { ...process.env, CADMAP_LOG: 'debug', NO_COLOR: '1' };

function cadmap(args: readonly string[], env: NodeJS.ProcessEnv = debugEnv): { status: number | null; text: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: projectRoot, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, text: result.stdout + result.stderr };
}

/** Maps the Pathways samples to CQI cases, checks them and submits them to a local CQI sandbox, all at debug level. */
async function cqiFlow(): Promise<Secret[]> {
  const credential = randomBytes(18).toString('base64');
  const sandbox = await startCqiSandbox({ decodeXml: decodePathwaysXml, credentials: { header: 'X-CQI-Credentials', value: `Basic ${credential}` } });
  try {
    const client = await sandbox.issueClient('cadmap-secrets-test');
    const secretsDir = join(cqiDir, 'secrets');
    mkdirSync(secretsDir);
    writeFileSync(join(secretsDir, 'client.pem'), client.cert);
    writeFileSync(join(secretsDir, 'client.key'), client.key);
    writeFileSync(join(secretsDir, 'ca.pem'), sandbox.ca.cert);
    const config = join(secretsDir, 'cadmap.config.yaml');
    writeFileSync(config, `cqi:\n  environment: uat\n  baseUrls: { uat: ${sandbox.url} }\n  format: xml\n  certificateFile: client.pem\n  keyFile: client.key\n  caFile: ca.pem\n  credentials: { header: X-CQI-Credentials, scheme: Basic }\n  queue: ${join(cqiDir, 'cqi-queue.sqlite')}\n`);
    const cases = join(cqiDir, 'cases.ndjson');
    const mapped = cadmap(['cqi', 'map', '--log-level', 'debug', '--mapping', join(projectRoot, 'mappings/pathways-cqi/mapping.yaml'), join(projectRoot, 'mappings/pathways-cqi/sample'), '-o', cases]);
    shown.push({ where: 'cadmap cqi map', text: mapped.text });
    const checked = cadmap(['cqi', 'check', '--log-level', 'debug', cases]);
    shown.push({ where: 'cadmap cqi check', text: checked.text });
    // the sandbox runs in this process: the submitter must not block the event loop
    const submitted = await run(process.execPath, [bin, 'cqi', 'submit', '--log-level', 'debug', '--config', config, cases], { cwd: projectRoot, env: { ...debugEnv, CADMAP_CQI_CREDENTIALS: credential }, maxBuffer: 64 * 1024 * 1024 });
    cqiLog = submitted.stdout + submitted.stderr;
    shown.push({ where: 'cadmap cqi submit', text: cqiLog });
    expect(sandbox.accepted.length).toBeGreaterThan(0);
    return [
      { name: 'CQI credential', value: credential },
      { name: 'CQI client key body', value: client.key.split('\n').slice(1, 2).join('') },
    ];
  } finally {
    await sandbox.close();
  }
}

beforeAll(async () => {
  const demo = spawnSync(process.execPath, [join(projectRoot, 'scripts/demo.mjs'), '--out', out, '--log-level', 'debug'], { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  expect(demo.status, demo.stderr).toBe(0);
  demoLog = demo.stderr;
  shown.push({ where: 'demo stdout', text: demo.stdout }, { where: 'demo stderr', text: demo.stderr });
  const ledgerFile = join(out, 'cadmap-ledger.sqlite');
  shown.push({ where: 'cadmap status --json', text: cadmap(['status', '--ledger', ledgerFile, '--json']).text });
  shown.push({ where: 'cadmap status', text: cadmap(['status', '--ledger', ledgerFile]).text });
  const ledger = new Database(ledgerFile, { readonly: true });
  const keys = ledger.prepare("select record_key as key from records where state = 'rejected' limit 4").all() as { key: string }[];
  keys.push(...(ledger.prepare("select record_key as key from records where state = 'accepted' limit 2").all() as { key: string }[]));
  ledger.close();
  for (const { key } of keys) {
    shown.push({ where: `cadmap status --record ${key} --json`, text: cadmap(['status', '--ledger', ledgerFile, '--record', key, '--json']).text });
  }
  // the demo's closing hint: explain one record, element by element, with the source cells
  shown.push({ where: 'cadmap explain', text: cadmap(['explain', '--mapping', join(projectRoot, 'mappings/northwind-csv/mapping.yaml'), join(projectRoot, 'mappings/northwind-csv/sample'), '--record', '24000139']).text });
  shown.push({ where: 'cadmap report (stderr)', text: cadmap(['report', '--ledger', ledgerFile, '--out', join(out, 'again-report.html')]).text });
  for (const path of filesUnder(out)) {
    const name = relative(out, path);
    const payload = name.startsWith('sandbox/') || name.startsWith('mesh-store/') || name.endsWith('.sqlite') || (/^[a-z-]+(\.dead-letter)?\.ndjson$/.test(name) && !name.includes('receipts'));
    if (!payload) {
      shown.push({ where: name, text: readFileSync(path, 'utf8') });
    }
  }
  const sandbox = join(out, 'sandbox');
  const config = readFileSync(join(sandbox, 'cadmap.config.yaml'), 'utf8');
  secrets = [
    { name: 'mailbox password', value: readFileSync(join(sandbox, 'mailbox-password'), 'utf8').trim() },
    { name: 'MESH shared key', value: readFileSync(join(sandbox, 'shared-key'), 'utf8').trim() },
    { name: 'DPS API key', value: /apiKey: (\S+)/.exec(config)?.[1] ?? '' },
    ...['dps-key.pem', 'client.key'].map((file) => ({ name: `${file} body`, value: readFileSync(join(sandbox, file), 'utf8').split('\n').slice(1, 2).join('') })),
    ...(await cqiFlow()),
  ];
}, 300_000);

describe('the demo and the CQI flow, logged at debug level, show no secrets and no full NHS numbers', () => {
  it('scans stdout, stderr, the report, receipts and the ledger view', () => {
    expect(shown.map((s) => s.where)).toEqual(expect.arrayContaining(['demo stdout', 'demo stderr', 'cadmap-report.html', 'again-report.html', 'cadmap status --json', 'dps-receipts.ndjson', 'cadmap cqi submit']));
    expect(shown.filter((s) => s.where.startsWith('cadmap status --record'))).toHaveLength(6);
    expect(shown.find((s) => s.where.startsWith('cadmap status --record'))?.text).toContain('"submissions"');
    expect(secrets).toHaveLength(7);
    expect(secrets.every((s) => s.value.length >= 8)).toBe(true);
  });

  it('logged at debug level: every DPS, MESH and CQI request, the ledger transitions and the mapping progress', () => {
    for (const line of [
      /INFO {2}dps: access token obtained status=200/,
      /DEBUG dps: POST https:\/\/127\.0\.0\.1:\d+\/ambulance-data-submission\/\$process-message key=\S+ bundleId=\S+ attempt=1 requestId=\S+/,
      /DEBUG dps: POST \S+ answered 20\d key=\S+ attempt=1/,
      /DEBUG mesh: GET \/messageexchange\/TRUST01\/inbox attempt=1/,
      /INFO {2}mesh: downloaded message \S+ messageType=DATA workflowId=DPS_ERR_DEMO fileName=\S+/,
      /INFO {2}mesh: acknowledged message \S+/,
      /DEBUG ledger: record \S+: sending reason=new send=true submission=\d+/,
      /DEBUG ledger: record \S+: submission \d+ accepted receipt=\S+/,
      /DEBUG ledger: DPS error linked to record \d+: rejected/,
      /DEBUG map: record \S+: mapped file=\S+ row=1/,
      /INFO {2}map: \S+: 64 record\(s\) mapped=64/,
    ]) {
      expect(demoLog).toMatch(line);
    }
    expect(demoLog.match(/ DEBUG /g)?.length ?? 0).toBeGreaterThan(500);
    expect(cqiLog).toMatch(/DEBUG cqi: POST https:\/\/127\.0\.0\.1:\d+\/api\/v1\/cqiCase attempt=1 bytes=\d+/);
    expect(cqiLog).toMatch(/INFO {2}cqi: queue: case \S+ delivered/);
  });

  it('holds no private-key PEM block, bearer or MESH token, JWT, secret value or full sample NHS number', () => {
    expect(numbers.size).toBeGreaterThan(0);
    expect(findLeaks(shown, secrets, numbers)).toEqual([]);
  });

  it('masks NHS numbers to their last three digits where they are shown', () => {
    const explained = shown.find((s) => s.where === 'cadmap explain')?.text ?? '';
    expect(explained).toMatch(/\.resource\.identifier\[0\]\.value = "\*{7}415"/);
  });

  it('could see leaks: the payloads, which are not scanned, do carry the sample NHS numbers', () => {
    const bundles = readdirSync(out).filter((name) => /^[a-z-]+\.ndjson$/.test(name) && !name.includes('receipts'));
    const carried = bundles.some((name) => [...numbers].some((n) => readFileSync(join(out, name), 'utf8').includes(n)));
    expect(carried).toBe(true);
  });
});

describe('the scan', () => {
  it('catches a secret, a token, a key and an NHS number logged without redaction, and none once redacted', () => {
    const secret = { name: 'mailbox password', value: 'leaky-mailbox-password' };
    const nhs = [...numbers][0]!;
    const message = `login with ${secret.value} as NHSMESH TRUST01:0b9c:1:202601010000:0123456789abcdef, Bearer abc.def.ghi, key -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----, patient ${nhs.slice(0, 3)} ${nhs.slice(3, 6)} ${nhs.slice(6)}`;
    const unredacted = `2026-01-01T00:00:00.000Z DEBUG mesh: ${message}\n`;
    expect(findLeaks([{ where: 'raw', text: unredacted }], [secret], numbers)).toEqual([
      'raw: private-key PEM block',
      'raw: bearer token',
      'raw: MESH authorization token',
      'raw: mailbox password',
      `raw: 1 NHS number(s), e.g. …${nhs.slice(-3)}`,
    ]);
    let logged = '';
    const log = createLogger({ level: 'debug', write: (line) => (logged += line) });
    log.secret(secret.value);
    log.debug('mesh', message);
    expect(findLeaks([{ where: 'logged', text: logged }], [secret], numbers)).toEqual([]);
    expect(logged).toContain(`*******${nhs.slice(-3)}`);
  });
});
