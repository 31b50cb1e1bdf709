import { createHmac, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PemPair } from '../tls/certificates.js';
import { startMeshSandbox, type MeshSandbox } from './server.js';
import { dpsNotificationPayload } from './dps-notifications.js';

const a = { id: 'AAA111', password: 'pa', ods: 'A1', workflows: ['W1'] };
const b = { id: 'BBB222', password: 'pb', ods: 'B2', workflows: ['W1'] };

/** An NHSMESH token computed independently of the adapter (mesh.md §5). */
function token(mailbox: { id: string; password: string }, now: number, sharedKey: string, count = 0): string {
  const ts = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 12);
  const nonce = randomUUID();
  const hash = createHmac('sha256', sharedKey).update(`${mailbox.id}:${nonce}:${count}:${mailbox.password}:${ts}`).digest('hex');
  return `NHSMESH ${mailbox.id}:${nonce}:${count}:${ts}:${hash}`;
}

describe('MESH sandbox rules', () => {
  let sandbox: MeshSandbox;
  let agent: Agent;
  let client: PemPair;
  const call = async (method: 'GET' | 'POST' | 'PUT', path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await request(`${sandbox.url}${path}`, { dispatcher: agent, method, headers: { authorization: token(a, sandbox.now(), sandbox.sharedKey), ...headers }, ...(body ? { body } : {}) });
    const text = await response.body.text();
    return { status: response.statusCode, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };

  beforeAll(async () => {
    sandbox = await startMeshSandbox({ mailboxes: [a, b], maxRequestBytes: 64 * 1024 });
    client = await sandbox.issueClientCertificate();
    agent = new Agent({ connect: { ca: sandbox.ca, cert: client.cert, key: client.key } });
  });
  afterAll(async () => {
    await agent.close();
    await sandbox.close();
  });

  it('refuses a connection without a client certificate', async () => {
    const bare = new Agent({ connect: { ca: sandbox.ca } });
    await expect(request(`${sandbox.url}/messageexchange/_ping`, { dispatcher: bare })).rejects.toThrow();
    await bare.close();
  });

  it('validates the handshake headers and listing parameters with v2 400 bodies', async () => {
    const handshake = await call('POST', `/messageexchange/${a.id}`, { 'mex-clientversion': '1', 'mex-osname': 'Linux' });
    expect(handshake).toEqual({ status: 400, json: { detail: [{ loc: ['header', 'mex-osversion'], msg: 'field required', type: 'value_error' }] } });
    expect((await call('GET', `/messageexchange/${a.id}/inbox?max_results=9`)).status).toBe(400);
    expect((await call('GET', `/messageexchange/${a.id}/inbox?continue_from=short`)).status).toBe(400);
  });

  it('checks Mex-From (07), Mex-To (400) and the request size limit (413)', async () => {
    const from = await call('POST', `/messageexchange/${a.id}/outbox`, { 'mex-to': b.id, 'mex-workflowid': 'W1', 'mex-from': b.id }, Buffer.from('x'));
    expect(from.status).toBe(417);
    expect((from.json.detail as { code: string }[])[0]?.code).toBe('07');
    expect((await call('POST', `/messageexchange/${a.id}/outbox`, { 'mex-workflowid': 'W1' }, Buffer.from('x'))).status).toBe(400);
    expect((await call('POST', `/messageexchange/${a.id}/outbox`, { 'mex-to': b.id, 'mex-workflowid': 'W1' }, Buffer.alloc(65 * 1024))).status).toBe(413);
    expect((await call('POST', `/messageexchange/${a.id}/outbox`, { 'mex-to': b.id, 'mex-workflowid': 'W1', 'content-encoding': 'gzip' }, Buffer.from('not gzip'))).status).toBe(400);
  });

  it('filters the inbox by workflow and serves gzip only to clients that accept it', async () => {
    sandbox.deliver({ from: a.id, to: b.id, workflowId: 'W1', body: 'plain' });
    const sent = await call('POST', `/messageexchange/${a.id}/outbox`, { 'mex-to': b.id, 'mex-workflowid': 'W1', 'content-encoding': 'gzip' }, gzipSync('zipped'));
    const id = sent.json.message_id as string;
    const list = async (filter: string): Promise<unknown[]> => {
      const response = await request(`${sandbox.url}/messageexchange/${b.id}/inbox?workflow_filter=${encodeURIComponent(filter)}`, { dispatcher: agent, headers: { authorization: token(b, sandbox.now(), sandbox.sharedKey) } });
      return ((await response.body.json()) as { messages: unknown[] }).messages;
    };
    expect(await list('W1')).toHaveLength(2);
    expect(await list('!W*')).toHaveLength(0);
    expect(await list('*1*')).toHaveLength(2);
    const plain = await request(`${sandbox.url}/messageexchange/${b.id}/inbox/${id}`, { dispatcher: agent, headers: { authorization: token(b, sandbox.now(), sandbox.sharedKey) } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(await plain.body.text()).toBe('zipped');
    const zipped = await request(`${sandbox.url}/messageexchange/${b.id}/inbox/${id}`, { dispatcher: agent, headers: { authorization: token(b, sandbox.now(), sandbox.sharedKey), 'accept-encoding': 'gzip' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    await zipped.body.dump();
  });

  it('builds DPS notification payloads in every format', () => {
    const submission = { receipt: 'r1', callKey: 'urn:x|INC1', bundleId: 'b1', bundle: { entry: [{ resource: { resourceType: 'MessageHeader' } }, { resource: { resourceType: 'Patient' } }] } };
    expect(JSON.parse(dpsNotificationPayload('json', submission).body).errors[0]).toMatchObject({ receiptId: 'r1', bundleId: 'b1', callId: 'urn:x|INC1', location: 'Bundle.entry[1].resource' });
    expect(dpsNotificationPayload('csv', submission).body.split('\r\n')[1]).toBe('r1,b1,urn:x|INC1,BUSINESS_RULE,error,Patient failed DPS business validation (sandbox),Bundle.entry[1].resource');
    expect(JSON.parse(dpsNotificationPayload('operation-outcome', submission).body).resourceType).toBe('OperationOutcome');
    expect(dpsNotificationPayload('unknown', submission).body).toMatch(/^DPSERR/);
  });
});
