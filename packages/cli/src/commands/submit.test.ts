import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLedger } from '@cadmap/ledger';
import { startDpsSandbox, type DpsSandbox } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { readConfigFile, resolveDpsSettings } from './dps-config.js';
import { createResubmitCommand } from './resubmit.js';
import { createSubmitCommand } from './submit.js';
import { scratchDirectory } from '../../../../test/support/fixtures.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const mapping = join(root, 'mappings/northwind-csv/mapping.yaml');
const sample = join(root, 'mappings/northwind-csv/sample');

function captureIo(cwd: string, env: Record<string, string | undefined> = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return { cwd, env, stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, out: () => out, err: () => err };
}

const noSignals = (): (() => void) => () => undefined;

/** UK Core STU2 beside the repository (tests only): the real gate runs when it is there. */
const ukCore = join(process.env.FHIR_REFERENCE_DIR ?? join(root, '../shared/reference'), 'ukcore/json');
const checkArgs = existsSync(ukCore)
  ? ['--package', join(root, 'profiles'), ...['structuredefinitions', 'valuesets', 'codesystems'].flatMap((f) => ['--package', join(ukCore, f)])]
  : ['--no-check'];

describe('cadmap sandbox + cadmap submit (child process)', () => {
  it('submits the northwind sample: 64 accepted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadmap-sbx-'));
    const child = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'sandbox', '--key-bits', '2048', '--dir', join(dir, 'sbx')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let output = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Press Ctrl-C')) {
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${output}`)));
      });
      expect(output).toMatch(/DPS sandbox ready on https:\/\/127\.0\.0\.1:\d+\/ambulance-data-submission/);
      const configFile = join(dir, 'sbx/cadmap.config.yaml');
      expect(statSync(join(dir, 'sbx/private-key.pem')).mode & 0o077).toBe(0);
      const io = captureIo(dir);
      const code = await createSubmitCommand({ interrupted: noSignals })(io, ['--mapping', mapping, sample, '--config', configFile, ...checkArgs]);
      expect(io.err()).toMatch(/submitted: 64 · accepted: 64 · failed: 0 · duplicates: 0/);
      if (checkArgs[0] === '--package') {
        expect(io.err()).toMatch(/conformance check: 0 held back/);
      }
      expect(code).toBe(0);
      const receipts = readFileSync(join(dir, 'dps-receipts.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      expect(receipts).toHaveLength(64);
      expect(receipts.every((r) => r.status === 'accepted' && typeof r.receipt === 'string' && r.attempts[0].requestId)).toBe(true);
      expect(`${io.out()}${io.err()}`).not.toMatch(/PRIVATE KEY/);
      child.kill('SIGINT');
      const stopped = await new Promise<string>((resolve) => child.on('exit', () => resolve(output)));
      expect(stopped).toMatch(/64 bundles accepted \(64 calls, 0 duplicates\)/);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cadmap submit (in process)', () => {
  let sandbox: DpsSandbox;
  let dir: string;
  let configFile: string;
  beforeAll(async () => {
    sandbox = await startDpsSandbox({ keyBits: 2048 });
    dir = mkdtempSync(join(tmpdir(), 'cadmap-submit-'));
    writeFileSync(join(dir, 'key.pem'), sandbox.privateKeyPem);
    writeFileSync(join(dir, 'ca.pem'), sandbox.ca);
    configFile = join(dir, 'cadmap.config.yaml');
    writeFileSync(configFile, `dps:\n  baseUrl: ${sandbox.url}\n  tokenUrl: ${sandbox.tokenUrl}\n  apiKey: ${sandbox.apiKey}\n  kid: ${sandbox.kid}\n  privateKeyFile: key.pem\n  caFile: ca.pem\n  rateLimit: false\n`);
  });
  afterAll(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds back bundles the gate rejects, and sends them with --allow-invalid', async () => {
    const gate = (bundle: unknown): { ok: boolean; issues: { code: string; severity: 'error'; message: string }[] } => {
      const id = (bundle as { id: string }).id;
      return id < '2' ? { ok: false, issues: [{ code: 'CONF_TEST', severity: 'error', message: 'rejected by the test gate' }] } : { ok: true, issues: [] };
    };
    const before = sandbox.accepted().submissions.length;
    const io = captureIo(dir);
    const code = await createSubmitCommand({ gate, interrupted: noSignals })(io, ['-m', mapping, sample, '--json', '--receipts', join(dir, 'r1.ndjson')]);
    const report = JSON.parse(io.out());
    expect(report.heldBack).toBeGreaterThan(0);
    expect(report.submission.accepted).toBe(64 - report.heldBack);
    expect(sandbox.accepted().submissions.length - before).toBe(64 - report.heldBack);
    expect(code).toBe(1);

    const io2 = captureIo(dir);
    const code2 = await createSubmitCommand({ gate, interrupted: noSignals })(io2, ['-m', mapping, sample, '--allow-invalid', '--concurrency', '8', '--receipts', join(dir, 'r2.ndjson'), '--ledger', join(dir, 'l2.sqlite')]);
    expect(io2.err()).toMatch(/sent although invalid/);
    expect(io2.err()).toMatch(/accepted: 64/);
    expect(code2).toBe(0);
  });

  it('--dry-run sends nothing and needs no credentials', async () => {
    const before = sandbox.requests().length;
    const empty = mkdtempSync(join(tmpdir(), 'cadmap-dry-'));
    const io = captureIo(empty, {});
    const code = await createSubmitCommand({ interrupted: noSignals })(io, ['-m', mapping, sample, '--dry-run', '--no-check']);
    rmSync(empty, { recursive: true, force: true });
    expect(code).toBe(0);
    expect(io.err()).toMatch(/dry run: 64 bundles would be sent/);
    expect(sandbox.requests().length).toBe(before);
  });

  it('reports failures redacted, with their code and hint, and exits 3', async () => {
    const io = captureIo(dir, { CADMAP_DPS_KID: 'not-registered' });
    const code = await createSubmitCommand({ interrupted: noSignals })(io, ['-m', mapping, sample, '--receipts', join(dir, 'r3.ndjson'), '--max-diagnostics', '1', '--no-check', '--ledger', join(dir, 'l3.sqlite')]);
    expect(code).toBe(3);
    expect(io.err()).toMatch(/DPS_AUTH_REJECTED: The token endpoint .* refused the client assertion: 401 invalid_request: Invalid 'kid' header/);
    expect(io.err()).toMatch(/hint: Set the Key ID/);
    expect(io.err()).toMatch(/DPS_AUTH_REJECTED: 64/);
  });

  it('cadmap resubmit --failed sends again what the ledger holds as failed, from the inputs of the latest run', async () => {
    const ledgerFile = join(dir, 'l-resubmit.sqlite');
    const refused = captureIo(dir, { CADMAP_DPS_KID: 'not-registered' });
    expect(await createSubmitCommand({ interrupted: noSignals })(refused, ['-m', mapping, sample, '--no-check', '--ledger', ledgerFile, '--receipts', join(dir, 'r4.ndjson')])).toBe(3);
    const before = openLedger(ledgerFile);
    expect(before.counts()).toMatchObject({ failed: 64, accepted: 0 });
    before.close();

    const io = captureIo(dir);
    expect(await createResubmitCommand({ interrupted: noSignals })(io, ['--failed', '--ledger', ledgerFile, '--no-check', '--receipts', join(dir, 'r5.ndjson')])).toBe(0);
    expect(io.err()).toMatch(/64 record\(s\) marked for resending/);
    expect(io.err()).toMatch(/submitted: 64 · accepted: 64 · failed: 0/);
    const after = openLedger(ledgerFile);
    expect(after.counts()).toMatchObject({ failed: 0, accepted: 64 });
    expect(after.history({}).every((h) => h.submissions.map((s) => s.outcome).join() === 'failed,accepted')).toBe(true);
    after.close();

    const again = captureIo(dir);
    expect(await createResubmitCommand({ interrupted: noSignals })(again, ['--failed', '--ledger', ledgerFile])).toBe(0);
    expect(again.err()).toMatch(/Nothing to resend: no failed records/);
    await expect(createResubmitCommand()(captureIo(dir), ['--ledger', ledgerFile])).rejects.toThrow(/--failed/);
  });

  it('a file that is not a ledger is a usage error naming it', async () => {
    writeFileSync(join(dir, 'not-a-ledger.sqlite'), 'just text, not SQLite\n'.repeat(100));
    await expect(createSubmitCommand({ interrupted: noSignals })(captureIo(dir), ['-m', mapping, sample, '--no-check', '--ledger', 'not-a-ledger.sqlite'])).rejects.toThrow(/Cannot use .*not-a-ledger\.sqlite as the submission ledger: .*--ledger/);
  });

  it('with the ledger, a rerun skips what was accepted, and resends a record whose source changed', async () => {
    const work = mkdtempSync(join(tmpdir(), 'cadmap-ledger-run-'));
    try {
      cpSync(sample, join(work, 'sample'), { recursive: true });
      const ledgerFile = join(work, 'ledger.sqlite');
      const args = ['-m', mapping, join(work, 'sample'), '--no-check', '--config', configFile, '--ledger', ledgerFile, '--json'];
      const first = captureIo(work);
      expect(await createSubmitCommand({ interrupted: noSignals })(first, args)).toBe(0);
      expect(JSON.parse(first.out())).toMatchObject({ unchanged: 0, submission: { accepted: 64 }, ledger: ledgerFile });

      const before = sandbox.accepted().submissions.length;
      const second = captureIo(work);
      expect(await createSubmitCommand({ interrupted: noSignals })(second, args)).toBe(0);
      expect(JSON.parse(second.out())).toMatchObject({ unchanged: 64, submission: { submitted: 0 } });
      expect(sandbox.accepted().submissions.length).toBe(before);

      const callsFile = readdirSync(join(work, 'sample')).find((name) => /calls/i.test(name))!;
      const lines = readFileSync(join(work, 'sample', callsFile), 'latin1').split('\n');
      lines[1] = lines[1]!.replace(/(\d\d:\d\d):(\d\d)/, (_all, hm: string, s: string) => `${hm}:${String((Number(s) + 1) % 60).padStart(2, '0')}`);
      writeFileSync(join(work, 'sample', callsFile), lines.join('\n'), 'latin1');
      const third = captureIo(work);
      expect(await createSubmitCommand({ interrupted: noSignals })(third, args)).toBe(0);
      expect(JSON.parse(third.out())).toMatchObject({ unchanged: 63, submission: { submitted: 1, accepted: 1 } });
      expect(sandbox.accepted().submissions.length).toBe(before + 1);

      const ledger = openLedger(ledgerFile);
      try {
        expect(ledger.counts()).toMatchObject({ accepted: 64, sending: 0, failed: 0 });
        const changed = ledger.history({}).find((h) => h.submissions.length === 2)!;
        expect(changed.submissions.map((s) => s.outcome)).toEqual(['accepted', 'accepted']);
        expect(changed.record.receipt).toBe(changed.submissions[1]!.receipt);
        expect(changed.submissions[1]!.attempts[0]).toMatchObject({ status: 200, requestId: expect.any(String) });
        expect(changed.record.filled).toEqual(expect.arrayContaining(['ADS3', 'ADS10']));
      } finally {
        ledger.close();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('DPS settings from file and environment', () => {
  it('lets the environment override the file, resolves paths against the file and never shows the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadmap-cfg-'));
    try {
      writeFileSync(join(dir, 'k.pem'), 'PEM-FROM-FILE');
      writeFileSync(join(dir, 'cadmap.config.json'), JSON.stringify({ dps: { environment: 'integration', apiKey: 'file-key-123456', kid: 'file-kid', privateKeyFile: 'k.pem', concurrency: 3 } }));
      const fromFile = readConfigFile(dir, undefined);
      const settings = resolveDpsSettings({ CADMAP_DPS_KID: 'env-kid' }, fromFile)!;
      expect(settings.options.environment).toEqual({ baseUrl: 'https://int.api.service.nhs.uk/ambulance-data-submission', tokenUrl: 'https://int.api.service.nhs.uk/oauth2/token' });
      expect(settings.options.credentials).toEqual({ apiKey: 'file-key-123456', kid: 'env-kid', privateKey: 'PEM-FROM-FILE' });
      expect(settings.concurrency).toBe(3);
      expect(settings.description.join('\n')).not.toMatch(/PEM-FROM-FILE|file-key-123456/);
      const inline = resolveDpsSettings({ CADMAP_DPS_ENV: 'production', CADMAP_DPS_PRIVATE_KEY: 'INLINE\\nPEM' }, fromFile)!;
      expect(inline.options.credentials?.privateKey).toBe('INLINE\nPEM');
      expect(inline.description.join('\n')).toMatch(/private key from CADMAP_DPS_PRIVATE_KEY/);
      expect(() => resolveDpsSettings({ CADMAP_DPS_ENV: 'staging' }, fromFile)).toThrow(/Unknown DPS environment 'staging'/);
      expect(() => resolveDpsSettings({}, { dps: { baseUrl: 'https://x/y' } })).toThrow(/needs a token URL/);
      expect(() => resolveDpsSettings({}, { dps: {} })).toThrow(/No DPS environment configured/);
      expect(() => resolveDpsSettings({ CADMAP_DPS_ENV: 'integration' }, { dps: {} })).toThrow(/CADMAP_DPS_API_KEY .*CADMAP_DPS_KID .*CADMAP_DPS_PRIVATE_KEY_FILE/);
      expect(resolveDpsSettings({ CADMAP_DPS_ENV: 'sandbox' }, { dps: {} })!.options.environment).toEqual({ baseUrl: 'https://sandbox.api.service.nhs.uk/ambulance-data-submission', tokenUrl: null });
      writeFileSync(join(dir, 'bad.yaml'), 'dps:\n  privateKey: "-----BEGIN PRIVATE KEY-----"\n');
      expect(() => readConfigFile(dir, 'bad.yaml')).toThrow(/Keep the key in a file/);
      // a list as a key and a YAML 1.1 tag: an unknown setting and text, with nothing printed by the yaml library
      const warnings: unknown[] = [];
      const onWarning = (warning: unknown): number => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        writeFileSync(join(dir, 'odd.yaml'), 'dps:\n  [environment]: sandbox\n');
        expect(() => readConfigFile(dir, 'odd.yaml')).toThrow(/\[ environment \]/);
        writeFileSync(join(dir, 'tagged.yaml'), 'dps:\n  environment: sandbox\n  kid: !!binary a2lk\n');
        expect(readConfigFile(dir, 'tagged.yaml').dps).toEqual({ environment: 'sandbox', kid: 'a2lk' });
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings).toEqual([]);
      } finally {
        process.off('warning', onWarning);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to send unchecked unless asked: no packages means a usage error naming --package and --no-check', async () => {
    const empty = scratchDirectory('cadmap-nopkg-');
    const io = captureIo(empty);
    // main turns a UsageError into exit code 2 with the command's help
    await expect(createSubmitCommand({ interrupted: noSignals })(io, ['-m', mapping, sample, '--dry-run'])).rejects.toThrow(/No conformance packages: pass --package .* --no-check/);
  });
});
