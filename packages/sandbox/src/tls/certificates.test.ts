import { once } from 'node:events';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createTestCa } from './certificates.js';

function get(port: number, options: { ca?: string; cert?: string; key?: string; servername?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', ...options }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('test CA', () => {
  it('issues server and client certificates that work for mutual TLS, and only with that CA', async () => {
    const ca = await createTestCa();
    const other = await createTestCa('other CA');
    const server = await ca.issueServer();
    const client = await ca.issueClient('cadmap-client');
    const stranger = await other.issueClient('stranger');
    const https = createServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.end(peer.subject.CN);
    });
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    const { port } = https.address() as AddressInfo;
    try {
      await expect(get(port, { ca: ca.cert, cert: client.cert, key: client.key })).resolves.toEqual({ status: 200, body: 'cadmap-client' });
      await expect(get(port, { ca: ca.cert })).rejects.toThrow();
      await expect(get(port, { ca: ca.cert, cert: stranger.cert, key: stranger.key })).rejects.toThrow();
      await expect(get(port, { ca: other.cert, cert: client.cert, key: client.key })).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    } finally {
      https.close();
    }
  });
});
