import { createHash, createPublicKey, generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createTestCa, type TestCa } from '../tls/certificates.js';
import { FaultInjector, type DpsFaultKind, type DpsFaultPlan } from './faults.js';
import { TokenEndpoint, type JsonWebKeySet, type SandboxApplication } from './token-endpoint.js';
import { notifyOverMesh, type DpsMeshNotifications } from '../mesh/dps-notifications.js';

const generateRsa = promisify(generateKeyPair);

/** Options of {@link startDpsSandbox}. */
export interface DpsSandboxOptions {
  /** Listen port; 0 (default) picks a free one. Always 127.0.0.1. */
  readonly port?: number;
  /** Base path of the API (default `/ambulance-data-submission`). */
  readonly basePath?: string;
  /** API key of the registered application (default: random). */
  readonly apiKey?: string;
  /** Key ID of the generated key (default `cadmap-sandbox-rs512`). */
  readonly kid?: string;
  /** RSA modulus of the generated key (default 4096, as NHS England asks; tests may use 2048). */
  readonly keyBits?: number;
  /** Replace the registered JWKS; `null` registers none. Default: the generated key's public JWK. */
  readonly jwks?: JsonWebKeySet | null;
  /** `false`: the application is not subscribed (token requests get 401 `unauthorized_client`). */
  readonly subscribed?: boolean;
  /** `expires_in` of issued tokens (default 3599). */
  readonly tokenLifetimeSeconds?: number;
  /** Name of the receipt property: `message` (the API spec, default) or `id` (the INT Postman suite). */
  readonly receiptField?: 'message' | 'id';
  readonly faults?: DpsFaultPlan;
  /** Epoch milliseconds (token expiry checks, request timestamps). */
  readonly now?: () => number;
  /** A CA to issue the server certificate from (default: a fresh one). */
  readonly ca?: TestCa;
  /** Send DPS error notifications over MESH for a share of accepted bundles (the MESH loop end to end). */
  readonly meshNotifications?: DpsMeshNotifications;
}

/** One bundle the sandbox accepted. */
export interface AcceptedSubmission {
  readonly receipt: string;
  /** The CAD call identifier (`system|value` of the Communication's first identifier), else the bundle id. */
  readonly callKey: string;
  readonly bundleId?: string;
  readonly requestId?: string;
  readonly correlationId?: string;
  /** SHA-256 of the request body: equal digests are the same submission sent twice. */
  readonly digest: string;
  readonly at: number;
  readonly bundle: unknown;
}

/** What the sandbox holds, like DPS: the latest bundle per call, plus every acceptance to measure duplicates. */
export interface DpsSandboxState {
  /** Every acceptance in order. */
  readonly submissions: readonly AcceptedSubmission[];
  /** The latest acceptance per call: what DPS would hold. */
  readonly latestByCall: ReadonlyMap<string, AcceptedSubmission>;
  /** How many times each bundle id was accepted (new versions of a call usually keep its bundle id). */
  readonly acceptancesByBundle: ReadonlyMap<string, number>;
  /** How many times each exact body (by digest) was accepted. */
  readonly acceptancesByDigest: ReadonlyMap<string, number>;
  /** Acceptances beyond the first of the same exact body: true duplicates. */
  readonly duplicates: number;
}

/** One request the sandbox saw, with what it did. */
export interface DpsSandboxRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly requestId?: string;
  readonly correlationId?: string;
  readonly contentType?: string;
  /** HTTP status answered, or what happened instead. */
  readonly outcome: number | 'dropped' | 'lost-after-accept' | 'abandoned';
  readonly fault?: DpsFaultKind;
}

/** A running local DPS. */
export interface DpsSandbox {
  /** API base URL: POST `${url}/$process-message`. */
  readonly url: string;
  readonly tokenUrl: string;
  readonly port: number;
  /** The CA certificate (PEM) to trust. */
  readonly ca: string;
  readonly apiKey: string;
  readonly kid: string;
  /** The application's private key (PKCS#8 PEM). */
  readonly privateKeyPem: string;
  /** The JWKS registered with the application (public). */
  readonly jwks: JsonWebKeySet | null;
  accepted(): DpsSandboxState;
  requests(): readonly DpsSandboxRequest[];
  tokensIssued(): number;
  faultsInjected(): Readonly<Record<DpsFaultKind, number>>;
  /** Replaces the fault plan for later requests. */
  setFaults(plan: DpsFaultPlan): void;
  /** Existing tokens answer 403 `invalid access token` (key management revoked them). */
  revokeTokens(): void;
  /** Existing tokens answer 401 (as if expired). */
  expireTokens(): void;
  close(): Promise<void>;
}

interface IssuedToken {
  readonly apiKey: string;
  readonly expiresAt: number;
  state: 'valid' | 'revoked' | 'expired';
}

