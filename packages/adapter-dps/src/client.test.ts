import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { startDpsSandbox, tokenErrors, type DpsSandbox } from '@cadmap/sandbox';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpsClient, type DpsClient, type DpsClientOptions, type SubmissionResult } from './client.js';
import type { Clock } from './clock.js';
import { SubmissionSummary } from './summary.js';
import { TokenClient } from './token.js';

/** A clock whose sleeps advance virtual time at once and are recorded. */
function virtualClock(start = Date.now()): Clock & { slept: number[] } {
  let t = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
      await delay(0);
    },
  };
}

/** Real time, with sleeps shortened by `factor` (waits are still recorded at their nominal length). */
function fastClock(factor: number): Clock & { slept: number[] } {
  const slept: number[] = [];
  return { slept, now: () => Date.now(), sleep: (ms) => (slept.push(ms), delay(ms / factor)) };
}

function bundle(call: string, version = 1, id = `bundle-${call}`): { key: string; bundle: Record<string, unknown> } {
  return {
    key: call,
    bundle: {
      resourceType: 'Bundle',
      id,
      type: 'collection',
      meta: { versionId: String(version) },
      entry: [{ resource: { resourceType: 'Communication', status: 'completed', identifier: [{ system: 'urn:cad', value: call }] } }],
    },
  };
}

