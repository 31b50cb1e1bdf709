import { createTestCa, startWrongServer, verificationOverrides, withEnvironment, wrongCertificates, type PemPair, type TestCa, type WrongServerAnswer } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshClient, type MeshClient } from './client.js';
import { MeshError } from './codes.js';
import { rejectionOf } from '../../../test/support/errors.js';

const answer: WrongServerAnswer = (method, path) => ({ status: method === 'POST' && path.endsWith('/outbox') ? 202 : 200, body: JSON.stringify({ message_id: 'stolen', messages: [] }) });

let configuredCa: TestCa;
let otherCa: TestCa;
let clientPair: PemPair;

beforeAll(async () => {
  configuredCa = await createTestCa('configured CA');
  otherCa = await createTestCa('other CA');
  clientPair = await configuredCa.issueClient('SERVER001.X26.api.mesh-client.nhs.uk');
});

const clients: MeshClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

function clientFor(url: string): MeshClient {
  const { client, diagnostics } = createMeshClient({
    environment: url,
    mailboxId: 'X26ABC1',
    password: 'mailbox-password',
    sharedKey: 'shared-key',
    tls: { ...clientPair, ca: configuredCa.cert },
    maxAttempts: 3,
    timeoutMs: 5_000,
    clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
  });
  expect(diagnostics).toEqual([]);
  clients.push(client!);
  return client!;
}

const meshFailure = (promise: Promise<unknown>): Promise<MeshError> => rejectionOf(promise, MeshError);

/** Each wrong server, and what the diagnostic must say about it. */
const wrongServers = wrongCertificates(() => configuredCa, () => otherCa);

const calls: readonly { name: string; run: (client: MeshClient) => Promise<unknown> }[] = [
  { name: 'handshake', run: (client) => client.handshake() },
  { name: 'inbox listing', run: (client) => client.listInbox() },
  { name: 'send', run: (client) => client.send({ to: 'Y27DEF2', workflowId: 'ADS_TEST', body: Buffer.from('{"resourceType":"Bundle"}'), localId: 'batch-1' }) },
];

describe('MESH refuses a server it cannot verify (real HTTPS on 127.0.0.1)', () => {
  const matrix = wrongServers.flatMap((server) => calls.map((call) => ({ ...server, call: call.name, run: call.run })));

  it.each(matrix)('$call against $name: MESH_TLS, one connection, nothing sent', async ({ issue, problem, run }) => {
    const server = await startWrongServer(await issue(), answer);
    try {
      const error = await meshFailure(run(clientFor(server.url)));
      expect(error.diagnostic).toMatchObject({ code: 'MESH_TLS', severity: 'fatal' });
      expect(error.message).toMatch(problem);
      expect(error.diagnostic.hint).toMatch(/CA bundle.*host name.*in date.*Verification is never turned off/s);
      expect(server.connections()).toBe(1);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a server with a valid certificate from the configured CA is accepted (the tests above can fail)', async () => {
    const server = await startWrongServer(await configuredCa.issueServer(), answer);
    try {
      await expect(clientFor(server.url).send({ to: 'Y27DEF2', workflowId: 'ADS_TEST', body: Buffer.from('x') })).resolves.toMatchObject({ messageId: 'stolen' });
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('still refuses a wrong-CA server when NODE_TLS_REJECT_UNAUTHORIZED=0 is set in the environment', async () => {
    const server = await startWrongServer(await otherCa.issueServer(), answer);
    try {
      await withEnvironment('NODE_TLS_REJECT_UNAUTHORIZED', '0', async () => {
        const error = await meshFailure(clientFor(server.url).send({ to: 'Y27DEF2', workflowId: 'ADS_TEST', body: Buffer.from('secret payload') }));
        expect(error.code).toBe('MESH_TLS');
        expect(server.requests).toEqual([]);
      });
    } finally {
      await server.close();
    }
  });

  it('has no way to turn verification off: every Agent sets rejectUnauthorized: true, nothing overrides the check', () => {
    expect(verificationOverrides(import.meta.dirname).problems).toEqual([]);
  });
});
