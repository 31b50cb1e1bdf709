import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTestCa, startMeshSandbox, type MeshSandbox, type MeshSandboxMailbox, type PemPair } from '@cadmap/sandbox';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meshAuthorization } from './auth.js';
import { createMeshClient, type MeshClient, type MeshClientOptions } from './client.js';
import { MeshError } from './codes.js';
import { MeshStore, pollInbox } from './store.js';
import { rejectionOf } from '../../../test/support/errors.js';

/** Test helpers (not exported from the package): a sandbox with two mailboxes and clients over mutual TLS. */
const sender = { id: 'X26ABC1', password: 'sender-password', ods: 'X26', name: 'Trust A', workflows: ['ADS_TEST', 'DPS_ERRORS', 'OTHER'] } as const satisfies MeshSandboxMailbox;
const recipient = { id: 'Y27DEF2', password: 'recipient-password', ods: 'Y27', name: 'DPS', workflows: ['ADS_TEST', 'DPS_ERRORS'] } as const satisfies MeshSandboxMailbox;

interface MeshFixture {
  readonly sandbox: MeshSandbox;
  readonly clientCertificate: PemPair;
  client(mailbox: MeshSandboxMailbox, overrides?: Partial<MeshClientOptions>): MeshClient;
  /** A raw HTTPS request with the client certificate, for replay and protocol tests. */
  raw(method: 'GET' | 'POST' | 'PUT', path: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

async function meshFixture(extra: readonly MeshSandboxMailbox[] = []): Promise<MeshFixture> {
  const sandbox = await startMeshSandbox({ mailboxes: [sender, recipient, ...extra], sharedKey: 'SandboxSharedKey' });
  const clientCertificate = await sandbox.issueClientCertificate();
  const clients: MeshClient[] = [];
  const agent = new Agent({ connect: { ca: sandbox.ca, cert: clientCertificate.cert, key: clientCertificate.key } });
  return {
    sandbox,
    clientCertificate,
    client: (mailbox, overrides = {}) => {
      const created = createMeshClient({
        environment: sandbox.url,
        mailboxId: mailbox.id,
        password: mailbox.password,
        sharedKey: sandbox.sharedKey,
        tls: { cert: clientCertificate.cert, key: clientCertificate.key, ca: sandbox.ca },
        clock: { now: () => sandbox.now(), sleep: () => Promise.resolve() },
        ...overrides,
      });
      if (!created.client) {
        throw new Error(created.diagnostics.map((d) => d.message).join('\n'));
      }
      clients.push(created.client);
      return created.client;
    },
    raw: async (method, path, headers, body) => {
      const response = await request(`${sandbox.url}${path}`, { dispatcher: agent, method, headers: { accept: 'application/vnd.mesh.v2+json', ...headers }, ...(body !== undefined ? { body } : {}) });
      return { status: response.statusCode, body: await response.body.text() };
    },
    close: async () => {
      await Promise.all(clients.map((client) => client.close()));
      await agent.close();
      await sandbox.close();
    },
  };
}

const failure = (promise: Promise<unknown>): Promise<MeshError> => rejectionOf(promise, MeshError);

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const data of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(data);
  }
  return hash.digest('hex');
}

