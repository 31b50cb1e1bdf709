import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom, startDpsSandbox, startMeshSandbox, type DpsNotificationFormat, type MeshSandbox } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { meshCommand } from './mesh.js';
import { createSubmitCommand } from './submit.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** map ⟶ check ⟶ submit: the real conformance gate runs when UK Core STU2 sits beside the repository. */
const ukCore = join(process.env.FHIR_REFERENCE_DIR ?? join(root, '../shared/reference'), 'ukcore/json');
const checkArgs = existsSync(ukCore)
  ? ['--package', join(root, 'profiles'), ...['structuredefinitions', 'valuesets', 'codesystems'].flatMap((f) => ['--package', join(ukCore, f)])]
  : ['--no-check'];
const mapping = join(root, 'mappings/northwind-csv/mapping.yaml');
const sample = join(root, 'mappings/northwind-csv/sample');

function captureIo(cwd: string, env: Record<string, string | undefined> = {}): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return { cwd, env, stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, out: () => out, err: () => err };
}

const trust = { id: 'TRUST01', password: 'trust-mailbox-password', ods: 'RX9', workflows: ['DPS_ERR_TEST', 'ADS_FILE'] };
const dps = { id: 'DPSMB01', password: 'dps-mailbox-password', ods: 'X26', workflows: ['DPS_ERR_TEST', 'ADS_FILE'] };

