import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createTestCa, startWrongServer, verificationOverrides, withEnvironment, wrongCertificates, type PemPair, type TestCa, type WrongServerAnswer } from '@cadmap/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validCqiCase } from '../testing/arbitraries.js';
import { cqiEncoder } from '../wire/encoders.js';
import { CqiClient } from './client.js';

const answer: WrongServerAnswer = (method) => ({ status: 200, body: method === 'GET' ? '[{"code":"CQI000","description":"stolen"}]' : '{}' });

let configuredCa: TestCa;
let otherCa: TestCa;
let clientPair: PemPair;
let dir: string;
const encoder = cqiEncoder('json');
const [sample] = fc.sample(validCqiCase, { numRuns: 1, seed: 7 });

beforeAll(async () => {
  configuredCa = await createTestCa('configured CA');
  otherCa = await createTestCa('other CA');
  clientPair = await configuredCa.issueClient('cadmap-test-supplier');
  dir = mkdtempSync(join(tmpdir(), 'cqi-tls-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function clientFor(url: string): CqiClient {
  const { client, diagnostics } = CqiClient.create({
    environment: 'uat',
    baseUrls: { uat: url },
    tls: { ...clientPair, ca: configuredCa.cert },
    credentials: { header: 'X-CQI-Credentials', scheme: 'Basic', value: 'c2VjcmV0' },
    timeoutMs: 5_000,
  });
  expect(diagnostics).toEqual([]);
  return client!;
}

/** Each wrong server, and what the diagnostic must say about it. */
const wrongServers = wrongCertificates(() => configuredCa, () => otherCa);
const hint = /CA that issued the service certificate.*host matches.*in date.*Verification is never turned off/s;

describe('CQI refuses a service it cannot verify (real HTTPS on 127.0.0.1)', () => {
  it.each(wrongServers)('posting a case to $name: refused with CQI_TLS, one connection, nothing sent', async ({ issue, problem }) => {
    const server = await startWrongServer(await issue(), answer);
    const client = clientFor(server.url);
    try {
      const outcome = await client.postCase(encoder.encode(sample).body!, encoder.mediaType);
      expect(outcome).toMatchObject({ kind: 'refused', diagnostics: [{ code: 'CQI_TLS', severity: 'error' }] });
      const [diagnostic] = outcome.kind === 'refused' ? outcome.diagnostics : [];
      expect(diagnostic?.message).toMatch(problem);
      expect(diagnostic?.hint).toMatch(hint);
      expect(server.connections()).toBe(1);
      expect(server.requests).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it.each(wrongServers)('fetching the exception codes from $name: CQI_TLS, nothing sent', async ({ issue, problem }) => {
    const server = await startWrongServer(await issue(), answer);
    const client = clientFor(server.url);
    try {
      const { codes, diagnostics } = await client.exceptionCodes();
      expect(codes).toBeUndefined();
      expect(diagnostics).toMatchObject([{ code: 'CQI_TLS', severity: 'error' }]);
      expect(diagnostics[0]?.message).toMatch(problem);
      expect(diagnostics[0]?.hint).toMatch(hint);
      expect(server.requests).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('as a target, says not-sent and stop on a TLS refusal (no retry loop)', async () => {
    const server = await startWrongServer(await otherCa.issueServer(), answer);
    const client = clientFor(server.url);
    try {
      const encoded = encoder.encode(sample);
      const outcome = await client.asTarget().submit({ key: 'tls', payload: { body: encoded.body!, mediaType: encoder.mediaType } });
      expect(outcome).toMatchObject({ status: 'not-sent', stop: true, attempts: [] });
      expect(outcome.diagnostics.map((d) => d.code)).toEqual(['CQI_TLS']);
      expect(server.connections()).toBe(1);
      expect(server.requests).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('a service with a valid certificate from the configured CA is accepted (the tests above can fail)', async () => {
    const server = await startWrongServer(await configuredCa.issueServer(), answer);
    const client = clientFor(server.url);
    try {
      expect(await client.postCase(encoder.encode(sample).body!, encoder.mediaType)).toMatchObject({ kind: 'accepted' });
      expect(server.requests).toHaveLength(1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('still refuses a wrong-CA service when NODE_TLS_REJECT_UNAUTHORIZED=0 is set in the environment', async () => {
    const server = await startWrongServer(await otherCa.issueServer(), answer);
    try {
      await withEnvironment('NODE_TLS_REJECT_UNAUTHORIZED', '0', async () => {
        const client = clientFor(server.url);
        try {
          const outcome = await client.postCase(encoder.encode(sample).body!, encoder.mediaType);
          expect(outcome).toMatchObject({ kind: 'refused', diagnostics: [{ code: 'CQI_TLS' }] });
          expect(server.requests).toEqual([]);
        } finally {
          await client.close();
        }
      });
    } finally {
      await server.close();
    }
  });

  it('has no way to turn verification off: every Agent sets rejectUnauthorized: true, nothing overrides the check', () => {
    const { files, problems } = verificationOverrides(join(import.meta.dirname, '..'));
    expect(files).toBeGreaterThan(3);
    expect(problems).toEqual([]);
  });
});
