import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCa } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpsClient } from './client.js';

/** An opaque access token (not a JWT, no "Bearer" before it): only its value can find it. */
const token = 'opq7Zt3kQ9xw4Lm2Vb8N';

describe('an access token echoed by DPS', () => {
  let server: Server;
  let url: string;
  let ca: string;
  beforeAll(async () => {
    const testCa = await createTestCa();
    ca = testCa.cert;
    server = createServer(await testCa.issueServer(), (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(req.url === '/oauth2/token' ? 200 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.url === '/oauth2/token' ? { access_token: token, expires_in: '3599', token_type: 'Bearer' } : { error: `token ${token} is not valid for this bundle` }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is never shown in a diagnostic or an attempt, and is handed to the caller to scrub', async () => {
    const secrets: string[] = [];
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const { client } = createDpsClient({ environment: { baseUrl: `${url}/dps`, tokenUrl: `${url}/oauth2/token` }, credentials: { apiKey: 'api-key-1', kid: 'kid-1', privateKey }, ca, rateLimit: false, onSecret: (secret) => secrets.push(secret) });
    const result = await client!.submit({ key: 'c1', bundle: { resourceType: 'Bundle' } });
    await client!.close();
    expect(result.status).toBe('rejected');
    expect(secrets).toEqual([token]);
    expect(result.failure?.serverError).toContain('[redacted]');
    expect(JSON.stringify(result)).not.toContain(token);
  });
});
