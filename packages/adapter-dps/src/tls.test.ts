import { generateKeyPairSync } from 'node:crypto';
import { createTestCa, startWrongServer, verificationOverrides, withEnvironment, wrongCertificates, type TestCa, type WrongServerAnswer } from '@cadmap/sandbox';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDpsClient, type DpsClientOptions } from './client.js';

const answer: WrongServerAnswer = () => ({ status: 200, body: JSON.stringify({ access_token: 'stolen', expires_in: '3599', message: 'should-never-be-a-receipt' }) });

let configuredCa: TestCa;
let otherCa: TestCa;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

beforeAll(async () => {
  configuredCa = await createTestCa('configured CA');
  otherCa = await createTestCa('other CA');
});

/** Each wrong server, and what the diagnostic must say about it. */
const wrongServers = wrongCertificates(() => configuredCa, () => otherCa);

const bundle = { key: 'call-1', bundle: { resourceType: 'Bundle', id: 'b-1', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'p' } }] } };
const quick = { rateLimit: false, maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 }, timeoutMs: 5_000 } as const satisfies Partial<DpsClientOptions>;

/** A client that first asks `url` for a token (signed JWT), trusting only the configured CA. */
function tokenClient(url: string) {
  const { client } = createDpsClient({
    environment: { baseUrl: url, tokenUrl: `${url}/oauth2/token` },
    credentials: { apiKey: 'api-key', kid: 'kid-1', privateKey: privateKeyPem },
    ca: configuredCa.cert,
    ...quick,
  });
  return client!;
}

describe('DPS refuses a server it cannot verify (real HTTPS on 127.0.0.1)', () => {
  it.each(wrongServers)('the submission endpoint with $name: DPS_TLS, one connection, nothing sent', async ({ issue, problem }) => {
    const server = await startWrongServer(await issue(), answer);
    try {
      const { client } = createDpsClient({ environment: { baseUrl: server.url, tokenUrl: null }, ca: configuredCa.cert, ...quick });
      const result = await client!.submit(bundle);
      await client!.close();
      expect(result.status).toBe('not-sent');
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
    const server = await startWrongServer(await issue(), answer);
    try {
      const client = tokenClient(server.url);
      const result = await client.submit(bundle);
      await client.close();
      expect(result.failure).toMatchObject({ code: 'DPS_TLS', severity: 'error' });
      expect(result.failure?.message).toMatch(/token request/i);
      expect(result.failure?.message).toMatch(problem);
      expect(result.failure?.hint).toMatch(/CA.*host.*in date.*Verification is never turned off/s);
      expect(result.attempts).toHaveLength(1);
      expect(client.stats()).toEqual({ tokenRequests: 1, requests: 0 });
      expect(server.connections()).toBe(1);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a server with a valid certificate from the configured CA is accepted (the tests above can fail)', async () => {
    const server = await startWrongServer(await configuredCa.issueServer(), answer);
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
    const server = await startWrongServer(await otherCa.issueServer(), answer);
    try {
      await withEnvironment('NODE_TLS_REJECT_UNAUTHORIZED', '0', async () => {
        const client = tokenClient(server.url);
        const viaToken = await client.submit(bundle);
        await client.close();
        const { client: open } = createDpsClient({ environment: { baseUrl: server.url, tokenUrl: null }, ca: configuredCa.cert, ...quick });
        const direct = await open!.submit(bundle);
        await open!.close();
        expect(viaToken.failure?.code).toBe('DPS_TLS');
        expect(direct.failure?.code).toBe('DPS_TLS');
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
