import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestCa } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CqiClient, maxRetryAfterMs } from './client.js';
import { writeEndlessly } from '../../../../test/support/endless.js';

let server: Server;
let client: CqiClient;
let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();

beforeAll(async () => {
  const ca = await createTestCa();
  const pair = await ca.issueServer();
  server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const made = CqiClient.create({ environment: 'uat', baseUrls: { uat: `https://127.0.0.1:${(server.address() as AddressInfo).port}` }, tls: { ...(await ca.issueClient('supplier')), ca: ca.cert } });
  client = made.client!;
});
afterAll(async () => {
  await client.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('CQI against a hostile server', () => {
  it.each(['99999999999999999999', '1e300', String(30 * 24 * 3600)])('cuts a huge Retry-After (%s s) to the longest honoured wait', async (retryAfter) => {
    handle = (_req, res) => {
      res.writeHead(503, { 'retry-after': retryAfter });
      res.end();
    };
    const outcome = await client.postCase('{}', 'application/json');
    expect(outcome).toMatchObject({ kind: 'unavailable', retryAfterMs: maxRetryAfterMs });
  });

  it('keeps a sensible Retry-After as given', async () => {
    handle = (_req, res) => {
      res.writeHead(503, { 'retry-after': '3600' });
      res.end();
    };
    expect(await client.postCase('{}', 'application/json')).toMatchObject({ kind: 'unavailable', retryAfterMs: 3_600_000 });
  });

  it('does not read an endless answer to the end', async () => {
    let stream = { written: 0 };
    const cap = 256 * 1024 * 1024;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      stream = writeEndlessly(res, Buffer.alloc(64 * 1024, 0x61), cap, () => res.end());
    };
    const outcome = await client.postCase('{}', 'application/json');
    expect(outcome.kind).toBe('accepted');
    expect(stream.written).toBeLessThan(cap);
  });
});
