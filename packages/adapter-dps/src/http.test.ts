import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCa } from '@cadmap/sandbox';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpsClient } from './client.js';
import { classifyNetworkError, isAnswer, maxAnswerBytes, send } from './http.js';
import { writeEndlessly } from '../../../test/support/endless.js';

/** Bytes the endless answer may stream before the server gives up (the client should stop long before). */
const serverCap = 64 * 1024 * 1024;
let server: Server;
let url: string;
let agent: Agent;
let ca: string;
/** Bytes the last endless answer wrote before the client went away. */
let stream = { written: 0 };

beforeAll(async () => {
  const testCa = await createTestCa();
  ca = testCa.cert;
  const pair = await testCa.issueServer();
  server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"message":"');
      stream = writeEndlessly(res, Buffer.alloc(64 * 1024, 0x61), serverCap, () => res.end('"}'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent({ connect: { ca, rejectUnauthorized: true } });
});
afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('classifying failures', () => {
  it('classifies any thrown value, even one that cannot be turned into a string', () => {
    for (const thrown of [Object.create(null), { toString: () => { throw new Error('no'); } }, null, undefined, 42, Symbol('s')]) {
      expect(classifyNetworkError(thrown)).toMatchObject({ code: 'DPS_UNAVAILABLE' });
    }
  });
});

describe('reading answers', () => {
  it('reads at most maxAnswerBytes of an answer that never ends, then hangs up', async () => {
    const answer = await send(agent, { url: `${url}/x`, method: 'POST', headers: {}, body: '{}', timeoutMs: 60_000 });
    expect(isAnswer(answer) && answer.status).toBe(200);
    expect(isAnswer(answer) && answer.body.length).toBe(maxAnswerBytes);
    expect(stream.written).toBeLessThan(serverCap);
  });

  it('a submission answered with an endless 200 is accepted without a receipt, not read to the end', async () => {
    const { client } = createDpsClient({ environment: { baseUrl: url, tokenUrl: null }, ca, rateLimit: false, maxAttempts: 1, timeoutMs: 60_000 });
    const result = await client!.submit({ key: 'call-1', bundle: { resourceType: 'Bundle', id: 'b-1' } });
    await client!.close();
    expect(result).toMatchObject({ status: 'accepted', diagnostics: [{ code: 'DPS_RECEIPT_MISSING' }] });
    expect(stream.written).toBeLessThan(serverCap);
  });
});