describe('MESH client against the strict sandbox (mutual TLS)', () => {
  let fixture: MeshFixture;
  let directory: string;

  beforeAll(async () => {
    fixture = await meshFixture([{ id: 'Z99LIST', password: 'list-password', workflows: ['ADS_TEST'] }]);
    directory = await mkdtemp(join(tmpdir(), 'cadmap-mesh-'));
  });
  afterAll(async () => {
    await fixture.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('handshakes and looks up endpoints', async () => {
    const client = fixture.client(sender);
    await client.handshake();
    expect(await client.lookup('Y27', 'DPS_ERRORS')).toEqual([{ mailboxId: 'Y27DEF2', mailboxName: 'DPS' }]);
    expect(await client.lookup('Y27', 'OTHER')).toEqual([]);
    const handshake = fixture.sandbox.requests().find((entry) => entry.method === 'POST' && entry.path === '/messageexchange/X26ABC1');
    expect(handshake?.status).toBe(200);
  });

  it('sends, receives, acknowledges; an acknowledged message is gone (410)', async () => {
    const a = fixture.client(sender);
    const b = fixture.client(recipient);
    const sent = await a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.from('hello MESH'), localId: 'local-1', fileName: '../../etc/passwd', contentType: 'text/plain' });
    expect(sent.chunks).toBe(1);
    const ids = [];
    for await (const id of b.inboxIds()) {
      ids.push(id);
    }
    expect(ids).toContain(sent.messageId);
    const { info, body } = await b.downloadBuffer(sent.messageId);
    expect(body.toString()).toBe('hello MESH');
    expect(info).toMatchObject({ messageType: 'DATA', from: sender.id, workflowId: 'ADS_TEST', localId: 'local-1', contentType: 'text/plain' });
    expect((await a.track(sent.messageId)).status).toBe('accepted');
    await b.acknowledge(sent.messageId);
    expect((await a.track(sent.messageId)).status).toBe('acknowledged');
    const gone = await failure(b.downloadBuffer(sent.messageId));
    expect(gone.code).toBe('MESH_GONE');
    expect(gone.diagnostic.status).toBe(410);
  });

  it('sends and receives a 60 MB message in gzipped chunks, streamed to and from files', async () => {
    const source = join(directory, 'big.dat');
    const handle = await open(source, 'w');
    const piece = 1024 * 1024;
    for (let i = 0; i < 60; i++) {
      await handle.write(Buffer.from(randomBytes(piece / 2).toString('hex')));
    }
    await handle.close();
    const a = fixture.client(sender);
    const b = fixture.client(recipient);
    const sent = await a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: { path: source }, fileName: 'big.dat' });
    expect(sent).toMatchObject({ chunks: 3, bytes: 60 * piece });
    const message = fixture.sandbox.messages().find((m) => m.id === sent.messageId);
    expect(message).toMatchObject({ totalChunks: 3, chunksReceived: 3, status: 'accepted' });
    const uploads = fixture.sandbox.requests().filter((entry) => entry.path.includes(`/outbox`) && entry.method === 'POST' && entry.status === 202);
    expect(uploads.length).toBeGreaterThanOrEqual(3);

    const store = new MeshStore(join(directory, 'store-big'));
    const result = await pollInbox(b, store, { workflowFilter: 'ADS_TEST' });
    const stored = result.stored.find((m) => m.messageId === sent.messageId);
    expect(stored?.info).toMatchObject({ chunks: 3, bytes: 60 * piece, messageType: 'DATA' });
    expect(await sha256File(stored?.bodyPath ?? '')).toBe(await sha256File(source));
    const downloads = fixture.sandbox.requests().filter((entry) => entry.method === 'GET' && entry.path.startsWith(`/messageexchange/${recipient.id}/inbox/${sent.messageId}`));
    expect(downloads.map((entry) => entry.status)).toEqual([206, 206, 200]);
  });

  it('refuses chunk sizes under 5 MiB', () => {
    const created = createMeshClient({ environment: fixture.sandbox.url, mailboxId: sender.id, password: 'p', sharedKey: 'k', tls: fixture.clientCertificate, chunkBytes: 1024 });
    expect(created.client).toBeUndefined();
    expect(created.diagnostics.map((d) => d.code)).toEqual(['MESH_CONFIGURATION']);
  });

  it('refuses a download limit that is not a positive whole number of bytes', () => {
    for (const maxMessageBytes of [0, -1, 1.5, Number.NaN]) {
      const created = createMeshClient({ environment: fixture.sandbox.url, mailboxId: sender.id, password: 'p', sharedKey: 'k', tls: fixture.clientCertificate, maxMessageBytes });
      expect(created.client).toBeUndefined();
      expect(created.diagnostics.map((d) => [d.code, d.hint])).toEqual([['MESH_CONFIGURATION', expect.stringContaining('mesh.maxMessageBytes')]]);
    }
  });

  it('pages over more than 500 inbox messages, following relative links.next, and stores each once', async () => {
    for (let i = 0; i < 520; i++) {
      fixture.sandbox.deliver({ from: sender.id, to: 'Z99LIST', workflowId: 'ADS_TEST', body: `message ${i}` });
    }
    const client = fixture.client({ id: 'Z99LIST', password: 'list-password' });
    const first = await client.listInbox();
    expect(first.messageIds).toHaveLength(500);
    expect(first.approxInboxCount).toBe(520);
    expect(first.next).toMatch(new RegExp(`^${fixture.sandbox.url}/messageexchange/Z99LIST/inbox\\?`));
    const store = new MeshStore(join(directory, 'store-list'));
    const result = await pollInbox(client, store);
    expect(result.stored).toHaveLength(520);
    expect(result.failures).toEqual([]);
    expect(new Set(result.stored.map((m) => m.messageId)).size).toBe(520);
    expect((await client.listInbox()).messageIds).toEqual([]);
  });

  it('re-downloads a message after a poll stopped between store and acknowledge, and stores it once', async () => {
    const a = fixture.client(sender);
    const b = fixture.client(recipient);
    const { messageId } = await a.send({ to: recipient.id, workflowId: 'DPS_ERRORS', body: Buffer.from('{"errors":[]}') });
    const store = new MeshStore(join(directory, 'store-kill'));
    await expect(pollInbox(b, store, { onStored: () => Promise.reject(new Error('killed')) })).rejects.toThrow('killed');
    expect(fixture.sandbox.messages().find((m) => m.id === messageId)?.status).toBe('accepted');
    const second = await pollInbox(b, store);
    expect(second.stored.map((m) => m.messageId)).toContain(messageId);
    const files = (await readdir(join(store.directory, 'messages'))).filter((name) => name.startsWith(messageId));
    expect(files.sort()).toEqual([`${messageId}.dat`, `${messageId}.json`]);
    expect(await readFile(join(store.directory, 'messages', `${messageId}.dat`), 'utf8')).toBe('{"errors":[]}');
    expect(fixture.sandbox.messages().find((m) => m.id === messageId)?.status).toBe('acknowledged');
  });

  it('retries a chunk download on 503, never retries the first POST of a send', async () => {
    const a = fixture.client(sender);
    const b = fixture.client(recipient);
    const { messageId } = await a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.from('retry me') });
    fixture.sandbox.injectFault({ status: 503, times: 2, when: ({ method, path }) => method === 'GET' && path.endsWith(`/inbox/${messageId}`) });
    expect((await b.downloadBuffer(messageId)).body.toString()).toBe('retry me');

    const before = fixture.sandbox.requests().length;
    fixture.sandbox.injectFault({ status: 502, body: '<soap:Envelope>internal error</soap:Envelope>', when: ({ method, path }) => method === 'POST' && path.endsWith('/outbox') });
    const error = await failure(a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.from('once') }));
    expect(error.code).toBe('MESH_NOT_RETRIED');
    expect(fixture.sandbox.requests().slice(before).filter((entry) => entry.path.endsWith('/outbox'))).toHaveLength(1);

    fixture.sandbox.injectFault({ status: 503, times: 3, body: '<html>down</html>', when: ({ path }) => path.endsWith('/inbox') });
    const down = await failure(b.listInbox());
    expect(down.code).toBe('MESH_UNAVAILABLE');
    expect(down.message).toContain('after 3 attempt(s)');
  });

  describe('every sandbox rejection, explained', () => {
    it('a wrong password (bad token hash)', async () => {
      const error = await failure(fixture.client({ ...sender, password: 'wrong' }).listInbox());
      expect(error.code).toBe('MESH_AUTH_REJECTED');
      expect(error.message).toMatch(/token reused.*2 hours.*mailbox.*password or shared key/s);
      expect(fixture.sandbox.requests().at(-1)?.reason).toMatch(/hash does not verify/);
    });

    it('a replayed token', async () => {
      const authorization = meshAuthorization({ mailboxId: sender.id, password: sender.password, sharedKey: fixture.sandbox.sharedKey, now: fixture.sandbox.now() });
      expect((await fixture.raw('GET', `/messageexchange/${sender.id}/inbox`, { authorization })).status).toBe(200);
      const replay = await fixture.raw('GET', `/messageexchange/${sender.id}/inbox`, { authorization });
      expect(replay.status).toBe(403);
      expect(JSON.parse(replay.body).detail[0].msg).toMatch(/already used/);
    });

    it('clock skew over 2 hours', async () => {
      const error = await failure(fixture.client(sender, { clock: { now: () => fixture.sandbox.now() + 3 * 3_600_000, sleep: () => Promise.resolve() } }).listInbox());
      expect(error.code).toBe('MESH_AUTH_REJECTED');
      expect(error.message).toMatch(/local clock is 3\.0 h ahead of the MESH clock/);
    });

    it('a mailbox not matching the path', async () => {
      const authorization = meshAuthorization({ mailboxId: sender.id, password: sender.password, sharedKey: fixture.sandbox.sharedKey, now: fixture.sandbox.now() });
      const answer = await fixture.raw('GET', `/messageexchange/${recipient.id}/inbox`, { authorization });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).detail[0].msg).toMatch(/does not match/);
    });

    it('a workflow not permitted (17) and an unknown recipient (12)', async () => {
      const a = fixture.client(sender);
      const workflow = await failure(a.send({ to: recipient.id, workflowId: 'OTHER', body: Buffer.from('x') }));
      expect(workflow.diagnostic).toMatchObject({ code: 'MESH_SEND_REJECTED', status: 417, meshErrorCode: '17' });
      expect(workflow.diagnostic.hint).toMatch(/workflow id is not registered/);
      const unknown = await failure(a.send({ to: 'NOBODY1', workflowId: 'ADS_TEST', body: Buffer.from('x') }));
      expect(unknown.diagnostic).toMatchObject({ code: 'MESH_SEND_REJECTED', meshErrorCode: '12' });
    });

    it('a chunk out of order, and 423 after completion', async () => {
      const a = fixture.client(sender);
      const authorization = meshAuthorization({ mailboxId: sender.id, password: sender.password, sharedKey: fixture.sandbox.sharedKey, now: fixture.sandbox.now() });
      const first = await fixture.raw('POST', `/messageexchange/${sender.id}/outbox`, { authorization, 'mex-to': recipient.id, 'mex-workflowid': 'ADS_TEST', 'mex-chunk-range': '1:3', 'content-encoding': 'gzip' }, gzipSync('one'));
      expect(first.status).toBe(202);
      const messageId = JSON.parse(first.body).message_id as string;
      const outOfOrder = await failure(a.sendChunk(messageId, 3, 3, gzipSync('three')));
      expect(outOfOrder.code).toBe('MESH_BAD_REQUEST');
      expect(outOfOrder.message).toMatch(/out of order: chunk 2 of 3 is expected next/);
      await a.sendChunk(messageId, 2, 3, gzipSync('two'));
      await a.sendChunk(messageId, 3, 3, gzipSync('three'));
      const late = await failure(a.sendChunk(messageId, 3, 3, gzipSync('three')));
      expect(late.diagnostic).toMatchObject({ code: 'MESH_CHUNK_COMPLETE', status: 423 });
      const { body } = await fixture.client(recipient).downloadBuffer(messageId);
      expect(body.toString()).toBe('onetwothree');
    });

    it('a client certificate from another CA, and a server not trusted', async () => {
      const stranger = await (await createTestCa('stranger')).issueClient('SERVER001.X26.api.mesh-client.nhs.uk');
      const untrustedClient = await failure(fixture.client(sender, { tls: { ...stranger, ca: fixture.sandbox.ca } }).listInbox());
      expect(['MESH_TLS', 'MESH_UNAVAILABLE']).toContain(untrustedClient.code);
      expect(`${untrustedClient.message} ${untrustedClient.diagnostic.hint ?? ''}`).toMatch(/certificate/);
      const untrustedServer = await failure(fixture.client(sender, { tls: { ...fixture.clientCertificate } }).listInbox());
      expect(untrustedServer.code).toBe('MESH_TLS');
    });
  });
});