const optionsFor = (sandbox: DpsSandbox, extra: Partial<DpsClientOptions> = {}): DpsClientOptions => ({
  environment: { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
  credentials: { apiKey: sandbox.apiKey, kid: sandbox.kid, privateKey: sandbox.privateKeyPem },
  ca: sandbox.ca,
  rateLimit: false,
  backoff: { baseMs: 1, maxMs: 5 },
  ...extra,
});

function clientFor(sandbox: DpsSandbox, extra: Partial<DpsClientOptions> = {}): DpsClient {
  const { client, diagnostics } = createDpsClient(optionsFor(sandbox, extra));
  expect(diagnostics).toEqual([]);
  return client!;
}

async function collect(iterable: AsyncIterable<SubmissionResult>): Promise<SubmissionResult[]> {
  const results: SubmissionResult[] = [];
  for await (const result of iterable) {
    results.push(result);
  }
  return results;
}

describe('DPS client against the local sandbox (real TLS)', () => {
  let sandbox: DpsSandbox;
  beforeAll(async () => {
    sandbox = await startDpsSandbox({ keyBits: 2048 });
  });
  afterAll(() => sandbox.close());

  it('gets one token, posts FHIR JSON with request and correlation ids, and records receipts', async () => {
    const client = clientFor(sandbox);
    const issued = sandbox.tokensIssued();
    const results = await collect(client.submitAll([bundle('r1'), bundle('r2'), bundle('r3')], { concurrency: 3 }));
    await client.close();
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(sandbox.tokensIssued() - issued).toBe(1);
    const state = sandbox.accepted();
    for (const result of results) {
      const held = state.latestByCall.get(`urn:cad|${result.key}`)!;
      expect(result.receipt).toBe(held.receipt);
      expect(result.attempts).toHaveLength(1);
      expect(result.attempts[0]).toMatchObject({ status: 200, receipt: held.receipt, requestId: held.requestId, correlationId: held.correlationId });
      const seen = sandbox.requests().find((r) => r.requestId === result.attempts[0]!.requestId)!;
      expect(seen.contentType).toBe('application/fhir+json');
    }
  });

  it('signs assertions as dps-api.md §5.2–5.3 says', async () => {
    const tokens = new TokenClient({ tokenUrl: sandbox.tokenUrl, credentials: { apiKey: 'key-1', kid: 'kid-1', privateKey: sandbox.privateKeyPem }, dispatcher: undefined as never, clock: virtualClock(1_700_000_000_500), uuid: () => 'jti-1', timeoutMs: 1000 }, (await import('node:crypto')).createPrivateKey(sandbox.privateKeyPem));
    const assertion = await tokens.assertion();
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'RS512', typ: 'JWT', kid: 'kid-1' });
    expect(decodeJwt(assertion)).toEqual({ iss: 'key-1', sub: 'key-1', aud: sandbox.tokenUrl, jti: 'jti-1', exp: 1_700_000_300 });
  });

  it("accepts the receipt as 'id' too", async () => {
    const other = await startDpsSandbox({ keyBits: 2048, receiptField: 'id' });
    const client = clientFor(other);
    const result = await client.submit(bundle('id-receipt'));
    await client.close();
    await other.close();
    expect(result.status).toBe('accepted');
    expect(result.receipt).toBe(other.accepted().submissions[0]!.receipt);
  });

  it('refreshes the token once on 401 and on 403, with one refresh however many senders wait', async () => {
    const client = clientFor(sandbox, { uuid: randomUUID });
    await collect(client.submitAll([bundle('a1')]));
    const issued = sandbox.tokensIssued();
    sandbox.expireTokens();
    const afterExpiry = await collect(client.submitAll(Array.from({ length: 8 }, (_, i) => bundle(`exp-${i}`)), { concurrency: 8 }));
    expect(afterExpiry.every((r) => r.status === 'accepted')).toBe(true);
    expect(sandbox.tokensIssued() - issued).toBe(1);
    expect(afterExpiry.some((r) => r.attempts[0]!.status === 401 && r.attempts[0]!.tokenRefreshed === true)).toBe(true);
    sandbox.revokeTokens();
    const afterRevoke = await client.submit(bundle('rev'));
    expect(afterRevoke.status).toBe('accepted');
    expect(afterRevoke.attempts.map((a) => a.status)).toEqual([403, 200]);
    await client.close();
  });

  it('fails as auth when a fresh token is refused too', async () => {
    const shortLived = await startDpsSandbox({ keyBits: 2048, tokenLifetimeSeconds: 0 });
    const client = clientFor(shortLived);
    const result = await client.submit(bundle('never'));
    await client.close();
    await shortLived.close();
    expect(result.status).toBe('unavailable');
    expect(result.failure).toMatchObject({ code: 'DPS_AUTH_REJECTED', status: 401, serverError: 'invalid/missing access token' });
    expect(result.attempts.map((a) => a.status)).toEqual([401, 401]);
  });

  describe('token rejections are reported with the endpoint error and a hint', () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const cases: [string, () => Partial<DpsClientOptions>, number, string, string, RegExp][] = [
      ['unknown kid', () => ({ credentials: { apiKey: sandbox.apiKey, kid: 'wrong', privateKey: sandbox.privateKeyPem } }), 401, 'invalid_request', tokenErrors.kidNoMatch, /kid/],
      ['unknown API key', () => ({ credentials: { apiKey: 'wrong', kid: sandbox.kid, privateKey: sandbox.privateKeyPem } }), 401, 'invalid_client', tokenErrors.invalidClient, /API key/],
      ['aud differs from the URL called', () => ({ environment: { baseUrl: sandbox.url, tokenUrl: `${sandbox.tokenUrl}?env=int` } }), 401, 'invalid_request', tokenErrors.aud, /token URL/],
      ['wrong private key', () => ({ credentials: { apiKey: sandbox.apiKey, kid: sandbox.kid, privateKey: otherKey } }), 401, 'invalid_request', tokenErrors.signature, /private key/],
      ['clock 10 minutes slow', () => ({ clock: { ...virtualClock(Date.now() - 600_000) } }), 400, 'invalid_request', tokenErrors.expired, /clock/],
      ['clock 10 minutes fast', () => ({ clock: { ...virtualClock(Date.now() + 600_000) } }), 400, 'invalid_request', tokenErrors.expTooFar, /clock/],
    ];
    it.each(cases)('%s', async (_name, extra, status, error, description, hint) => {
      const client = clientFor(sandbox, extra());
      const first = await client.submit(bundle('auth'));
      const second = await client.submit(bundle('auth-2'));
      await client.close();
      expect(first.status).toBe('not-sent');
      expect(first.failure).toMatchObject({ code: 'DPS_AUTH_REJECTED', status, serverError: error, serverDescription: description });
      expect(first.failure!.hint).toMatch(hint);
      expect(second.failure?.code).toBe('DPS_AUTH_REJECTED');
      expect(client.stats().tokenRequests).toBe(1);
      expect(client.stats().requests).toBe(0);
    });

    it('replayed jti', async () => {
      const client = clientFor(sandbox, { uuid: () => 'same-every-time' });
      expect((await client.submit(bundle('jti-1'))).status).toBe('accepted');
      sandbox.expireTokens();
      const result = await client.submit(bundle('jti-2'));
      await client.close();
      expect(result.failure).toMatchObject({ code: 'DPS_AUTH_REJECTED', serverDescription: tokenErrors.jtiReused });
    });

    it('no JWKS registered, and not subscribed', async () => {
      const noKey = await startDpsSandbox({ keyBits: 2048, jwks: null });
      const unsubscribed = await startDpsSandbox({ keyBits: 2048, subscribed: false });
      const a = clientFor(noKey);
      const b = clientFor(unsubscribed);
      const [ra, rb] = [await a.submit(bundle('k')), await b.submit(bundle('s'))];
      await Promise.all([a.close(), b.close(), noKey.close(), unsubscribed.close()]);
      expect(ra.failure).toMatchObject({ code: 'DPS_AUTH_REJECTED', status: 403, serverError: 'public_key error' });
      expect(ra.failure!.hint).toMatch(/JWKS/);
      expect(rb.failure).toMatchObject({ code: 'DPS_AUTH_REJECTED', status: 401, serverError: 'unauthorized_client' });
      expect(rb.failure!.hint).toMatch(/Subscribe/);
    });

    it('a key that is not RSA is refused before anything is sent', () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      for (const privateKey of [ec, 'not a key']) {
        const { client, diagnostics } = createDpsClient({ ...optionsFor(sandbox), credentials: { apiKey: 'k', kid: 'k', privateKey } });
        expect(client).toBeUndefined();
        expect(diagnostics.map((d) => d.code)).toEqual(['DPS_KEY_INVALID']);
      }
    });
  });

  it('does not retry 400 and reports its error', async () => {
    const client = clientFor(sandbox);
    const result = await client.submit({ key: 'bad', bundle: { resourceType: 'Patient' } });
    await client.close();
    expect(result.failure).toMatchObject({ code: 'DPS_BAD_REQUEST', status: 400, serverError: expect.stringContaining('not a FHIR Bundle') });
    expect(result.attempts).toHaveLength(1);
  });

  it('treats 404 as configuration and stops sending', async () => {
    const client = clientFor(sandbox, { environment: { baseUrl: `${sandbox.url}/v1`, tokenUrl: sandbox.tokenUrl } });
    const first = await client.submit(bundle('c1'));
    const second = await client.submit(bundle('c2'));
    await client.close();
    expect(first.failure).toMatchObject({ code: 'DPS_CONFIGURATION', status: 404, serverError: 'Server Not Found' });
    expect(second.failure?.code).toBe('DPS_NOT_SENT');
    expect(second.attempts).toHaveLength(0);
  });

  it('honours Retry-After on 429 and backs off exponentially with jitter on 500', async () => {
    sandbox.setFaults({ script: ['rate-limit', 'server-error', 'server-error', 'server-error'], retryAfterSeconds: 3 });
    const clock = virtualClock();
    const client = clientFor(sandbox, { clock, random: () => 0.5, backoff: { baseMs: 100, maxMs: 250 } });
    const result = await client.submit(bundle('retry'));
    await client.close();
    sandbox.setFaults({});
    expect(result.status).toBe('accepted');
    expect(result.attempts.map((a) => a.status)).toEqual([429, 500, 500, 500, 200]);
    expect(result.attempts.map((a) => a.waitReason)).toEqual(['retry-after', 'backoff', 'backoff', 'backoff', undefined]);
    expect(clock.slept).toEqual([3000, 150, 188, 188]);
  });

  it('gives up after maxAttempts with the class of the last failure', async () => {
    sandbox.setFaults({ script: ['server-error', 'server-error', 'server-error'] });
    const client = clientFor(sandbox, { maxAttempts: 3, clock: virtualClock() });
    const result = await client.submit(bundle('down'));
    await client.close();
    sandbox.setFaults({});
    expect(result.failure).toMatchObject({ code: 'DPS_UNAVAILABLE', status: 500 });
    expect(result.failure!.message).toMatch(/after 3 attempts/);
  });

  it('times out a slow answer, retries, and DPS holds the bundle once', async () => {
    sandbox.setFaults({ script: ['slow'], slowMs: 1200 });
    const client = clientFor(sandbox, { timeoutMs: 500 });
    const result = await client.submit(bundle('slow-1'));
    await client.close();
    sandbox.setFaults({});
    expect(result.status).toBe('accepted');
    expect(result.attempts[0]).toMatchObject({ code: 'DPS_TIMEOUT', outcomeUnknown: true });
    const outcomeOfFirst = (): unknown => sandbox.requests().find((r) => r.requestId === result.attempts[0]!.requestId)?.outcome;
    for (let i = 0; i < 100 && outcomeOfFirst() !== 'abandoned'; i++) {
      await delay(50);
    }
    expect(outcomeOfFirst()).toBe('abandoned');
    expect(sandbox.accepted().acceptancesByBundle.get('bundle-slow-1')).toBe(1);
  });

  it('reports a certificate it cannot verify as DPS_TLS and does not retry', async () => {
    const withoutCa: DpsClientOptions = { ...optionsFor(sandbox) };
    delete (withoutCa as { ca?: unknown }).ca;
    const client = createDpsClient(withoutCa).client!;
    const result = await client.submit(bundle('tls'));
    await client.close();
    expect(result.failure?.code).toBe('DPS_TLS');
    expect(result.attempts).toHaveLength(1);
    expect(result.failure!.hint).toMatch(/ca\.pem/);
  });

  it('respects the rate limit: request starts on a virtual clock, counted on the sandbox', async () => {
    const clock = virtualClock();
    const client = clientFor(sandbox, { clock, rateLimit: { perSecond: 5, perMinute: 20 } });
    const before = sandbox.requests().length;
    const results = await collect(client.submitAll(Array.from({ length: 30 }, (_, i) => bundle(`rate-${i}`)), { concurrency: 4 }));
    await client.close();
    const starts = results.flatMap((r) => r.attempts.map((a) => a.startedAt)).sort((a, b) => a - b);
    expect(starts).toHaveLength(30);
    for (let i = 0; i + 5 < starts.length; i++) {
      expect(starts[i + 5]! - starts[i]!).toBeGreaterThanOrEqual(1000);
    }
    for (let i = 0; i + 20 < starts.length; i++) {
      expect(starts[i + 20]! - starts[i]!).toBeGreaterThanOrEqual(60_000);
    }
    const seen = sandbox.requests().slice(before).filter((r) => r.path.endsWith('$process-message'));
    expect(new Set(seen.map((r) => r.requestId))).toEqual(new Set(results.flatMap((r) => r.attempts.map((a) => a.requestId))));
  });
});

