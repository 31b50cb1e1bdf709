import { startDpsSandbox, type DpsSandbox } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpsClient, type DpsClientOptions } from './client.js';
import type { DpsEvent } from './events.js';
import { loggableUrl } from './events.js';

const bundle = (call: string): { key: string; bundle: Record<string, unknown> } => ({ key: call, bundle: { resourceType: 'Bundle', id: `bundle-${call}`, type: 'collection', entry: [] } });

describe('DPS client events', () => {
  let sandbox: DpsSandbox;
  beforeAll(async () => {
    sandbox = await startDpsSandbox({ keyBits: 2048 });
  });
  afterAll(() => sandbox.close());

  const options = (events: DpsEvent[], extra: Partial<DpsClientOptions> = {}): DpsClientOptions => ({
    environment: { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    credentials: { apiKey: sandbox.apiKey, kid: sandbox.kid, privateKey: sandbox.privateKeyPem },
    ca: sandbox.ca,
    rateLimit: false,
    backoff: { baseMs: 1, maxMs: 2 },
    onEvent: (event) => events.push(event),
    ...extra,
  });

  it('tells of the token, each request and answer, retries and the result, without secrets', async () => {
    const events: DpsEvent[] = [];
    sandbox.setFaults({ script: ['server-error', null] });
    const { client } = createDpsClient(options(events));
    const result = await client!.submit(bundle('c1'));
    await client!.close();
    sandbox.setFaults({});
    expect(result.status).toBe('accepted');
    expect(events.map((e) => e.type)).toEqual(['token-request', 'token-response', 'request', 'response', 'retry', 'request', 'response', 'result']);
    expect(events[1]).toMatchObject({ type: 'token-response', status: 200, expiresInSeconds: expect.any(Number) as number });
    expect(events[2]).toMatchObject({ type: 'request', method: 'POST', key: 'c1', bundleId: 'bundle-c1', attempt: 1, bytes: expect.any(Number) as number });
    expect((events[2] as { url: string }).url).toMatch(/\/ambulance-data-submission\/\$process-message$/);
    expect(events[3]).toMatchObject({ type: 'response', status: 500, code: 'DPS_UNAVAILABLE', attempt: 1 });
    expect(events[4]).toMatchObject({ type: 'retry', attempt: 1, reason: 'backoff', code: 'DPS_UNAVAILABLE' });
    expect(events[6]).toMatchObject({ type: 'response', status: expect.any(Number) as number, attempt: 2, receipt: result.receipt });
    expect(events[7]).toEqual({ type: 'result', key: 'c1', status: 'accepted', attempts: 2, receipt: result.receipt, possibleDuplicate: false });
    const text = JSON.stringify(events);
    expect(text).not.toContain(sandbox.apiKey);
    expect(text).not.toMatch(/Bearer|eyJ|PRIVATE KEY|"entry"/);
  });

  it('tells of a token refresh after DPS refuses the token', async () => {
    const events: DpsEvent[] = [];
    const { client } = createDpsClient(options(events));
    await client!.submit(bundle('c2'));
    sandbox.revokeTokens();
    const result = await client!.submit(bundle('c3'));
    await client!.close();
    expect(result.status).toBe('accepted');
    const after = events.slice(events.findIndex((e) => e.type === 'result') + 1);
    expect(after.map((e) => e.type)).toEqual(['request', 'response', 'token-refresh', 'token-request', 'token-response', 'request', 'response', 'result']);
    expect(after[2]).toMatchObject({ type: 'token-refresh', key: 'c3', status: 403 });
  });

  it('tells of a request the rate limit held back, and of no other', async () => {
    const events: DpsEvent[] = [];
    const { client } = createDpsClient(options(events, { rateLimit: { perSecond: 1 } }));
    for (const call of ['t1', 't2']) {
      expect((await client!.submit(bundle(call))).status).toBe('accepted');
    }
    await client!.close();
    const throttled = events.filter((e) => e.type === 'throttled');
    expect(throttled).toEqual([{ type: 'throttled', service: 'dps', method: 'POST', url: expect.any(String) as string, key: 't2', attempt: 1, waitMs: expect.any(Number) as number, reason: 'rate-limit' }]);
    // the wait is what was left of the second after the first request, however long that one took
    expect((throttled[0] as { waitMs: number }).waitMs).toBeGreaterThan(0);
  });

  it('ignores a listener that throws', async () => {
    const { client } = createDpsClient(options([], { onEvent: () => { throw new Error('broken logger'); } }));
    const result = await client!.submit(bundle('c4'));
    await client!.close();
    expect(result.status).toBe('accepted');
  });

  it('logs URLs without credentials, query or fragment', () => {
    expect(loggableUrl('https://user:pw@example.org:8443/a/$process-message?apikey=x#f')).toBe('https://example.org:8443/a/$process-message');
    expect(loggableUrl('not a url')).toBe('(invalid URL)');
  });
});
