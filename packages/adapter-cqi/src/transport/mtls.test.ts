import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, startCqiSandbox, type CqiSandbox, type PemPair } from '@cadmap/sandbox';
import { validCqiCase } from '../testing/arbitraries.js';
import { cqiEncoder } from '../wire/encoders.js';
import { decodePathwaysXml } from '../wire/pathways-xml.js';
import { CqiClient, type CqiClientOptions } from './client.js';

const cases = fc.sample(validCqiCase, { numRuns: 5, seed: 42 });
const completeCase = (index: number) => {
  const value = structuredClone(cases[index]!);
  value.case.caseId = `case-${index}`;
  return value;
};

let sandbox: CqiSandbox;
let client: PemPair;
let dir: string;

beforeAll(async () => {
  sandbox = await startCqiSandbox({ decodeXml: decodePathwaysXml, credentials: { header: 'X-CQI-Credentials', value: 'Basic c3VwcGxpZXI6c2VjcmV0' } });
  client = await sandbox.issueClient('cadmap-test-supplier');
  dir = mkdtempSync(join(tmpdir(), 'cqi-mtls-'));
});
afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

const options = (overrides: Partial<CqiClientOptions> = {}): CqiClientOptions => ({
  environment: 'uat',
  baseUrls: { uat: sandbox.url, live: 'https://cqi.invalid' },
  tls: { cert: client.cert, key: client.key, ca: sandbox.ca.cert },
  credentials: { header: 'X-CQI-Credentials', scheme: 'Basic', value: 'c3VwcGxpZXI6c2VjcmV0' },
  ...overrides,
});
const makeClient = (overrides: Partial<CqiClientOptions> = {}): CqiClient => {
  const { client: made, diagnostics } = CqiClient.create(options(overrides));
  expect(diagnostics).toEqual([]);
  return made!;
};

