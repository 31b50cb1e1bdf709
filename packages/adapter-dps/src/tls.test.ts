import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestCa, type PemPair, type TestCa } from '@cadmap/sandbox';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDpsClient, type DpsClientOptions } from './client.js';

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
    req.on('data', (data: Buffer) => (body += data.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'stolen', expires_in: '3599', message: 'should-never-be-a-receipt' }));
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
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

beforeAll(async () => {
  configuredCa = await createTestCa('configured CA');
  otherCa = await createTestCa('other CA');
});

/** Each wrong server, and what the diagnostic must say about it. */
const wrongServers: readonly { name: string; issue: () => Promise<PemPair>; problem: RegExp }[] = [
  { name: 'a certificate from another CA', issue: () => otherCa.issueServer(), problem: /not issued by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/ },
  { name: 'a certificate for other.example only', issue: () => configuredCa.issueServer({ hosts: ['other.example'] }), problem: /does not name the host in the URL \(ERR_TLS_CERT_ALTNAME_INVALID/ },
  { name: 'a certificate for localhost without an IP SAN, reached as 127.0.0.1', issue: () => configuredCa.issueServer({ hosts: ['localhost'] }), problem: /does not name the host in the URL \(ERR_TLS_CERT_ALTNAME_INVALID/ },
  { name: 'an expired certificate', issue: () => configuredCa.issueServer({ validDays: -1 }), problem: /has expired \(CERT_HAS_EXPIRED/ },
];

const bundle = { key: 'call-1', bundle: { resourceType: 'Bundle', id: 'b-1', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'p' } }] } };
const quick = { rateLimit: false, maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 }, timeoutMs: 5_000 } as const satisfies Partial<DpsClientOptions>;

describe('DPS refuses a server it cannot verify (real HTTPS on 127.0.0.1)', () => {
  it.each(wrongServers)('the submission endpoint with $name: DPS_TLS, one connection, nothing sent', async ({ issue, problem }) => {
    const server = await startWrongServer(await issue());
    try {
      const { client } = createDpsClient({ environment: { baseUrl: server.url, tokenUrl: null }, ca: configuredCa.cert, ...quick });
      const result = await client!.submit(bundle);
      await client!.close();
      expect(result.status).toBe('failed');
      expect(result.failure).toMatchObject({ code: 'DPS_TLS', severity: 'error' });
      expect(result.failure?.message).toMatch(problem);
      expect(result.failure?.hint).toMatch(/CA.*host.*in date.*Verification is never turned off/s);
      expect(result.attempts).toHaveLength(1);
      expect(server.connections()).toBe(1);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it.each(wrongServers)('the token endpoint with $name: DPS_TLS before any bundle is sent, not retried', async ({ issue, problem }) => {
    const server = await startWrongServer(await issue());
    try {
      const { client } = createDpsClient({
        environment: { baseUrl: server.url, tokenUrl: `${server.url}/oauth2/token` },
        credentials: { apiKey: 'api-key', kid: 'kid-1', privateKey: privateKeyPem },
        ca: configuredCa.cert,
        ...quick,
      });
      const result = await client!.submit(bundle);
      await client!.close();
      expect(result.failure).toMatchObject({ code: 'DPS_TLS', severity: 'error' });
      expect(result.failure?.message).toMatch(/token request/i);
      expect(result.failure?.message).toMatch(problem);
      expect(result.failure?.hint).toMatch(/CA.*host.*in date.*Verification is never turned off/s);
      expect(result.attempts).toHaveLength(1);
      expect(client!.stats()).toEqual({ tokenRequests: 1, requests: 0 });
      expect(server.connections()).toBe(1);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a server with a valid certificate from the configured CA is accepted (the tests above can fail)', async () => {
    const server = await startWrongServer(await configuredCa.issueServer());
    try {
      const { client } = createDpsClient({ environment: { baseUrl: server.url, tokenUrl: null }, ca: configuredCa.cert, ...quick });
      const result = await client!.submit(bundle);
      await client!.close();
      expect(result).toMatchObject({ status: 'accepted', receipt: 'should-never-be-a-receipt' });
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
      const { client } = createDpsClient({
        environment: { baseUrl: server.url, tokenUrl: `${server.url}/oauth2/token` },
        credentials: { apiKey: 'api-key', kid: 'kid-1', privateKey: privateKeyPem },
        ca: configuredCa.cert,
        ...quick,
      });
      const viaToken = await client!.submit(bundle);
      await client!.close();
      const { client: open } = createDpsClient({ environment: { baseUrl: server.url, tokenUrl: null }, ca: configuredCa.cert, ...quick });
      const direct = await open!.submit(bundle);
      await open!.close();
      expect(viaToken.failure?.code).toBe('DPS_TLS');
      expect(direct.failure?.code).toBe('DPS_TLS');
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
