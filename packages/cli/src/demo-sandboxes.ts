import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { writePrivateFile } from './output.js';
import { join } from 'node:path';
import { seededRandom, startDpsSandbox, startMeshSandbox, type DpsSandbox, type MeshSandbox } from '@cadmap/sandbox';

/** A local DPS that reports errors over a local MESH, and a config directory pointing cadmap at both. */
export interface DemoSandboxes {
  readonly dps: DpsSandbox;
  readonly mesh: MeshSandbox;
  /** Where the config, certificates and secrets were written. */
  readonly dir: string;
  /** The cadmap config file (dps and mesh sections). */
  readonly config: string;
  /** Environment for the MESH secrets (files, never in the config). */
  readonly env: Readonly<Record<string, string>>;
  /** The trust's mailbox. */
  readonly mailbox: string;
  /** Every secret written (API key, keys, mailbox password, shared key), to scrub from what is shown. */
  readonly secrets: readonly string[];
  /** Notifications the DPS sandbox has sent so far. */
  notificationsSent(): number;
  close(): Promise<void>;
}

const workflow = 'DPS_ERR_DEMO';

/**
 * Starts both sandboxes in this process: the DPS sandbox sends a JSON error notification over MESH for `share`
 * of the bundles it accepts (seeded, so a demo run is repeatable).
 */
export async function startDemoSandboxes(dir: string, options: { readonly share: number; readonly seed?: number }): Promise<DemoSandboxes> {
  const trust = { id: 'TRUST01', password: randomBytes(12).toString('hex'), ods: 'RX9', name: 'Demo trust', workflows: [workflow] };
  const dpsMailbox = { id: 'DPSDEMO', password: randomBytes(12).toString('hex'), ods: 'X26', name: 'Demo DPS', workflows: [workflow] };
  const sharedKey = randomBytes(16).toString('hex');
  const mesh = await startMeshSandbox({ mailboxes: [trust, dpsMailbox], sharedKey });
  let notified = 0;
  const counting = {
    deliver: (message: Parameters<MeshSandbox['deliver']>[0]): string => {
      notified++;
      return mesh.deliver(message);
    },
  };
  let dps: DpsSandbox;
  try {
    dps = await startDpsSandbox({ keyBits: 2048, meshNotifications: { mesh: counting, from: dpsMailbox.id, to: trust.id, workflowId: workflow, share: options.share, format: 'json', random: seededRandom(options.seed ?? 7) } });
  } catch (error) {
    await mesh.close();
    throw error;
  }
  const client = await mesh.issueClientCertificate(`SERVER001.${trust.ods}.api.mesh-client.nhs.uk`);
  mkdirSync(dir, { recursive: true });
  const secret = (name: string, content: string): string => {
    writePrivateFile(join(dir, name), content);
    return join(dir, name);
  };
  secret('dps-key.pem', dps.privateKeyPem);
  writeFileSync(join(dir, 'dps-ca.pem'), dps.ca);
  writeFileSync(join(dir, 'mesh-ca.pem'), mesh.ca);
  writeFileSync(join(dir, 'client.pem'), client.cert);
  secret('client.key', client.key);
  const passwordFile = secret('mailbox-password', `${trust.password}\n`);
  const sharedKeyFile = secret('shared-key', `${sharedKey}\n`);
  const config = join(dir, 'cadmap.config.yaml');
  writeFileSync(
    config,
    [
      '# Written by cadmap demo for its local sandboxes only.',
      'dps:',
      `  baseUrl: ${dps.url}`,
      `  tokenUrl: ${dps.tokenUrl}`,
      `  apiKey: ${dps.apiKey}`,
      `  kid: ${dps.kid}`,
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
      `    workflowIds: [${workflow}]`,
      '',
    ].join('\n'),
  );
  return {
    dps,
    mesh,
    dir,
    config,
    env: { CADMAP_MESH_PASSWORD_FILE: passwordFile, CADMAP_MESH_SHARED_KEY_FILE: sharedKeyFile },
    mailbox: trust.id,
    secrets: [dps.apiKey, dps.privateKeyPem, client.key, trust.password, dpsMailbox.password, sharedKey],
    notificationsSent: () => notified,
    close: async () => {
      await Promise.all([dps.close(), mesh.close()]);
    },
  };
}