describe('sends whose answers are lost, and sends refused before they leave', () => {
  let fixture: MeshFixture;
  beforeAll(async () => {
    fixture = await meshFixture();
  });
  afterAll(() => fixture.close());
  const uploads = (): number => fixture.sandbox.requests().filter((entry) => entry.method === 'POST' && entry.path.includes('/outbox')).length;

  it('refuses an empty message and a header MESH cannot carry before anything is sent', async () => {
    const a = fixture.client(sender);
    const before = uploads();
    expect((await failure(a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.alloc(0) }))).code).toBe('MESH_EMPTY_MESSAGE');
    const local = await failure(a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.from('x'), subject: 'Déjà vu' }));
    expect(local.code).toBe('MESH_INVALID_HEADER');
    expect(local.message).toMatch(/nothing was sent/);
    expect(uploads()).toBe(before);
    const outcome = await a.asTarget().submit({ key: 'k', payload: { to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.from('x'), subject: 'caf\u00e9' } });
    expect(outcome).toMatchObject({ status: 'not-sent', diagnostics: [{ code: 'MESH_INVALID_HEADER' }] });
  });

  it('counts a message as sent when the last chunk answer is lost and MESH then says it is complete (423)', async () => {
    const a = fixture.client(sender);
    fixture.sandbox.injectFault({ lostAfterAccept: true, when: ({ method, path }) => method === 'POST' && /\/outbox\/[^/]+\/2$/.test(path) });
    const sent = await a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: randomBytes(6 * 1024 * 1024), chunkBytes: 5 * 1024 * 1024, compress: false });
    expect(sent).toMatchObject({ chunks: 2, completedOnRetry: true });
    expect(fixture.sandbox.messages().find((m) => m.id === sent.messageId)).toMatchObject({ status: 'accepted', chunksReceived: 2 });
  });

  it('finds a message whose first answer was lost by its local id, instead of sending it twice', async () => {
    const a = fixture.client(sender);
    fixture.sandbox.injectFault({ lostAfterAccept: true, when: ({ method, path }) => method === 'POST' && path.endsWith('/outbox') });
    const outcome = await a.asTarget().submit({ key: 'batch-7', payload: { to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.from('once only'), localId: 'batch-7' } });
    const held = fixture.sandbox.messages().filter((m) => m.localId === 'batch-7');
    expect(held).toHaveLength(1);
    expect(outcome).toMatchObject({ status: 'accepted', receipt: held[0]!.id, diagnostics: [{ code: 'MESH_RECOVERED' }] });
    expect(await a.trackByLocalId('no-such-local-id')).toBeUndefined();
  });
});

