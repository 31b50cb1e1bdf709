import { once } from 'node:events';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCa, type TestCa } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from './agent.js';
import { classifyNetworkError } from './classify.js';
import { systemClock } from './clock.js';
import { exchange, isAnswer, open } from './http.js';
import { RetryPolicy, retryAfterMs } from './retry.js';

describe('retry policy', () => {
  const policy = new RetryPolicy({ maxAttempts: 4, baseMs: 100, maxMs: 300, maxRetryAfterMs: 1_000, budgetMs: 2_000, random: () => 1 });
  const end = (over: Partial<Parameters<RetryPolicy['decide']>[0]> = {}): Parameters<RetryPolicy['decide']>[0] => ({ attempt: 1, firstStartedAt: 0, now: 0, transient: true, requestSent: true, ...over });

  it('backs off exponentially with jitter, capped', () => {
    expect([1, 2, 3, 4].map((n) => policy.backoff(n))).toEqual([100, 200, 300, 300]);
    const low = new RetryPolicy({ baseMs: 100, random: () => 0 });
    expect(low.backoff(1)).toBe(50);
  });

  it('honours Retry-After as seconds or an HTTP date, cut to the cap', () => {
    expect(retryAfterMs('2', 0)).toBe(2_000);
    expect(retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', 1_000)).toBe(4_000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(policy.decide(end({ retryAfterMs: 500 }), 'always')).toEqual({ retry: true, waitMs: 500, reason: 'retry-after' });
    expect(policy.decide(end({ retryAfterMs: 60_000 }), 'always')).toEqual({ retry: true, waitMs: 1_000, reason: 'retry-after' });
  });

  it('stops at the attempt limit and at the total budget', () => {
    expect(policy.decide(end({ attempt: 4 }), 'always')).toEqual({ retry: false, why: 'attempts' });
    expect(policy.decide(end({ now: 1_950 }), 'always')).toEqual({ retry: false, why: 'budget' });
    expect(policy.decide(end({ transient: false }), 'always')).toEqual({ retry: false, why: 'not-transient' });
  });

  it('never resends a non-idempotent request that may have arrived', () => {
    expect(policy.decide(end({ requestSent: true }), 'if-not-sent')).toEqual({ retry: false, why: 'not-idempotent' });
    expect(policy.decide(end({ requestSent: false }), 'if-not-sent')).toMatchObject({ retry: true });
    expect(policy.decide(end({ requestSent: false }), 'never')).toEqual({ retry: false, why: 'not-idempotent' });
  });

  it('refuses nonsense settings', () => {
    expect(() => new RetryPolicy({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => new RetryPolicy({ budgetMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('clock', () => {
  it('sleeps until aborted', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow();
    await expect(systemClock.sleep(10, AbortSignal.abort())).rejects.toThrow();
  });
});

describe('requests over verified TLS', () => {
  let ca: TestCa;
  let server: Server;
  let url: string;
  let trickles = 0;
  beforeAll(async () => {
    ca = await createTestCa();
    const pair = await ca.issueServer({ hosts: ['127.0.0.1'] });
    server = createHttpsServer({ ...pair, minVersion: 'TLSv1.2' }, (req, res) => {
      if (req.url === '/trickle') {
        trickles++;
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('x'), 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (req.url === '/reset') {
        req.socket.destroy();
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, body: 'y'.repeat(100) }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers over a trusted CA and reads at most the allowed bytes', async () => {
    const agent = createAgent({ ca: ca.cert });
    const answer = await exchange(agent, { url: `${url}/`, method: 'GET', deadlineMs: 5_000 }, 20);
    await agent.close();
    expect(isAnswer(answer) && answer.status).toBe(200);
    expect(isAnswer(answer) && answer.complete).toBe(false);
  });

  it('classifies an untrusted certificate as TLS, never sent', async () => {
    const agent = createAgent({});
    const answer = await exchange(agent, { url: `${url}/`, method: 'GET', deadlineMs: 5_000 }, 100);
    await agent.close();
    expect(answer).toMatchObject({ kind: 'tls', requestSent: false });
  });

  it('ends a body that trickles at the overall deadline', async () => {
    const agent = createAgent({ ca: ca.cert });
    const started = Date.now();
    const answer = await exchange(agent, { url: `${url}/trickle`, method: 'GET', deadlineMs: 400 }, 1 << 20);
    await agent.close();
    expect(answer).toMatchObject({ kind: 'deadline', requestSent: true });
    expect(trickles).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('says a broken connection may have carried the request, a refused one did not', async () => {
    const agent = createAgent({ ca: ca.cert });
    expect(await exchange(agent, { url: `${url}/reset`, method: 'POST', body: '{}', deadlineMs: 5_000 }, 100)).toMatchObject({ kind: 'reset', requestSent: true });
    const closed = createHttpsServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await exchange(agent, { url: `https://127.0.0.1:${port}/`, method: 'POST', body: '{}', deadlineMs: 5_000 }, 100)).toMatchObject({ kind: 'connect', cause: 'ECONNREFUSED', requestSent: false });
    await agent.close();
  });

  it('says a header value that cannot be sent is a local error, never sent', async () => {
    const agent = createAgent({ ca: ca.cert });
    const answer = await exchange(agent, { url: `${url}/`, method: 'POST', headers: { 'mex-subject': 'café\u0007' }, body: 'x', deadlineMs: 5_000 }, 100);
    await agent.close();
    expect(answer).toMatchObject({ kind: 'local', requestSent: false });
  });

  it('cancels when the caller aborts, and says so', async () => {
    const agent = createAgent({ ca: ca.cert });
    const controller = new AbortController();
    const opened = open(agent, { url: `${url}/trickle`, method: 'GET', deadlineMs: 60_000, signal: controller.signal });
    const first = await opened;
    expect(isAnswer(first)).toBe(true);
    if (isAnswer(first)) {
      const reading = new Promise<unknown>((resolve) => {
        first.body.on('error', resolve);
        first.body.on('data', () => undefined);
      });
      controller.abort();
      expect(first.failure(await reading)).toMatchObject({ kind: 'cancelled' });
      first.done();
    }
    await agent.close();
  });

  it('classifies what undici and Node throw', () => {
    const withCode = (code: string, cause?: Error): Error => Object.assign(new Error(code, cause ? { cause } : {}), { code });
    expect(classifyNetworkError(withCode('UND_ERR_SOCKET', withCode('ECONNRESET')))).toMatchObject({ kind: 'reset', requestSent: true });
    expect(classifyNetworkError(withCode('UND_ERR_HEADERS_TIMEOUT'))).toMatchObject({ kind: 'timeout', requestSent: true });
    expect(classifyNetworkError(withCode('UND_ERR_CONNECT_TIMEOUT'))).toMatchObject({ kind: 'connect', requestSent: false });
    expect(classifyNetworkError(withCode('CERT_HAS_EXPIRED'))).toMatchObject({ kind: 'tls', message: expect.stringContaining('expired') as string });
    expect(classifyNetworkError(new Error('x'), { signal: AbortSignal.abort() })).toMatchObject({ kind: 'cancelled' });
  });
});