describe('DPS sandbox → MESH sandbox → cadmap mesh poll (end to end, mutual TLS)', () => {
  let mesh: MeshSandbox;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    mesh = await startMeshSandbox({ mailboxes: [trust, dps], sharedKey: 'e2e-shared-key' });
    dir = mkdtempSync(join(tmpdir(), 'cadmap-mesh-e2e-'));
    const client = await mesh.issueClientCertificate('SERVER001.RX9.api.mesh-client.nhs.uk');
    writeFileSync(join(dir, 'client.pem'), client.cert);
    writeFileSync(join(dir, 'client.key'), client.key);
    writeFileSync(join(dir, 'mesh-ca.pem'), mesh.ca);
    writeFileSync(join(dir, 'mesh-password'), `${trust.password}\n`);
    env = { CADMAP_MESH_PASSWORD_FILE: 'mesh-password', CADMAP_MESH_SHARED_KEY: 'e2e-shared-key' };
  });
  afterAll(async () => {
    await mesh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const configFor = (dpsUrl: string, tokenUrl: string, apiKey: string, kid: string): string =>
    [
      'dps:',
      `  baseUrl: ${dpsUrl}`,
      `  tokenUrl: ${tokenUrl}`,
      `  apiKey: ${apiKey}`,
      `  kid: ${kid}`,
      '  privateKeyFile: dps-key.pem',
      '  caFile: dps-ca.pem',
      '  rateLimit: false',
      'mesh:',
      `  environment: ${mesh.url}`,
      `  mailbox: ${trust.id}`,
      '  certFile: client.pem',
      '  keyFile: client.key',
      '  caFile: mesh-ca.pem',
      '  store: mesh-store',
      '  notifications:',
      '    workflowIds: [DPS_ERR_TEST]',
      '',
    ].join('\n');

  it.each(['json', 'csv', 'operation-outcome'] as const satisfies readonly DpsNotificationFormat[])('reconciles %s notifications for a share of accepted bundles to their source rows and rules', async (format) => {
    const sandbox = await startDpsSandbox({ keyBits: 2048, meshNotifications: { mesh, from: dps.id, to: trust.id, workflowId: 'DPS_ERR_TEST', share: 0.3, format, random: seededRandom(7) } });
    try {
      writeFileSync(join(dir, 'dps-key.pem'), sandbox.privateKeyPem);
      writeFileSync(join(dir, 'dps-ca.pem'), sandbox.ca);
      writeFileSync(join(dir, 'cadmap.config.yaml'), configFor(sandbox.url, sandbox.tokenUrl, sandbox.apiKey, sandbox.kid));
      const receipts = `receipts-${format}.ndjson`;
      const submit = captureIo(dir);
      expect(await createSubmitCommand({ interrupted: () => () => undefined })(submit, ['-m', mapping, sample, ...checkArgs, '--receipts', receipts])).toBe(0);
      const notified = mesh.messages().filter((m) => m.to === trust.id && m.workflowId === 'DPS_ERR_TEST' && m.status === 'accepted');
      expect(notified.length).toBeGreaterThan(5);
      expect(notified.length).toBeLessThan(40);

      const poll = captureIo(dir, env);
      const code = await meshCommand(poll, ['poll', '--json', '--receipts', receipts, '--ledger', 'cadmap-ledger.sqlite']);
      const report = JSON.parse(poll.out());
      expect(report.notifications).toBe(notified.length);
      expect(report.ledger).toMatchObject({ linked: notified.length, unlinked: 0 });
      expect(report.unmatched).toEqual([]);
      expect(report.matched).toHaveLength(notified.length);
      for (const item of report.matched) {
        expect(item.matchedBy).toBe('receipt');
        expect(item.source.file).toMatch(/calls?.*\.csv$/i);
        expect(item.source.row).toBeGreaterThan(0);
        expect(item.rule).toMatchObject({ file: mapping, ruleId: expect.any(String), line: expect.any(Number) });
        const accepted = sandbox.accepted().submissions.find((s) => s.receipt === item.submission.receipt);
        expect(accepted?.bundleId).toBe(item.submission.bundleId);
      }
      expect(code).toBe(1);
      expect(mesh.messages().filter((m) => m.to === trust.id && m.status === 'accepted')).toEqual([]);

      const human = captureIo(dir, env);
      await meshCommand(human, ['poll', '--reconcile-only', '--receipts', receipts]);
      expect(human.out()).toMatch(new RegExp(`matched to a submission: ${notified.length} · unmatched: 0`));
      expect(human.out()).toMatch(/record \S+ · \S+\.csv row \d+ \(line \d+\) record \S+ · \S+mapping\.yaml:\d+:\d+ \(rule \w+\)/);
      expect(`${poll.out()}${poll.err()}${human.out()}${human.err()}`).not.toMatch(/trust-mailbox-password|e2e-shared-key|PRIVATE KEY/);
    } finally {
      await sandbox.close();
      rmSync(join(dir, 'mesh-store'), { recursive: true, force: true });
    }
  });

  it('stores an unknown payload raw and reports it, never drops it', async () => {
    const id = mesh.deliver({ from: dps.id, to: trust.id, workflowId: 'DPS_ERR_TEST', body: 'DPSERR|v9|something new', fileName: '../../../etc/cron.d/evil' });
    const io = captureIo(dir, env);
    const code = await meshCommand(io, ['poll', '--json']);
    const report = JSON.parse(io.out());
    expect(report.unrecognised).toHaveLength(1);
    expect(report.unrecognised[0].messageId).toBe(id);
    expect(readFileSync(report.unrecognised[0].path, 'utf8')).toBe('DPSERR|v9|something new');
    expect(report.unrecognised[0].path.startsWith(join(dir, 'mesh-store'))).toBe(true);
    expect(report.diagnostics.map((d: { code: string }) => d.code)).toContain('MESH_NOTIFICATION_UNRECOGNISED');
    expect(code).toBe(1);
    expect(existsSync('/etc/cron.d/evil')).toBe(false);
  });

  it('handshake, send and track from the CLI; a missing secret is a usage error', async () => {
    writeFileSync(join(dir, 'cadmap.config.yaml'), configFor('https://127.0.0.1:1/x', 'https://127.0.0.1:1/t', 'k', 'kid'));
    const hello = captureIo(dir, env);
    expect(await meshCommand(hello, ['handshake'])).toBe(0);
    expect(hello.out()).toContain('handshake ok: mailbox TRUST01');

    writeFileSync(join(dir, 'outgoing.csv'), 'a,b\n1,2\n');
    const send = captureIo(dir, env);
    expect(await meshCommand(send, ['send', 'outgoing.csv', '--to', dps.id, '--workflow', 'ADS_FILE', '--local-id', 'batch-1', '--json'])).toBe(0);
    const { messageId } = JSON.parse(send.out());
    const track = captureIo(dir, env);
    expect(await meshCommand(track, ['track', messageId])).toBe(0);
    expect(track.out()).toContain(`${messageId}: accepted`);

    const refused = captureIo(dir, env);
    expect(await meshCommand(refused, ['send', 'outgoing.csv', '--to', dps.id, '--workflow', 'NOT_REGISTERED'])).toBe(3);
    expect(refused.err()).toMatch(/MESH_SEND_REJECTED: MESH refused the message \(417, code 17\)/);

    await expect(meshCommand(captureIo(dir, { CADMAP_MESH_SHARED_KEY: 'x' }), ['handshake'])).rejects.toThrow(/CADMAP_MESH_PASSWORD or CADMAP_MESH_PASSWORD_FILE/);
  });
});
