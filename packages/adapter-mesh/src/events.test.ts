import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMeshSandbox, type MeshSandbox, type PemPair } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshClient, type MeshClient } from './client.js';
import { loggablePath, type MeshEvent } from './events.js';
import { MeshStore, pollInbox } from './store.js';

const trust = { id: 'X26EVT1', password: 'trust-password-1', ods: 'X26', name: 'Trust', workflows: ['DPS_ERRORS'] };
const dps = { id: 'Y27EVT2', password: 'dps-password-22', ods: 'Y27', name: 'DPS', workflows: ['DPS_ERRORS'] };
const sharedKey = 'EventsSharedKey';

describe('MESH client events', () => {
  let sandbox: MeshSandbox;
  let certificate: PemPair;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startMeshSandbox({ mailboxes: [trust, dps], sharedKey });
    certificate = await sandbox.issueClientCertificate();
    dir = await mkdtemp(join(tmpdir(), 'cadmap-mesh-events-'));
  });
  afterAll(async () => {
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  const clientFor = (mailbox: typeof trust, events: MeshEvent[]): MeshClient =>
    createMeshClient({
      environment: sandbox.url,
      mailboxId: mailbox.id,
      password: mailbox.password,
      sharedKey,
      tls: { cert: certificate.cert, key: certificate.key, ca: sandbox.ca },
      clock: { now: () => sandbox.now(), sleep: () => Promise.resolve() },
      onEvent: (event) => events.push(event),
    }).client!;

  it('tells of each request, answer, retry, inbox page, download and acknowledgement, without secrets', async () => {
    sandbox.deliver({ from: dps.id, to: trust.id, workflowId: 'DPS_ERRORS', body: '{"errors":[]}', fileName: 'errors.json', localId: 'L1' });
    sandbox.injectFault({ status: 503, when: ({ method, path }) => method === 'GET' && path.endsWith('/inbox') });
    const events: MeshEvent[] = [];
    const client = clientFor(trust, events);
    const poll = await pollInbox(client, new MeshStore(join(dir, 'store')));
    await client.close();
    expect(poll.stored).toHaveLength(1);
    const messageId = poll.stored[0]!.messageId;
    expect(events.map((e) => e.type)).toEqual(['request', 'response', 'retry', 'request', 'response', 'inbox', 'request', 'response', 'downloaded', 'request', 'response', 'acknowledged']);
    expect(events[0]).toEqual({ type: 'request', service: 'mesh', method: 'GET', url: `/messageexchange/${trust.id}/inbox`, attempt: 1 });
    expect(events[1]).toMatchObject({ type: 'response', status: 503, attempt: 1 });
    expect(events[2]).toMatchObject({ type: 'retry', reason: 'backoff', status: 503, attempt: 1 });
    expect(events[5]).toEqual({ type: 'inbox', messages: 1, approxInboxCount: 1, more: false });
    expect(events[8]).toEqual({ type: 'downloaded', messageId, messageType: 'DATA', workflowId: 'DPS_ERRORS', fileName: 'errors.json', localId: 'L1', chunks: 1, bytes: 13 });
    expect(events[11]).toEqual({ type: 'acknowledged', messageId });
    const text = JSON.stringify(events);
    for (const secret of [trust.password, sharedKey, 'NHSMESH', 'PRIVATE KEY', '"errors"']) {
      expect(text).not.toContain(secret);
    }
  });

  it('tells of a send with its message id, recipient, sizes and file name', async () => {
    const events: MeshEvent[] = [];
    const client = clientFor(dps, events);
    const sent = await client.send({ to: trust.id, workflowId: 'DPS_ERRORS', body: Buffer.from('hello'), fileName: 'hello.txt' });
    await client.close();
    expect(events.at(-1)).toEqual({ type: 'sent', messageId: sent.messageId, to: trust.id, workflowId: 'DPS_ERRORS', fileName: 'hello.txt', chunks: 1, bytes: 5 });
    expect(events[0]).toMatchObject({ type: 'request', service: 'mesh', method: 'POST', url: `/messageexchange/${dps.id}/outbox`, bytes: expect.any(Number) as number });
  });

  it('paths for logs', () => {
    expect(loggablePath('https://user:pw@mesh.example:443/messageexchange/X/inbox?continue_from=1')).toBe('/messageexchange/X/inbox?continue_from=1');
  });
});