describe('fault test: 1,000 bundles, ≥ 200 injected faults', () => {
  it('ends with every bundle accepted, none lost, duplicates only after lost responses, latest version per call', async () => {
    const sandbox = await startDpsSandbox({
      keyBits: 2048,
      faults: { seed: 4, rates: { 'rate-limit': 0.05, 'server-error': 0.05, drop: 0.04, slow: 0.03, 'lost-after-accept': 0.04 }, retryAfterSeconds: 1, slowMs: 100 },
    });
    const clock = fastClock(50);
    const client = clientFor(sandbox, { clock, backoff: { baseMs: 50, maxMs: 2000 }, maxAttempts: 10, timeoutMs: 10_000 });
    const items = [...Array.from({ length: 900 }, (_, i) => bundle(`call-${i}`)), ...Array.from({ length: 100 }, (_, i) => bundle(`call-${i * 9}`, 2))];
    const summary = new SubmissionSummary();
    const results: SubmissionResult[] = [];
    for await (const result of client.submitAll(items, { concurrency: 8 })) {
      summary.add(result);
      results.push(result);
    }
    await client.close();
    await sandbox.close();

    const faults = sandbox.faultsInjected();
    const totalFaults = Object.values(faults).reduce((a, b) => a + b, 0);
    expect(totalFaults).toBeGreaterThanOrEqual(200);
    expect(Object.values(faults).every((n) => n > 0)).toBe(true);
    expect(summary.toJSON()).toMatchObject({ submitted: 1000, accepted: 1000, failed: 0 });

    const state = sandbox.accepted();
    // none lost: every bundle sent is held
    const digests = new Set(state.submissions.map((s) => s.digest));
    expect(digests.size).toBe(1000);
    // duplicates only where the response was lost after acceptance, and counted in the summary
    expect(state.duplicates).toBe(faults['lost-after-accept']);
    const byCorrelation = new Map(results.map((r) => [r.correlationId, r]));
    const lostCorrelations = new Set(sandbox.requests().filter((r) => r.outcome === 'lost-after-accept').map((r) => r.correlationId));
    for (const [digest, count] of state.acceptancesByDigest) {
      if (count > 1) {
        const correlations = state.submissions.filter((s) => s.digest === digest).map((s) => s.correlationId!);
        expect(correlations.some((c) => lostCorrelations.has(c))).toBe(true);
        expect(byCorrelation.get(correlations[0]!)!.possibleDuplicate).toBe(true);
      }
    }
    expect(summary.duplicates).toBeGreaterThanOrEqual(state.duplicates);
    expect(summary.duplicates).toBeLessThanOrEqual(faults['lost-after-accept'] + faults.drop);
    expect(summary.retries).toBeGreaterThanOrEqual(totalFaults - faults['lost-after-accept'] - faults.slow);
    // 429s waited the Retry-After
    expect(results.flatMap((r) => r.attempts).filter((a) => a.status === 429).every((a) => a.waitMs === 1000)).toBe(true);
    // final state per call equals the latest bundle
    expect(state.latestByCall.size).toBe(900);
    const latest = new Map(items.map((item) => [item.key, item.bundle]));
    for (const [key, bundleOfCall] of latest) {
      expect(state.latestByCall.get(`urn:cad|${key}`)!.bundle).toEqual(bundleOfCall);
    }
  });
});
