import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { validateCqiCase, type CqiCase, type Diagnostic, type DiagnosticCode } from '@cadmap/core';
import { createTestCa, type PemPair, type TestCa } from '../tls/certificates.js';

/** `open`; `closed-503`: answers every request with 503 (out of hours); `closed-refused`: not listening at all. */
export type CqiAvailability = 'open' | 'closed-503' | 'closed-refused';

/** An entry of the sandbox's `cqiExceptionCodes` list. */
export interface CqiExceptionCode {
  readonly code: string;
  readonly description: string;
}

/** A case the sandbox accepted. */
export interface AcceptedCqiCase {
  readonly caseId: string;
  readonly mediaType: string;
  readonly case: CqiCase;
  /** Common name of the client certificate that sent it. */
  readonly client: string;
}

export interface CqiSandboxOptions {
  /** The CA that issues the server certificate and whose client certificates are accepted (default: a fresh one). */
  readonly ca?: TestCa;
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** When set, requests must carry this header with exactly this value (e.g. `{ header: 'X-CQI-Credentials', value: 'Basic …' }`). */
  readonly credentials?: { readonly header: string; readonly value: string };
  readonly availability?: CqiAvailability;
  readonly exceptionCodes?: readonly CqiExceptionCode[];
  /**
   * Reads an XML payload into a (not yet validated) case; XML is refused with 415 without one. The sandbox
   * imports no adapter, so pass the adapter's decoder (`decodePathwaysXml` of @cadmap/adapter-cqi).
   */
  readonly decodeXml?: (body: string) => { value?: unknown; diagnostics: readonly Diagnostic[] };
}

export interface CqiSandbox {
  /** Base URL, e.g. `https://127.0.0.1:43123`; the API is under `/api/v1/`. */
  readonly url: string;
  readonly port: number;
  /** The CA: trust its certificate and present a client certificate it issued. */
  readonly ca: TestCa;
  readonly accepted: readonly AcceptedCqiCase[];
  /** Every POST /api/v1/cqiCase the sandbox answered (accepted, rejected or closed). */
  readonly received: number;
  availability(): CqiAvailability;
  setAvailability(mode: CqiAvailability): Promise<void>;
  issueClient(commonName: string): Promise<PemPair>;
  close(): Promise<void>;
}

/** The sandbox's exception codes (the real list comes from the service; its format is not public). */
export const defaultCqiExceptionCodes: readonly CqiExceptionCode[] = [
  { code: 'CQI001', description: 'The payload is not well-formed JSON or XML.' },
  { code: 'CQI002', description: 'Unsupported media type: send application/json or application/xml.' },
  { code: 'CQI010', description: 'The case does not match the case schema (missing, unknown or mistyped member).' },
  { code: 'CQI011', description: 'The triage ends before it starts.' },
  { code: 'CQI012', description: 'A triage line has its time out before its time in.' },
  { code: 'CQI013', description: 'A complete case has no final disposition.' },
  { code: 'CQI014', description: 'Triage lines are not in sequence.' },
  { code: 'CQI015', description: 'Unsupported case schema version.' },
  { code: 'CQI401', description: 'Access credentials missing or not recognised.' },
  { code: 'CQI503', description: 'The service is closed (bronze service: 08:00-18:00 Monday to Friday).' },
];

const exceptionOf: Partial<Record<DiagnosticCode, string>> = {
  CQI_WIRE_SYNTAX: 'CQI001',
  CQI_SCHEMA: 'CQI010',
  CQI_TRIAGE_TIME_ORDER: 'CQI011',
  CQI_LINE_TIME_ORDER: 'CQI012',
  CQI_FINAL_DISPOSITION_MISSING: 'CQI013',
  CQI_LINE_SEQUENCE: 'CQI014',
  CQI_SCHEMA_VERSION: 'CQI015',
};

/**
 * Starts a local CQI API over HTTPS on 127.0.0.1 that demands a client certificate issued by the sandbox CA (others
 * are refused in the TLS handshake), validates posted cases against the cqi-case schema, serves its exception codes,
 * records accepted cases, and can play closed out of hours.
 */