describe('expiry', () => {
  let fixture: MeshFixture;
  let directory: string;
  beforeAll(async () => {
    fixture = await meshFixture();
    directory = await mkdtemp(join(tmpdir(), 'cadmap-mesh-expiry-'));
  });
  afterAll(async () => {
    await fixture.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('expires an uncollected message after 5 days and sends the sender a non-delivery REPORT linked to it', async () => {
    const a = fixture.client(sender);
    const b = fixture.client(recipient);
    const senderStore = new MeshStore(join(directory, 'sender'));
    const sent = await a.send({ to: recipient.id, workflowId: 'ADS_TEST', body: Buffer.from('never collected'), localId: 'batch-42' });
    const sentRecord = { messageId: sent.messageId, to: recipient.id, workflowId: 'ADS_TEST', localId: 'batch-42', source: 'out/batch-42.ndjson' };
    fixture.sandbox.advanceClock(5 * 24 * 3_600_000 - 60_000);
    expect((await b.listInbox()).messageIds).toContain(sent.messageId);
    fixture.sandbox.advanceClock(60_000);
    expect((await b.listInbox()).messageIds).not.toContain(sent.messageId);
    expect((await failure(b.downloadBuffer(sent.messageId))).code).toBe('MESH_GONE');
    expect((await a.track(sent.messageId)).status).toBe('undeliverable');

    const poll = await pollInbox(a, senderStore, { findSent: (linked) => (linked === sent.messageId ? sentRecord : undefined) });
    expect(poll.reports).toHaveLength(1);
    expect(poll.reports[0]).toMatchObject({ linkedMessageId: sent.messageId, localId: 'batch-42', statusCode: '14', sent: { messageId: sent.messageId, source: 'out/batch-42.ndjson' } });
    expect(poll.stored[0]?.info).toMatchObject({ messageType: 'REPORT', statusSuccess: 'ERROR', bytes: 0 });
    const report = poll.diagnostics.find((d) => d.code === 'MESH_REPORT');
    expect(report?.message).toMatch(/could not deliver message .* \(local id batch-42\) sent to Y27DEF2 from out\/batch-42\.ndjson: code 14/);
    expect(fixture.sandbox.messages().find((m) => m.messageType === 'REPORT')?.status).toBe('acknowledged');
  });
});
