import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Dispatcher } from 'undici';
import type { Clock } from './clock.js';
import type { DpsDiagnostic } from './codes.js';
import { emitter, loggableUrl, type DpsEvent, type DpsEventListener } from './events.js';
import { header, isAnswer, jsonObject, retryAfterMs, send, tlsHint, type NetworkFailure } from './http.js';
import { redact } from './redact.js';

/** The application's signed-JWT credentials (`dps-api.md` §5.1). */
export interface DpsCredentials {
  /** The application's API key: `iss`, `sub` (and `client_id`). */
  readonly apiKey: string;
  /** Key ID of the public key registered in the application's JWKS. */
  readonly kid: string;
  /** RSA private key: PEM (PKCS#1 or PKCS#8) or a KeyObject. */
  readonly privateKey: string | KeyObject;
}

/** A token request that failed; `retryable` failures are retried by the sender with backoff. */
export interface TokenFailure {
  readonly diagnostic: DpsDiagnostic;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly network?: NetworkFailure;
}

export class TokenError extends Error {
  constructor(readonly failure: TokenFailure) {
    super(failure.diagnostic.message);
    this.name = 'TokenError';
  }
}

interface CachedToken {
  readonly accessToken: string;
  readonly refreshAt: number;
  readonly expiresAt: number;
}

export interface TokenClientOptions {
  readonly tokenUrl: string;
  readonly credentials: DpsCredentials;
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  readonly uuid: () => string;
  readonly timeoutMs: number;
  /** Refresh this long before `expires_in` runs out (default 60 s; at most half the lifetime). */
  readonly refreshMarginMs?: number;
  /** `exp - now` of the client assertion, 1–300 s (default 300). */
  readonly assertionLifetimeSeconds?: number;
  /** Told of each token request and its answer (never the token or the assertion). */
  readonly onEvent?: DpsEventListener;
  /** Given every access token issued, so whatever shows text can scrub it (an error body may echo it). */
  readonly onSecret?: (secret: string) => void;
}

/** Longest a token is trusted, whatever `expires_in` says (a server's 1e308 must not mean "for ever"). */
export const maxTokenLifetimeMs = 3_600_000;

/** How long an access token lives: `expires_in` seconds, 5 minutes when absent or not a positive number, at most an hour. */
export function tokenLifetimeMs(expiresIn: unknown): number {
  const seconds = Number(expiresIn);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, maxTokenLifetimeMs) : 300_000;
}

/** Reads the private key; returns a diagnostic instead of throwing. */
export function loadPrivateKey(key: string | KeyObject): { key: KeyObject } | { diagnostic: DpsDiagnostic } {
  let keyObject: KeyObject;
  try {
    keyObject = typeof key === 'string' ? createPrivateKey(key) : key;
  } catch (error) {
    return {
      diagnostic: {
        code: 'DPS_KEY_INVALID',
        severity: 'fatal',
        message: `The DPS private key cannot be read: ${redact(error instanceof Error ? error.message : String(error))}.`,
        hint: 'Give the RSA private key as PEM (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY), e.g. from `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096`.',
      },
    };
  }
  const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
  if (keyObject.type !== 'private' || keyObject.asymmetricKeyType !== 'rsa' || bits < 2048) {
    return {
      diagnostic: {
        code: 'DPS_KEY_INVALID',
        severity: 'fatal',
        message: `The DPS private key must be an RSA private key of at least 2048 bits (found ${keyObject.type} ${keyObject.asymmetricKeyType ?? 'unknown'}${bits ? ` ${bits} bits` : ''}).`,
        hint: 'NHS England asks for RSA 4096: `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out private-key.pem`.',
      },
    };
  }
  return { key: keyObject };
}

