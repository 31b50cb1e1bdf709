import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestCa, type PemPair, type TestCa } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshClient, type MeshClient } from './client.js';
import { MeshError } from './codes.js';

/** An HTTPS server on 127.0.0.1 that should never be talked to: it counts connections and records any request. */
interface WrongServer {
  readonly url: string;
  readonly connections: () => number;
  readonly requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

async function startWrongServer(pair: PemPair): Promise<WrongServer> {
  const requests: WrongServer['requests'] = [];
  let connections = 0;
  const server: Server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    let body = '';
    req.on('data', (data: Buffer) => (body += data.toString('latin1')));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(req.method === 'POST' && req.url?.endsWith('/outbox') === true ? 202 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message_id: 'stolen', messages: [] }));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

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

async function meshFailure(promise: Promise<unknown>): Promise<MeshError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MeshError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a MeshError');
}

/** Each wrong server, and what the diagnostic must say about it. */
const wrongServers: readonly { name: string; issue: () => Promise<PemPair>; problem: RegExp }[] = [
  { name: 'a certificate from another CA', issue: () => otherCa.issueServer(), problem: /not issued by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/ },
  { name: 'a certificate for other.example only', issue: () => configuredCa.issueServer({ hosts: ['other.example'] }), problem: /does not name the host in the URL \(ERR_TLS_CERT_ALTNAME_INVALID/ },
  { name: 'a certificate for localhost without an IP SAN, reached as 127.0.0.1', issue: () => configuredCa.issueServer({ hosts: ['localhost'] }), problem: /does not name the host in the URL \(ERR_TLS_CERT_ALTNAME_INVALID/ },
  { name: 'an expired certificate', issue: () => configuredCa.issueServer({ validDays: -1 }), problem: /has expired \(CERT_HAS_EXPIRED/ },
];

const calls: readonly { name: string; run: (client: MeshClient) => Promise<unknown> }[] = [
  { name: 'handshake', run: (client) => client.handshake() },
  { name: 'inbox listing', run: (client) => client.listInbox() },
  { name: 'send', run: (client) => client.send({ to: 'Y27DEF2', workflowId: 'ADS_TEST', body: Buffer.from('{"resourceType":"Bundle"}'), localId: 'batch-1' }) },
];

describe('MESH refuses a server it cannot verify (real HTTPS on 127.0.0.1)', () => {
  const matrix = wrongServers.flatMap((server) => calls.map((call) => ({ ...server, call: call.name, run: call.run })));

  it.each(matrix)('$call against $name: MESH_TLS, one connection, nothing sent', async ({ issue, problem, run }) => {
    const server = await startWrongServer(await issue());
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
    const server = await startWrongServer(await configuredCa.issueServer());
    try {
      await expect(clientFor(server.url).send({ to: 'Y27DEF2', workflowId: 'ADS_TEST', body: Buffer.from('x') })).resolves.toMatchObject({ messageId: 'stolen' });
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('still refuses a wrong-CA server when NODE_TLS_REJECT_UNAUTHORIZED=0 is set in the environment', async () => {
    const server = await startWrongServer(await otherCa.issueServer());
    const before = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
    try {
      const error = await meshFailure(clientFor(server.url).send({ to: 'Y27DEF2', workflowId: 'ADS_TEST', body: Buffer.from('secret payload') }));
      expect(error.code).toBe('MESH_TLS');
      expect(server.requests).toEqual([]);
    } finally {
      if (before === undefined) {
        delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
      } else {
        process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = before;
      }
      await server.close();
    }
  });

  it('has no way to turn verification off: every Agent sets rejectUnauthorized: true, nothing overrides the check', () => {
    const dir = import.meta.dirname;
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/rejectUnauthorized:\s*false|checkServerIdentity|NODE_TLS_REJECT_UNAUTHORIZED|insecure/i);
      expect(text.match(/rejectUnauthorized: true/g)?.length ?? 0, file).toBe(text.match(/new Agent\(/g)?.length ?? 0);
    }
  });
});