function rawGet(tls: { ca?: string; cert?: string; key?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${sandbox.url}/api/v1/cqiExceptionCodes`, { ...tls, headers: { 'X-CQI-Credentials': 'Basic c3VwcGxpZXI6c2VjcmV0' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('CQI over real mutual TLS', () => {
  it('accepts valid cases in JSON and XML from a certificate of the trusted CA', async () => {
    const cqi = makeClient();
    for (const [index, format] of [[0, 'json'], [1, 'xml']] as const) {
      const encoder = cqiEncoder(format);
      const outcome = await cqi.postCase(encoder.encode(completeCase(index)).body!, encoder.mediaType);
      expect(outcome.kind).toBe('accepted');
    }
    expect(sandbox.accepted.map((a) => [a.caseId, a.mediaType, a.client])).toEqual([
      ['case-0', 'application/json', 'cadmap-test-supplier'],
      ['case-1', 'application/xml', 'cadmap-test-supplier'],
    ]);
    expect(sandbox.accepted[1]!.case).toEqual(completeCase(1));
    await cqi.close();
  });

  it('refuses a client with no certificate, and one from another CA, at the TLS layer', async () => {
    await expect(rawGet({ ca: sandbox.ca.cert })).rejects.toThrow();
    await expect(rawGet({ ca: sandbox.ca.cert, cert: client.cert, key: client.key })).resolves.toBe(200);
    const stranger = await (await createTestCa('stranger CA')).issueClient('stranger');
    await expect(rawGet({ ca: sandbox.ca.cert, cert: stranger.cert, key: stranger.key })).rejects.toThrow();
    const cqi = makeClient({ tls: { cert: stranger.cert, key: stranger.key, ca: sandbox.ca.cert } });
    const outcome = await cqi.postCase('{}', 'application/json');
    // TLS 1.3 refuses a client certificate only by closing the connection after the request went out
    expect(['refused', 'unknown']).toContain(outcome.kind);
    expect(outcome.kind !== 'accepted' && outcome.diagnostics[0]?.code).toMatch(/^CQI_(TLS|NO_ANSWER)$/);
    await cqi.close();
  });

  it('refuses a service whose certificate is not from the configured CA (verification is always on)', async () => {
    const other = await createTestCa('other CA');
    const cqi = makeClient({ tls: { cert: client.cert, key: client.key, ca: other.cert } });
    const outcome = await cqi.postCase('{}', 'application/json');
    expect(outcome).toMatchObject({ kind: 'refused', diagnostics: [{ code: 'CQI_TLS' }] });
    await cqi.close();
  });

  it('sends the credentials header with its configured name and scheme, and reports a wrong one', async () => {
    const wrong = makeClient({ credentials: { header: 'X-CQI-Credentials', scheme: 'Bearer', value: 'c3VwcGxpZXI6c2VjcmV0' } });
    const outcome = await wrong.postCase(cqiEncoder('json').encode(completeCase(2)).body!, 'application/json');
    expect(outcome).toMatchObject({ kind: 'refused', status: 401, diagnostics: [{ code: 'CQI_AUTH' }] });
    expect(outcome.kind !== 'accepted' && outcome.diagnostics[0]?.message).not.toContain('c3VwcGxpZXI6c2VjcmV0');
    await wrong.close();
  });

  it('explains a rejected case with the fetched (and cached) exception codes', async () => {
    const cqi = makeClient();
    const broken = completeCase(3) as unknown as { case: { triageEnd: string }; status: string; finalDisposition?: unknown };
    broken.case.triageEnd = '2000-01-01T00:00:00Z';
    broken.status = 'complete';
    delete broken.finalDisposition;
    const outcome = await cqi.postCase(JSON.stringify(broken), 'application/json');
    expect(outcome.kind).toBe('rejected');
    if (outcome.kind !== 'rejected') {
      return;
    }
    expect(outcome.exceptions.map((e) => [e.code, e.description, e.path])).toEqual([
      ['CQI011', 'The triage ends before it starts.', 'Case.case.triageEnd'],
      ['CQI013', 'A complete case has no final disposition.', 'Case.finalDisposition'],
    ]);
    expect(outcome.diagnostics[0]).toMatchObject({ code: 'CQI_REJECTED', severity: 'error' });
    expect(outcome.diagnostics[0]?.message).toContain('CQI011 (The triage ends before it starts.)');
    const first = await cqi.exceptionCodes();
    const second = await cqi.exceptionCodes();
    expect(second.codes).toBe(first.codes);
    expect(first.codes?.get('CQI503')).toMatch(/closed/);
    await cqi.close();
  });

  it('refuses plain http and missing base URLs as configuration errors', () => {
    expect(CqiClient.create(options({ baseUrls: { uat: sandbox.url.replace('https', 'http') } })).diagnostics[0]?.code).toBe('CQI_CONFIG');
    expect(CqiClient.create(options({ environment: 'live', baseUrls: { uat: sandbox.url } })).diagnostics[0]?.message).toMatch(/live/);
  });
});

describe('the client as a pipeline target while the service is closed', () => {
  it('says unavailable and stop while closed (503, then connection refused), with nothing held, and accepted once open', async () => {
    const value = { ...structuredClone(cases[0]!), case: { ...cases[0]!.case, caseId: 'closed-0' } };
    const payload = { body: cqiEncoder('xml').encode(value).body!, mediaType: cqiEncoder('xml').mediaType };
    const client = makeClient();
    const target = client.asTarget();
    try {
      await sandbox.setAvailability('closed-503');
      expect(await target.submit({ key: 'closed-0', payload })).toMatchObject({ status: 'unavailable', stop: true, diagnostics: [{ code: 'CQI_UNAVAILABLE' }] });
      await sandbox.setAvailability('closed-refused');
      // a fresh connection pool: a kept-alive connection the service closed could have carried the request
      const refusing = makeClient();
      expect(await refusing.asTarget().submit({ key: 'closed-0', payload })).toMatchObject({ status: 'unavailable', stop: true, attempts: [{ number: 1 }] });
      await refusing.close();
      expect(sandbox.accepted.filter((a) => a.caseId === 'closed-0')).toEqual([]);
      await sandbox.setAvailability('open');
      expect(await target.submit({ key: 'closed-0', payload })).toMatchObject({ status: 'accepted', possibleDuplicate: false });
      expect(sandbox.accepted.filter((a) => a.caseId === 'closed-0')).toHaveLength(1);
      expect(await target.submit({ key: 'closed-0', payload }, { signal: AbortSignal.abort() })).toMatchObject({ status: 'not-sent', attempts: [] });
    } finally {
      await client.close();
    }
  });
});