/** What to do about each documented token error (`dps-api.md` §5.6), keyed by a fragment of its description. */
const tokenHints: readonly [RegExp, string][] = [
  [/'alg'|'typ'|client_assertion_type|grant_type|Malformed|Missing client_assertion|must be an integer|'jti'.*GUID|Missing '(exp|jti)'|Content-Type/i, 'cadmap built a token request the endpoint did not accept; please report this with the redacted error.'],
  [/JWT has expired|more than 5 minutes/i, "The assertion's exp comes from this machine's clock: check that it is synchronised (NTP)."],
  [/Non-unique 'jti'/i, 'Every token request needs a fresh jti; another client may be replaying assertions, or the uuid source is not random.'],
  [/'kid'/i, 'Set the Key ID (CADMAP_DPS_KID / dps.kid) to the kid of the public key registered in the application\'s JWKS.'],
  [/'iss'\/'sub'|client_id or client_secret/i, "Set the API key (CADMAP_DPS_API_KEY / dps.apiKey) to the application's API key for this environment."],
  [/'aud'/i, 'The token URL must be exactly the environment\'s token endpoint, e.g. https://int.api.service.nhs.uk/oauth2/token.'],
  [/signature/i, 'The private key does not match the public key registered under this kid: register the matching JWKS or use the right key.'],
];

function tokenHint(status: number, error: string, description: string): string {
  if (error === 'unauthorized_client') {
    return 'Subscribe the application to the Ambulance Data Submission product (application-restricted) for this environment in the developer portal.';
  }
  if (error === 'public_key error') {
    return 'Register the public key as a JWKS (kty RSA, alg RS512, use sig, kid) with the application in the developer portal.';
  }
  if (error === 'invalid_client') {
    return "Set the API key (CADMAP_DPS_API_KEY / dps.apiKey) to the application's API key for this environment.";
  }
  for (const [pattern, hint] of tokenHints) {
    if (pattern.test(description)) {
      return hint;
    }
  }
  return `The token endpoint answered ${status}; check the API key, kid, private key and token URL.`;
}

/**
 * Gets OAuth access tokens with a signed client assertion (RS512; iss = sub = API key; aud = token URL; fresh jti;
 * exp ≤ 5 min). Tokens are cached and refreshed early; however many senders ask, one refresh is in flight.
 * A permanent rejection (4xx other than 429) is remembered: later calls fail at once without asking again.
 */
export class TokenClient {
  private cached: CachedToken | undefined;
  private inFlight: Promise<string> | undefined;
  private rejected: TokenFailure | undefined;
  private readonly key: KeyObject;
  private readonly emit: (event: DpsEvent) => void;
  /** Token requests made (for tests and statistics). */
  requests = 0;

