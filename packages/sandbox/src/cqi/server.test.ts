import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import { createTestCa, type PemPair } from '../tls/certificates.js';
import { startCqiSandbox, type CqiSandbox } from './server.js';

interface Reply {
  readonly status: number;
  readonly body: string;
}

function call(sandbox: CqiSandbox, tls: { ca?: string; cert?: string; key?: string }, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${sandbox.url}${path}`, { method, ...tls, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const validCase = (caseId: string): Record<string, unknown> => ({
  schemaVersion: 'cqi-case/1.0.0',
  status: 'complete',
  case: { caseId, triageStart: '2024-03-01T11:14:52.4312169Z', triageEnd: '2024-03-01T11:17:20Z', pathwaysReleaseId: '36.2.0' },
  operator: { callHandlerUserId: 'JW' },
  finalDisposition: { system: 'https://fhir.nhs.uk/Id/pathways-dx-code', code: 'Dx75' },
  triageLines: [{ sequence: 1, timeIn: '2024-03-01T11:15:00Z', timeOut: '2024-03-01T11:15:30Z', nodeId: 'Tx220074' }],
});

describe('CQI sandbox', () => {
  it('demands a client certificate of its CA, validates cases, serves exception codes and records what it accepts', async () => {
    const sandbox = await startCqiSandbox();
    const client: PemPair = await sandbox.issueClient('supplier-a');
    const tls = { ca: sandbox.ca.cert, cert: client.cert, key: client.key };
    try {
      await expect(call(sandbox, { ca: sandbox.ca.cert }, 'GET', '/api/v1/cqiExceptionCodes')).rejects.toThrow();
      const stranger = await (await createTestCa('stranger')).issueClient('stranger');
      await expect(call(sandbox, { ca: sandbox.ca.cert, cert: stranger.cert, key: stranger.key }, 'GET', '/api/v1/cqiExceptionCodes')).rejects.toThrow();

      const codes = await call(sandbox, tls, 'GET', '/api/v1/cqiExceptionCodes');
      expect(codes.status).toBe(200);
      expect((JSON.parse(codes.body) as { exceptionCodes: { code: string }[] }).exceptionCodes.map((c) => c.code)).toContain('CQI012');

      expect(await call(sandbox, tls, 'POST', '/api/v1/cqiCase', JSON.stringify(validCase('c1')))).toMatchObject({ status: 201 });
      expect(await call(sandbox, tls, 'POST', '/api/v1/cqiCase', JSON.stringify(validCase('c1')))).toMatchObject({ status: 200, body: expect.stringContaining('"duplicate":true') });
      const broken = validCase('c2') as { triageLines: { timeOut: string }[] };
      broken.triageLines[0]!.timeOut = '2024-03-01T11:14:00Z';
      const rejected = await call(sandbox, tls, 'POST', '/api/v1/cqiCase', JSON.stringify(broken));
      expect(rejected.status).toBe(400);
      expect(JSON.parse(rejected.body)).toEqual({ accepted: false, exceptions: [expect.objectContaining({ code: 'CQI012', path: 'Case.triageLines[0].timeOut' })] });
      expect((await call(sandbox, tls, 'POST', '/api/v1/cqiCase', '{ nope')).body).toContain('CQI001');
      expect(await call(sandbox, tls, 'POST', '/api/v1/cqiCase', '<NHSPathways/>', { 'content-type': 'application/xml' })).toMatchObject({ status: 415, body: expect.stringContaining('CQI002') });
      expect(sandbox.accepted.map((a) => [a.caseId, a.client])).toEqual([['c1', 'supplier-a']]);
      expect(sandbox.received).toBe(5);
    } finally {
      await sandbox.close();
    }
  });

  it('plays closed out of hours: 503, then refused connections, then open again on the same URL', async () => {
    const sandbox = await startCqiSandbox({ credentials: { header: 'X-Creds', value: 'Basic abc' } });
    const client = await sandbox.issueClient('supplier-b');
    const tls = { ca: sandbox.ca.cert, cert: client.cert, key: client.key };
    const headers = { 'X-Creds': 'Basic abc' };
    try {
      expect(await call(sandbox, tls, 'GET', '/api/v1/cqiExceptionCodes')).toMatchObject({ status: 401, body: expect.stringContaining('CQI401') });
      await sandbox.setAvailability('closed-503');
      expect(await call(sandbox, tls, 'POST', '/api/v1/cqiCase', JSON.stringify(validCase('c1')), headers)).toMatchObject({ status: 503 });
      await sandbox.setAvailability('closed-refused');
      await expect(call(sandbox, tls, 'GET', '/api/v1/cqiExceptionCodes', undefined, headers)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await sandbox.setAvailability('open');
      expect(await call(sandbox, tls, 'POST', '/api/v1/cqiCase', JSON.stringify(validCase('c1')), headers)).toMatchObject({ status: 201 });
      expect(sandbox.accepted).toHaveLength(1);
    } finally {
      await sandbox.close();
    }
  });
});