export async function startCqiSandbox(options: CqiSandboxOptions = {}): Promise<CqiSandbox> {
  const ca = options.ca ?? (await createTestCa('cadmap CQI sandbox CA'));
  const host = options.host ?? '127.0.0.1';
  const serverPair = await ca.issueServer({ hosts: [host, 'localhost'] });
  const exceptionCodes = options.exceptionCodes ?? defaultCqiExceptionCodes;
  const accepted: AcceptedCqiCase[] = [];
  const bodies = new Map<string, string>();
  let received = 0;
  let mode: CqiAvailability = options.availability ?? 'open';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const reject = (res: ServerResponse, status: number, exceptions: { code: string; message: string; path?: string }[]): void => send(res, status, { accepted: false, exceptions });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/v1/cqiCase' && req.method === 'POST') {
      received++;
    }
    if (mode === 'closed-503') {
      reject(res, 503, [{ code: 'CQI503', message: 'Service closed.' }]);
      return;
    }
    if (options.credentials && req.headers[options.credentials.header.toLowerCase()] !== options.credentials.value) {
      reject(res, 401, [{ code: 'CQI401', message: `Header ${options.credentials.header} missing or not recognised.` }]);
      return;
    }
    if (path === '/api/v1/cqiExceptionCodes' && req.method === 'GET') {
      send(res, 200, { exceptionCodes });
      return;
    }
    if (path !== '/api/v1/cqiCase') {
      send(res, 404, { error: `No route ${req.method ?? ''} ${path ?? ''}` });
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, { error: 'Use POST.' }, { allow: 'POST' });
      return;
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let value: unknown;
    const wire: Diagnostic[] = [];
    if (mediaType === 'application/json') {
      try {
        value = JSON.parse(body);
      } catch (error) {
        reject(res, 400, [{ code: 'CQI001', message: String(error) }]);
        return;
      }
    } else if ((mediaType === 'application/xml' || mediaType === 'text/xml') && options.decodeXml) {
      const decoded = options.decodeXml(body);
      wire.push(...decoded.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal'));
      value = decoded.value;
    } else {
      reject(res, 415, [{ code: 'CQI002', message: `Content-Type ${mediaType || '(none)'} is not accepted.` }]);
      return;
    }
    const problems = [...wire, ...(value !== undefined ? validateCqiCase(value).diagnostics.filter((d) => d.severity === 'error') : [])];
    if (problems.length > 0 || value === undefined) {
      reject(res, 400, problems.map((d) => ({ code: exceptionOf[d.code] ?? 'CQI010', message: d.message, ...(d.expression !== undefined ? { path: d.expression } : {}) })));
      return;
    }
    const cqiCase = value as CqiCase;
    const caseId = cqiCase.case.caseId;
    const canonical = JSON.stringify(cqiCase);
    if (bodies.get(caseId) === canonical) {
      send(res, 200, { accepted: true, caseId, duplicate: true });
      return;
    }
    bodies.set(caseId, canonical);
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    accepted.push({ caseId, mediaType, case: cqiCase, client: typeof peer.subject?.CN === 'string' ? peer.subject.CN : '' });
    send(res, 201, { accepted: true, caseId });
  };

  const server: Server = createServer({ cert: serverPair.cert, key: serverPair.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        send(res, 500, { error: String(error) });
      } else {
        res.destroy();
      }
    });
  });
  const listen = async (port: number): Promise<number> => {
    server.listen(port, host);
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  };
  const stop = async (): Promise<void> => {
    if (server.listening) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
  };
  const port = await listen(options.port ?? 0);
  if (mode === 'closed-refused') {
    await stop();
  }

  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    ca,
    accepted,
    get received() {
      return received;
    },
    availability: () => mode,
    async setAvailability(next) {
      if (next === 'closed-refused' && server.listening) {
        await stop();
      } else if (next !== 'closed-refused' && !server.listening) {
        await listen(port);
      }
      mode = next;
    },
    issueClient: (commonName) => ca.issueClient(commonName),
    close: stop,
  };
}