  constructor(
    private readonly options: TokenClientOptions,
    key: KeyObject,
  ) {
    this.key = key;
    this.emit = emitter(options.onEvent);
    const lifetime = options.assertionLifetimeSeconds ?? 300;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 300) {
      throw new RangeError('assertionLifetimeSeconds must be a whole number from 1 to 300.');
    }
  }

  /** A valid access token, from the cache when it is not due for refresh. */
  async get(): Promise<string> {
    if (this.rejected) {
      throw new TokenError(this.rejected);
    }
    const now = this.options.clock.now();
    if (this.cached && now < this.cached.refreshAt) {
      return this.cached.accessToken;
    }
    this.inFlight ??= this.fetchToken().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Drops `token` from the cache if it is still the current one (DPS refused it). */
  invalidate(token: string): void {
    if (this.cached?.accessToken === token) {
      this.cached = undefined;
    }
  }

  /** The signed client assertion (`dps-api.md` §5.2–5.3). */
  async assertion(): Promise<string> {
    const { credentials, tokenUrl, clock, uuid } = this.options;
    const nowSeconds = Math.floor(clock.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: credentials.kid })
      .setIssuer(credentials.apiKey)
      .setSubject(credentials.apiKey)
      .setAudience(tokenUrl)
      .setJti(uuid())
      .setExpirationTime(nowSeconds + (this.options.assertionLifetimeSeconds ?? 300))
      .sign(this.key);
  }

  private async fetchToken(): Promise<string> {
    const { tokenUrl, credentials, dispatcher, clock, timeoutMs } = this.options;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await this.assertion(),
      client_id: credentials.apiKey,
    });
    this.requests++;
    const url = loggableUrl(tokenUrl);
    this.emit({ type: 'token-request', url });
    const startedAt = clock.now();
    const answer = await send(dispatcher, {
      url: tokenUrl,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      timeoutMs,
    });
    const durationMs = clock.now() - startedAt;
    if (!isAnswer(answer)) {
      this.emit({ type: 'token-failure', url, code: answer.code, retryable: answer.code !== 'DPS_TLS' && answer.code !== 'DPS_CANCELLED', durationMs });
      throw new TokenError({
        retryable: answer.code !== 'DPS_TLS' && answer.code !== 'DPS_CANCELLED',
        network: answer,
        diagnostic: { code: answer.code, severity: 'error', message: `Token request to ${tokenUrl}: ${answer.message}.`, ...(answer.code === 'DPS_TLS' ? { hint: tlsHint } : {}) },
      });
    }
    const body = jsonObject(answer.body);
    const expiresIn = Number(body.expires_in);
    this.emit({ type: 'token-response', url, status: answer.status, durationMs, ...(Number.isFinite(expiresIn) && expiresIn > 0 ? { expiresInSeconds: expiresIn } : {}) });
    if (answer.status === 200 && typeof body.access_token === 'string') {
      const now = clock.now();
      const lifetimeMs = tokenLifetimeMs(body.expires_in);
      const margin = Math.min(this.options.refreshMarginMs ?? 60_000, lifetimeMs / 2);
      this.cached = { accessToken: body.access_token, expiresAt: now + lifetimeMs, refreshAt: now + lifetimeMs - margin };
      try {
        this.options.onSecret?.(body.access_token);
      } catch {
        // a failing hook must not lose the token
      }
      return body.access_token;
    }
    const error = redact(typeof body.error === 'string' ? body.error : '');
    const description = redact(typeof body.error_description === 'string' ? body.error_description : '');
    const said = [error, description].filter((s) => s !== '').join(': ') || `no error body`;
    if (answer.status === 429 || answer.status >= 500) {
      const wait = retryAfterMs(header(answer, 'retry-after'), clock.now());
      this.emit({ type: 'token-failure', url, code: answer.status === 429 ? 'DPS_RATE_LIMITED' : 'DPS_UNAVAILABLE', status: answer.status, retryable: true, durationMs });
      throw new TokenError({
        retryable: true,
        ...(wait !== undefined ? { retryAfterMs: wait } : {}),
        diagnostic: {
          code: answer.status === 429 ? 'DPS_RATE_LIMITED' : 'DPS_UNAVAILABLE',
          severity: 'error',
          status: answer.status,
          message: `The token endpoint ${tokenUrl} answered ${answer.status} (${said}).`,
          ...(error ? { serverError: error } : {}),
        },
      });
    }
    const failure: TokenFailure = {
      retryable: false,
      diagnostic: {
        code: answer.status === 404 || answer.status === 405 ? 'DPS_CONFIGURATION' : 'DPS_AUTH_REJECTED',
        severity: 'error',
        status: answer.status,
        message: `The token endpoint ${tokenUrl} refused the client assertion: ${answer.status} ${said}.`,
        hint: answer.status === 404 || answer.status === 405 ? 'Check the token URL: it must be the environment\'s /oauth2/token endpoint.' : tokenHint(answer.status, error, description),
        ...(error ? { serverError: error } : {}),
        ...(description ? { serverDescription: description } : {}),
      },
    };
    this.rejected = failure;
    this.emit({ type: 'token-failure', url, code: failure.diagnostic.code, status: answer.status, retryable: false, durationMs });
    throw new TokenError(failure);
  }
}