const maxBodyBytes = 20 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) {
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

const headerOf = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The CAD call identifier of an ADS bundle: the Communication's first identifier, else the bundle id. */
export function callKeyOf(bundle: unknown): string | undefined {
  const b = bundle as { id?: unknown; entry?: { resource?: { resourceType?: unknown; identifier?: { system?: unknown; value?: unknown }[] } }[] };
  for (const entry of Array.isArray(b.entry) ? b.entry : []) {
    const resource = entry?.resource;
    const identifier = resource?.resourceType === 'Communication' && Array.isArray(resource.identifier) ? resource.identifier[0] : undefined;
    if (identifier && typeof identifier.value === 'string') {
      return `${typeof identifier.system === 'string' ? identifier.system : ''}|${identifier.value}`;
    }
  }
  return typeof b.id === 'string' ? b.id : undefined;
}

/**
 * Starts a local DPS over HTTPS on 127.0.0.1 with certificates and an application key pair generated now:
 * `POST {base}/$process-message` (bearer token, receipts, recording) and `POST /oauth2/token` (signed-JWT client
 * credentials validated as `dps-api.md` documents), with configurable fault injection.
 */
export async function startDpsSandbox(options: DpsSandboxOptions = {}): Promise<DpsSandbox> {
  const now = options.now ?? Date.now;
  const basePath = (options.basePath ?? '/ambulance-data-submission').replace(/\/+$/, '');
  const apiKey = options.apiKey ?? `sandbox-${randomBytes(12).toString('hex')}`;
  const kid = options.kid ?? 'cadmap-sandbox-rs512';
  const ca = options.ca ?? (await createTestCa('cadmap DPS sandbox CA'));
  const [server, keys] = await Promise.all([
    ca.issueServer({ hosts: ['127.0.0.1', 'localhost'] }),
    generateRsa('rsa', { modulusLength: options.keyBits ?? 4096, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }),
  ]);
  const publicJwk = { ...createPublicKey(keys.publicKey).export({ format: 'jwk' }), kid, alg: 'RS512', use: 'sig' };
  const jwks: JsonWebKeySet | null = options.jwks === undefined ? { keys: [publicJwk] } : options.jwks;
  const application: SandboxApplication = { apiKey, jwks, subscribed: options.subscribed ?? true };

  const tokens = new Map<string, IssuedToken>();
  const submissions: AcceptedSubmission[] = [];
  const latestByCall = new Map<string, AcceptedSubmission>();
  const acceptancesByBundle = new Map<string, number>();
  const acceptancesByDigest = new Map<string, number>();
  const requestLog: DpsSandboxRequest[] = [];
  let faults = new FaultInjector(options.faults);
  let tokensIssued = 0;

  const https: Server = createServer({ cert: server.cert, key: server.key, keepAliveTimeout: 10_000 });
  https.listen(options.port ?? 0, '127.0.0.1');
  await once(https, 'listening');
  const port = (https.address() as AddressInfo).port;
  const origin = `https://127.0.0.1:${port}`;
  const tokenUrl = `${origin}/oauth2/token`;
  const tokenEndpoint = new TokenEndpoint({
    tokenUrl,
    applications: [application],
    now,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    issue: (owner, expiresAt) => {
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, { apiKey: owner, expiresAt, state: 'valid' });
      tokensIssued++;
      return token;
    },
  });

  const processMessage = async (req: IncomingMessage, res: ServerResponse, log: (entry: Omit<DpsSandboxRequest, 'at' | 'method' | 'path' | 'requestId' | 'correlationId' | 'contentType'>) => void): Promise<void> => {
    if (req.method !== 'POST') {
      log({ outcome: 405 });
      json(res, 405, { error: `Request method must be POST, not ${req.method ?? ''}` });
      return;
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(headerOf(req, 'authorization') ?? '')?.[1];
    const token = bearer === undefined ? undefined : tokens.get(bearer);
    if (token?.state === 'revoked') {
      log({ outcome: 403 });
      json(res, 403, { error: 'invalid access token' });
      return;
    }
    if (!token || token.state === 'expired' || token.expiresAt <= now()) {
      log({ outcome: 401 });
      json(res, 401, { error: 'invalid/missing access token' });
      return;
    }
    const fault = faults.next();
    const withFault = fault ? { fault } : {};
    if (fault === 'rate-limit') {
      const retryAfter = faults.plan.retryAfterSeconds === undefined ? 1 : faults.plan.retryAfterSeconds;
      log({ outcome: 429, ...withFault });
      req.resume();
      json(res, 429, { error: 'rate limit exceeded' }, retryAfter === null ? {} : { 'retry-after': String(retryAfter) });
      return;
    }
    if (fault === 'server-error') {
      log({ outcome: 500, ...withFault });
      req.resume();
      json(res, 500);
      return;
    }
    if (fault === 'drop') {
      log({ outcome: 'dropped', ...withFault });
      req.socket.destroy();
      return;
    }
    const text = await readBody(req);
    if (fault === 'slow') {
      await delay(faults.plan.slowMs ?? 1_000);
      if (res.destroyed || req.socket.destroyed) {
        log({ outcome: 'abandoned', ...withFault });
        return;
      }
    }
    if (text === undefined) {
      log({ outcome: 413, ...withFault });
      json(res, 413, { error: 'Payload too large' });
      return;
    }
    let bundle: unknown;
    try {
      bundle = JSON.parse(text);
    } catch {
      log({ outcome: 400, ...withFault });
      json(res, 400, { error: 'Request body is not valid JSON' });
      return;
    }
    const callKey = callKeyOf(bundle);
    if (typeof bundle !== 'object' || bundle === null || (bundle as { resourceType?: unknown }).resourceType !== 'Bundle' || callKey === undefined) {
      log({ outcome: 400, ...withFault });
      json(res, 400, { error: 'Request body is not a FHIR Bundle with an id or a call identifier' });
      return;
    }
    const bundleId = (bundle as { id?: unknown }).id;
    const requestId = headerOf(req, 'x-request-id');
    const correlationId = headerOf(req, 'x-correlation-id');
    const accepted: AcceptedSubmission = {
      receipt: randomUUID(),
      callKey,
      ...(typeof bundleId === 'string' ? { bundleId } : {}),
      ...(requestId !== undefined ? { requestId } : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
      digest: createHash('sha256').update(text).digest('hex'),
      at: now(),
      bundle,
    };
    submissions.push(accepted);
    notifyOverMesh(options.meshNotifications, accepted);
    latestByCall.set(callKey, accepted);
    const countKey = typeof bundleId === 'string' ? bundleId : callKey;
    acceptancesByBundle.set(countKey, (acceptancesByBundle.get(countKey) ?? 0) + 1);
    acceptancesByDigest.set(accepted.digest, (acceptancesByDigest.get(accepted.digest) ?? 0) + 1);
    if (fault === 'lost-after-accept') {
      log({ outcome: 'lost-after-accept', ...withFault });
      req.socket.destroy();
      return;
    }
    log({ outcome: 200, ...withFault });
    json(res, 200, { [options.receiptField ?? 'message']: accepted.receipt });
  };

  https.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const at = now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const requestId = headerOf(req, 'x-request-id');
    const correlationId = headerOf(req, 'x-correlation-id');
    const contentType = headerOf(req, 'content-type');
    const log = (entry: Omit<DpsSandboxRequest, 'at' | 'method' | 'path' | 'requestId' | 'correlationId' | 'contentType'>): void => {
      requestLog.push({ at, method: req.method ?? '', path, ...(requestId !== undefined ? { requestId } : {}), ...(correlationId !== undefined ? { correlationId } : {}), ...(contentType !== undefined ? { contentType } : {}), ...entry });
    };
    const handle = async (): Promise<void> => {
      if (path === '/oauth2/token') {
        const body = (await readBody(req)) ?? '';
        const answer = req.method === 'POST' ? await tokenEndpoint.handle(headerOf(req, 'content-type'), body) : { status: 405, body: { error: 'invalid_request', error_description: 'Request method must be POST', message_id: randomUUID() } };
        log({ outcome: answer.status });
        json(res, answer.status, answer.body, { 'cache-control': 'no-store' });
        return;
      }
      if (path === `${basePath}/$process-message` || path === `${basePath}/%24process-message`) {
        await processMessage(req, res, log);
        return;
      }
      if (path === `${basePath}/_ping` && (req.method === 'GET' || req.method === 'HEAD')) {
        log({ outcome: 200 });
        json(res, 200, { status: 'pass', ping: 'pong', service: 'cadmap DPS sandbox' });
        return;
      }
      log({ outcome: 404 });
      req.resume();
      json(res, 404, { error: 'Server Not Found' });
    };
    handle().catch(() => {
      if (!res.headersSent) {
        json(res, 500);
      } else {
        res.destroy();
      }
    });
  });

  return {
    url: `${origin}${basePath}`,
    tokenUrl,
    port,
    ca: ca.cert,
    apiKey,
    kid,
    privateKeyPem: keys.privateKey,
    jwks,
    accepted: () => {
      let duplicates = 0;
      acceptancesByDigest.forEach((count) => (duplicates += count - 1));
      return { submissions: [...submissions], latestByCall: new Map(latestByCall), acceptancesByBundle: new Map(acceptancesByBundle), acceptancesByDigest: new Map(acceptancesByDigest), duplicates };
    },
    requests: () => [...requestLog],
    tokensIssued: () => tokensIssued,
    faultsInjected: () => ({ ...faults.injected }),
    setFaults: (plan) => {
      faults = new FaultInjector(plan);
    },
    revokeTokens: () => tokens.forEach((token) => (token.state = 'revoked')),
    expireTokens: () => tokens.forEach((token) => (token.state = 'expired')),
    close: async () => {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    },
  };
}
