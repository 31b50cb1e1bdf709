import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, startCqiSandbox, type CqiSandbox, type PemPair } from '@cadmap/sandbox';
import { SqliteCqiQueue } from '../queue/queue.js';
import { CqiSender } from '../sender.js';
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
    expect(outcome.kind === 'refused' || outcome.kind === 'unavailable').toBe(true);
    expect(outcome.kind !== 'accepted' && outcome.diagnostics[0]?.code).toMatch(/^CQI_(TLS|UNAVAILABLE)$/);
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

describe('durable queue while the service is closed', () => {
  it('queues cases while closed (503, then connection refused), across a restart of the sender, and delivers all once open', async () => {
    const file = join(dir, 'queue.sqlite');
    let clock = 1_000_000;
    const now = (): number => clock;
    const ids = ['closed-0', 'closed-1', 'closed-2', 'closed-3'];
    const values = ids.map((caseId, index) => ({ ...structuredClone(cases[index % cases.length]!), case: { ...cases[index % cases.length]!.case, caseId } }));

    await sandbox.setAvailability('closed-503');
    const firstClient = makeClient();
    const firstQueue = new SqliteCqiQueue(file);
    const first = new CqiSender({ client: firstClient, queue: firstQueue, encoder: cqiEncoder('xml'), now });
    const results = [];
    for (const value of values.slice(0, 3)) {
      results.push((await first.submit(value)).outcome);
    }
    expect(results.map((r) => [r.caseId, r.status])).toEqual([['closed-0', 'queued'], ['closed-1', 'queued'], ['closed-2', 'queued']]);
    expect(results[0]?.diagnostics.map((d) => d.code)).toEqual(['CQI_UNAVAILABLE']);
    expect(firstQueue.count()).toBe(3);
    // the sending process goes away while the service is still closed
    firstQueue.close();
    await firstClient.close();

    await sandbox.setAvailability('closed-refused');
    const secondClient = makeClient();
    const secondQueue = new SqliteCqiQueue(file);
    const second = new CqiSender({ client: secondClient, queue: secondQueue, encoder: cqiEncoder('xml'), now });
    expect(second.enqueue(values[3])).toMatchObject({ status: 'queued' });
    clock += 60 * 60_000;
    const refused = await second.flush();
    expect(refused.outcomes.map((o) => o.status)).toEqual(['queued']);
    expect(refused.stoppedBy?.[0]?.code).toBe('CQI_UNAVAILABLE');
    expect(refused.pending).toBe(4);
    expect(sandbox.accepted.filter((a) => a.caseId.startsWith('closed-'))).toEqual([]);

    await sandbox.setAvailability('open');
    const notYet = await second.flush();
    expect(notYet.outcomes).toEqual([]);
    clock += 60 * 60_000;
    const delivered = await second.flush();
    expect(delivered.outcomes.map((o) => [o.caseId, o.status])).toEqual(ids.map((id) => [id, 'delivered']));
    expect(delivered.pending).toBe(0);
    expect(sandbox.accepted.filter((a) => a.caseId.startsWith('closed-')).map((a) => a.caseId)).toEqual(ids);
    expect(secondQueue.count('delivered')).toBe(4);
    secondQueue.close();
    await secondClient.close();
  });
});
