import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { startCqiSandbox, type CqiSandbox, type PemPair } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CqiEvent } from './events.js';
import { SqliteCqiQueue } from './queue/queue.js';
import { CqiSender } from './sender.js';
import { validCqiCase } from './testing/arbitraries.js';
import { CqiClient } from './transport/client.js';
import { cqiEncoder } from './wire/encoders.js';
import { decodePathwaysXml } from './wire/pathways-xml.js';

const credential = 'ZXZlbnRzOnNlY3JldA==';
let sandbox: CqiSandbox;
let certificate: PemPair;
let dir: string;

beforeAll(async () => {
  sandbox = await startCqiSandbox({ decodeXml: decodePathwaysXml, credentials: { header: 'X-CQI-Credentials', value: `Basic ${credential}` } });
  certificate = await sandbox.issueClient('cadmap-events');
  dir = mkdtempSync(join(tmpdir(), 'cqi-events-'));
});
afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CQI client and sender events', () => {
  it('tell of each request and answer and of each case in the queue, without secrets or content', async () => {
    const events: CqiEvent[] = [];
    const onEvent = (event: CqiEvent): number => events.push(event);
    const { client } = CqiClient.create({
      environment: 'uat',
      baseUrls: { uat: sandbox.url },
      tls: { cert: certificate.cert, key: certificate.key, ca: sandbox.ca.cert },
      credentials: { header: 'X-CQI-Credentials', scheme: 'Basic', value: credential },
      onEvent,
    });
    const queue = new SqliteCqiQueue(join(dir, 'queue.sqlite'));
    const sender = new CqiSender({ client: client!, queue, encoder: cqiEncoder('json'), onEvent });
    const [good, later] = fc.sample(validCqiCase, { numRuns: 2, seed: 7 }).map((value, index) => ({ ...value, case: { ...value.case, caseId: `events-${index}` } }));
    try {
      const delivered = await sender.submit(good);
      expect(delivered.outcome.status).toBe('delivered');
      expect(sender.enqueue({ schemaVersion: 'cqi-case/1.0.0', case: { caseId: 'broken' } }).status).toBe('invalid');
      await sandbox.setAvailability('closed-503');
      expect((await sender.submit(later)).outcome.status).toBe('queued');
      await sandbox.setAvailability('open');
    } finally {
      queue.close();
      await client!.close();
    }
    expect(events.map((e) => e.type)).toEqual(['queued', 'request', 'response', 'delivered', 'invalid', 'queued', 'request', 'response', 'request', 'response', 'postponed']);
    expect(events[0]).toMatchObject({ type: 'queued', caseId: 'events-0', queueId: expect.any(Number) as number, mediaType: 'application/json', bytes: expect.any(Number) as number });
    expect(events[1]).toMatchObject({ type: 'request', service: 'cqi', method: 'POST', url: `${sandbox.url}/api/v1/cqiCase`, bytes: expect.any(Number) as number });
    expect(events[2]).toMatchObject({ type: 'response', service: 'cqi', method: 'POST', url: `${sandbox.url}/api/v1/cqiCase`, status: 201 });
    expect(events[3]).toMatchObject({ type: 'delivered', caseId: 'events-0', status: 201 });
    expect(events[4]).toMatchObject({ type: 'invalid', caseId: 'broken' });
    expect(events[8]).toMatchObject({ type: 'request', method: 'GET', url: `${sandbox.url}/api/v1/cqiExceptionCodes` });
    expect(events[10]).toMatchObject({ type: 'postponed', caseId: 'events-1', reason: 'unavailable', status: 503, attempts: 1 });
    const text = JSON.stringify(events);
    expect(text).not.toContain(credential);
    expect(text).not.toMatch(/PRIVATE KEY|triage/i);
  });

  it('tell of a connection that fails, with its error codes', async () => {
    const events: CqiEvent[] = [];
    const { client } = CqiClient.create({ environment: 'uat', baseUrls: { uat: sandbox.url }, tls: { cert: certificate.cert, key: certificate.key, ca: sandbox.ca.cert }, onEvent: (event) => events.push(event) });
    await sandbox.setAvailability('closed-refused');
    try {
      expect((await client!.postCase('{}', 'application/json')).kind).toBe('unavailable');
    } finally {
      await sandbox.setAvailability('open');
      await client!.close();
    }
    expect(events[1]).toMatchObject({ type: 'network-failure', method: 'POST', url: `${sandbox.url}/api/v1/cqiCase`, failure: 'connect', cause: 'ECONNREFUSED', outcomeUnknown: false });
  });
});
