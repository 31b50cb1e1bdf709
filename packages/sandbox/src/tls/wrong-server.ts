import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PemPair, TestCa } from './certificates.js';

/** An HTTPS server on 127.0.0.1 that a client should never talk to: it counts connections and records any request. */
export interface WrongServer {
  readonly url: string;
  readonly connections: () => number;
  readonly requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

/** What a wrong server answers a request that did reach it (so a client that should have refused sees success). */
export type WrongServerAnswer = (method: string, path: string) => { readonly status: number; readonly body: string };

/** Starts a {@link WrongServer} with the given certificate, answering every request with `answer`. */
export async function startWrongServer(pair: PemPair, answer: WrongServerAnswer): Promise<WrongServer> {
  const requests: WrongServer['requests'] = [];
  let connections = 0;
  const server: Server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    let body = '';
    req.on('data', (data: Buffer) => (body += data.toString('latin1')));
    req.on('end', () => {
      const method = req.method ?? '';
      const path = req.url ?? '';
      requests.push({ method, path, body });
      const { status, body: reply } = answer(method, path);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(reply);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One server certificate a client must refuse, and what its TLS diagnostic must say. */
export interface WrongCertificate {
  readonly name: string;
  readonly issue: () => Promise<PemPair>;
  readonly problem: RegExp;
}

/**
 * The certificates every adapter must refuse when it trusts `configured()`: one from `other()`, one for another
 * name, one for `localhost` without an IP SAN reached as 127.0.0.1, and an expired one. The CAs are read when a
 * certificate is issued, so they may be created in a `beforeAll`.
 */
export function wrongCertificates(configured: () => TestCa, other: () => TestCa): readonly WrongCertificate[] {
  return [
    { name: 'a certificate from another CA', issue: () => other().issueServer(), problem: /not issued by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/ },
    { name: 'a certificate for other.example only', issue: () => configured().issueServer({ hosts: ['other.example'] }), problem: /does not name the host in the URL \(ERR_TLS_CERT_ALTNAME_INVALID/ },
    { name: 'a certificate for localhost without an IP SAN, reached as 127.0.0.1', issue: () => configured().issueServer({ hosts: ['localhost'] }), problem: /does not name the host in the URL \(ERR_TLS_CERT_ALTNAME_INVALID/ },
    { name: 'an expired certificate', issue: () => configured().issueServer({ validDays: -1 }), problem: /has expired \(CERT_HAS_EXPIRED/ },
  ];
}
