import { randomUUID, type KeyObject } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { Redactor } from '@cadmap/core/diagnostics';
import { dispatcherFor, RetryPolicy, type OwnedDispatcher, type Target, type TargetOutcome, type TargetStatus } from '@cadmap/transport';
import { systemClock, type Clock } from './clock.js';
import type { DpsCode, DpsDiagnostic } from './codes.js';
import { processMessageUrl, resolveEndpoint, type DpsEnvironment } from './environments.js';
import { emitter, loggableUrl, type DpsEvent, type DpsEventListener } from './events.js';
import { header, isAnswer, jsonObject, retryAfterMs, send, tlsHint, type HttpAnswer, type NetworkFailure } from './http.js';
import { defaultRateLimit, RateLimiter, rateWindows, type RateLimit } from './limiter.js';
import { redact } from './redact.js';
import { loadPrivateKey, TokenClient, TokenError, type DpsCredentials } from './token.js';

/** Options of {@link createDpsClient}. Every side effect can be injected. */
export interface DpsClientOptions {
  /** `sandbox`, `integration`, `production`, or `{ baseUrl, tokenUrl }` (e.g. the local sandbox). */
  readonly environment: DpsEnvironment;
  /** Required unless the environment is open access (`tokenUrl: null`). */
  readonly credentials?: DpsCredentials;
  /** Extra trusted CA certificates (PEM), e.g. the local sandbox's. Replaces the default roots for this client. */
  readonly ca?: string | readonly string[];
  /** The undici dispatcher to use (then `ca` is ignored); the caller closes it. */
  readonly dispatcher?: Dispatcher;
  /** Client-side rate limit; `false` turns it off. Default 300 a minute and 5 a second. */
  readonly rateLimit?: RateLimit | false;
  /** Attempts per bundle, including the first (default 6). */
  readonly maxAttempts?: number;
  /** Exponential backoff for 5xx, resets and timeouts: base × 2^(n-1), capped, with jitter (defaults 500 ms, 30 s). */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Longest `Retry-After` honoured; longer values are cut to this (default 120 s). */
  readonly maxRetryAfterMs?: number;
  /** Longest one bundle may spend on retries, from its first attempt (default 10 minutes). */
  readonly retryBudgetMs?: number;
  /** Overall deadline of one request, answer headers and body together (default 30 s). */
  readonly timeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly tokenRefreshMarginMs?: number;
  readonly assertionLifetimeSeconds?: number;
  readonly clock?: Clock;
  /** Uniform in [0, 1): the jitter source. */
  readonly random?: () => number;
  /** Request, correlation and jti ids. */
  readonly uuid?: () => string;
  /**
   * Told of every token and bundle request, answer, wait, retry and result, e.g. to log them. Never given
   * secrets or bundle content; exceptions it throws are ignored. The client itself never prints.
   */
  readonly onEvent?: DpsEventListener;
  /**
   * Given every access token the client is issued, e.g. to add it to the caller's redactor. The client scrubs
   * them from its own diagnostics too: a DPS error body that echoes the token is never shown or stored.
   */
  readonly onSecret?: (secret: string) => void;
}

/** One bundle to submit. `key` (the call's natural key) orders resubmissions of the same call. */
export interface SubmissionItem {
  readonly key: string;
  readonly bundle: unknown;
}

/** One HTTP attempt at submitting a bundle. Times are from the injected clock (epoch ms). */
export interface SubmissionAttempt {
  readonly number: number;
  readonly requestId: string;
  readonly correlationId: string;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly status?: number;
  /** What the attempt ended with; absent when DPS accepted. */
  readonly code?: DpsCode;
  readonly error?: string;
  readonly receipt?: string;
  /** True when the connection broke after the request may have reached DPS. */
  readonly outcomeUnknown?: boolean;
  /** The token was refreshed after this attempt was refused (401/403). */
  readonly tokenRefreshed?: boolean;
  /** How long the sender waited before the next attempt, and why. */
  readonly waitMs?: number;
  readonly waitReason?: 'retry-after' | 'backoff';
}

/**
 * What happened to one bundle: data, never printed by the library. `status` is exact (see `TargetStatus`):
 * `not-sent` when nothing reached DPS, `unknown` when a request may have reached it and no answer came,
 * `unavailable` when DPS answered 5xx or 429 (or refused the credentials) until the retries ran out, `rejected`
 * when DPS refused the bundle itself (400 and other 4xx).
 */
export interface SubmissionResult {
  readonly key: string;
  readonly bundleId?: string;
  readonly correlationId: string;
  readonly status: TargetStatus;
  /** DPS's submission id (`message`, or `id` in some environments). */
  readonly receipt?: string;
  /** Why the bundle was not accepted. */
  readonly failure?: DpsDiagnostic;
  /** Warnings (possible duplicate, missing receipt) and the failure. */
  readonly diagnostics: readonly DpsDiagnostic[];
  readonly attempts: readonly SubmissionAttempt[];
  /** Sent again after an attempt whose outcome is unknown: DPS may hold it twice (the latest overwrites). */
  readonly possibleDuplicate: boolean;
  /** DPS cannot take any bundle now (configuration, credentials, TLS): later bundles are not sent. */
  readonly stop?: boolean;
}

export interface SubmitAllOptions {
  /** Bundles in flight at once (default 4). Bundles with the same key are never in flight together. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

/** Counters over a client's lifetime. */
export interface DpsClientStats {
  readonly tokenRequests: number;
  readonly requests: number;
}

export interface DpsClient {
  /** The DPS base URL: the endpoint's identity in the ledger. */
  readonly baseUrl: string;
  /** Submits one bundle with retries; never throws. */
  submit(item: SubmissionItem, options?: { signal?: AbortSignal }): Promise<SubmissionResult>;
  /** Submits a stream of bundles, pulling only as many as `concurrency` allows; yields results as they complete. */
  submitAll(items: Iterable<SubmissionItem> | AsyncIterable<SubmissionItem>, options?: SubmitAllOptions): AsyncIterable<SubmissionResult>;
  stats(): DpsClientStats;
  /** This client as a pipeline target: the payload is the bundle. */
  asTarget(): Target<unknown>;
  /** Closes the connections the client opened (not an injected dispatcher). */
  close(): Promise<void>;
}

export type CreateDpsClientResult = { readonly client: DpsClient; readonly diagnostics: readonly DpsDiagnostic[] } | { readonly client: undefined; readonly diagnostics: readonly DpsDiagnostic[] };

const configuration = (message: string, hint: string): DpsDiagnostic => ({ code: 'DPS_CONFIGURATION', severity: 'fatal', message, hint });

/**
 * Makes a DPS client: validates the options and reads the key up front, so a wrong set-up is reported before
 * anything is sent. Returns diagnostics instead of throwing.
 */
export function createDpsClient(options: DpsClientOptions): CreateDpsClientResult {
  const endpoint = resolveEndpoint(options.environment);
  const problems: DpsDiagnostic[] = [];
  for (const [name, url] of [
    ['base URL', endpoint.baseUrl],
    ['token URL', endpoint.tokenUrl],
  ] as const) {
    if (url !== null && !/^https:\/\/[^/]+/.test(url)) {
      problems.push(configuration(`The DPS ${name} must be an https:// URL (got '${url}').`, 'Use an environment preset (integration, production) or the URLs the local sandbox printed.'));
    }
  }
  let key: KeyObject | undefined;
  if (endpoint.tokenUrl !== null) {
    if (!options.credentials || options.credentials.apiKey === '' || options.credentials.kid === '') {
      problems.push(configuration('DPS credentials are missing: an API key, a kid and an RSA private key are needed for this environment.', 'Set CADMAP_DPS_API_KEY, CADMAP_DPS_KID and CADMAP_DPS_PRIVATE_KEY_FILE (or the dps section of the config file).'));
    } else {
      const loaded = loadPrivateKey(options.credentials.privateKey);
      if ('diagnostic' in loaded) {
        problems.push(loaded.diagnostic);
      } else {
        key = loaded.key;
      }
    }
  }
  const maxAttempts = options.maxAttempts ?? 6;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    problems.push(configuration(`maxAttempts must be a whole number of at least 1 (got ${maxAttempts}).`, 'Use e.g. 6.'));
  }
  let windows: ReturnType<typeof rateWindows> = [];
  try {
    windows = rateWindows(options.rateLimit ?? defaultRateLimit);
  } catch (error) {
    problems.push(configuration((error as Error).message, 'Use e.g. { perMinute: 300, perSecond: 5 }, or false to turn the limit off.'));
  }
  const lifetime = options.assertionLifetimeSeconds ?? 300;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 300) {
    problems.push(configuration(`assertionLifetimeSeconds must be 1–300 (got ${lifetime}); the token endpoint refuses exp more than 5 minutes ahead.`, 'Leave it at the default, 300.'));
  }
  if (problems.length > 0) {
    return { client: undefined, diagnostics: problems };
  }
  return { client: new Sender(options, endpoint.baseUrl, endpoint.tokenUrl, key, maxAttempts, windows), diagnostics: [] };
}

interface Retry {
  readonly code: DpsCode;
  readonly message: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** The request may have reached DPS (false: refused unread, or no connection). */
  readonly sent: boolean;
}

class Sender implements DpsClient {
  private readonly connection: OwnedDispatcher;
  private readonly clock: Clock;
  private readonly uuid: () => string;
  private readonly limiter: RateLimiter;
  private readonly tokens: TokenClient | undefined;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  /** Scrubs the access tokens issued to this client (and the usual patterns) from everything it reports. */
  private readonly redactor = new Redactor();
  /** Set once DPS shows the configuration is wrong (404/405, credentials, TLS): later bundles are not sent. */
  private latched: DpsDiagnostic | undefined;
  private requests = 0;
  private readonly emit: (event: DpsEvent) => void;
  private readonly loggableUrl: string;

  constructor(
    options: DpsClientOptions,
    readonly baseUrl: string,
    tokenUrl: string | null,
    key: KeyObject | undefined,
    maxAttempts: number,
    windows: ReturnType<typeof rateWindows>,
  ) {
    this.clock = options.clock ?? systemClock;
    this.uuid = options.uuid ?? randomUUID;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.url = processMessageUrl(baseUrl);
    this.emit = emitter(options.onEvent);
    this.loggableUrl = loggableUrl(this.url);
    this.policy = new RetryPolicy({
      maxAttempts,
      ...(options.backoff?.baseMs !== undefined ? { baseMs: options.backoff.baseMs } : {}),
      ...(options.backoff?.maxMs !== undefined ? { maxMs: options.backoff.maxMs } : {}),
      ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}),
      ...(options.retryBudgetMs !== undefined ? { budgetMs: options.retryBudgetMs } : {}),
      ...(options.random !== undefined ? { random: options.random } : {}),
    });
    this.connection = dispatcherFor(options.dispatcher, { ...(options.ca !== undefined ? { ca: options.ca } : {}), connectTimeoutMs: options.connectTimeoutMs ?? 10_000 });
    this.limiter = new RateLimiter(windows, this.clock);
    const onSecret = (secret: string): void => {
      this.redactor.addSecret(secret);
      options.onSecret?.(secret);
    };
    this.tokens =
      tokenUrl !== null && key !== undefined && options.credentials
        ? new TokenClient(
            {
              tokenUrl,
              credentials: options.credentials,
              dispatcher: this.connection.dispatcher,
              clock: this.clock,
              uuid: this.uuid,
              timeoutMs: this.timeoutMs,
              onSecret,
              ...(options.tokenRefreshMarginMs !== undefined ? { refreshMarginMs: options.tokenRefreshMarginMs } : {}),
              ...(options.assertionLifetimeSeconds !== undefined ? { assertionLifetimeSeconds: options.assertionLifetimeSeconds } : {}),
              ...(options.onEvent !== undefined ? { onEvent: options.onEvent } : {}),
            },
            key,
          )
        : undefined;
  }

  stats(): DpsClientStats {
    return { tokenRequests: this.tokens?.requests ?? 0, requests: this.requests };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  asTarget(): Target<unknown> {
    return {
      service: 'dps',
      endpoint: this.baseUrl,
      submit: async (item, options = {}): Promise<TargetOutcome> => {
        const result = await this.submit({ key: item.key, bundle: item.payload }, options.signal ? { signal: options.signal } : {});
        return {
          status: result.status,
          ...(result.receipt !== undefined ? { receipt: result.receipt } : {}),
          diagnostics: result.diagnostics,
          attempts: result.attempts,
          possibleDuplicate: result.possibleDuplicate,
          ...(result.stop === true ? { stop: true } : {}),
        };
      },
      close: () => this.close(),
    };
  }

  async submit(item: SubmissionItem, options: { signal?: AbortSignal } = {}): Promise<SubmissionResult> {
    const { signal } = options;
    const scrub = this.redactor.redact;
    const correlationId = this.uuid();
    const bundleId = bundleIdOf(item.bundle);
    const body = JSON.stringify(item.bundle);
    const attempts: SubmissionAttempt[] = [];
    const diagnostics: DpsDiagnostic[] = [];
    let refreshed = false;
    /** A request may have reached DPS without an answer: a later send is a possible duplicate, a give-up is `unknown`. */
    let unknownBefore = false;
    let possibleDuplicate = false;
    const firstStartedAt = this.clock.now();
    const base = { key: item.key, correlationId, ...(bundleId !== undefined ? { bundleId } : {}) };
    const end = (status: Exclude<TargetStatus, 'accepted'>, diagnostic: DpsDiagnostic, stop = false): SubmissionResult => {
      const exact: TargetStatus = status !== 'rejected' && unknownBefore ? 'unknown' : status;
      const shown = { ...diagnostic, message: scrub(diagnostic.message), ...(diagnostic.serverError !== undefined ? { serverError: scrub(diagnostic.serverError) } : {}) };
      diagnostics.push(shown);
      this.emit({ type: 'result', key: item.key, status: exact, attempts: attempts.length, code: diagnostic.code, possibleDuplicate });
      return { ...base, status: exact, failure: shown, diagnostics, attempts: attempts.map((a) => (a.error !== undefined ? { ...a, error: scrub(a.error) } : a)), possibleDuplicate, ...(stop ? { stop: true } : {}) };
    };
    const cancelled = (): SubmissionResult => end('not-sent', { code: 'DPS_CANCELLED', severity: 'error', message: unknownBefore ? 'Cancelled while a request was without an answer: DPS may hold the bundle.' : 'Cancelled before the bundle was sent.' });

    for (let number = 1; ; number++) {
      if (this.latched) {
        return end('not-sent', { ...this.latched, code: 'DPS_NOT_SENT', severity: 'error', message: `Not sent: ${this.latched.message}` }, true);
      }
      if (signal?.aborted === true) {
        return cancelled();
      }
      const requestId = this.uuid();
      let token: string | undefined;
      let retry: Retry | undefined;
      let startedAt = this.clock.now();
      try {
        token = await this.tokens?.get();
        const ready = this.clock.now();
        const grant = await this.limiter.acquire(signal);
        startedAt = grant.at;
        // only a grant the limit held back was throttled (the clock may tick between two readings anyway)
        if (grant.waited) {
          this.emit({ type: 'throttled', service: 'dps', method: 'POST', url: this.loggableUrl, key: item.key, attempt: number, waitMs: Math.max(0, startedAt - ready), reason: 'rate-limit' });
        }
      } catch (error) {
        if (error instanceof TokenError) {
          const { failure } = error;
          attempts.push({ number, requestId, correlationId, startedAt, durationMs: this.clock.now() - startedAt, code: failure.diagnostic.code, error: failure.diagnostic.message });
          if (!failure.retryable) {
            // the token client remembers a refusal: later bundles fail at once without asking again
            return end('not-sent', failure.diagnostic, failure.diagnostic.code !== 'DPS_CANCELLED');
          }
          retry = { code: failure.diagnostic.code, message: failure.diagnostic.message, sent: false, ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}) };
        } else if (isAborted(signal)) {
          return cancelled();
        } else {
          return end('not-sent', { code: 'DPS_KEY_INVALID', severity: 'error', message: `The client assertion could not be signed: ${redact(error instanceof Error ? error.message : String(error))}.`, hint: 'Check the private key.' }, true);
        }
      }

      if (!retry) {
        if (unknownBefore) {
          possibleDuplicate = true;
        }
        this.requests++;
        const seen = { service: 'dps', method: 'POST', url: this.loggableUrl, key: item.key, attempt: number, requestId } as const;
        this.emit({ type: 'request', ...seen, ...(bundleId !== undefined ? { bundleId } : {}), correlationId, bytes: Buffer.byteLength(body) });
        const answer: HttpAnswer | NetworkFailure = await send(this.connection.dispatcher, {
          url: this.url,
          method: 'POST',
          headers: {
            'content-type': 'application/fhir+json',
            accept: 'application/json',
            'x-request-id': requestId,
            'x-correlation-id': correlationId,
            ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
          },
          body,
          timeoutMs: this.timeoutMs,
          signal,
        });
        const durationMs = this.clock.now() - startedAt;
        const record = { number, requestId, correlationId, startedAt, durationMs };
        if (!isAnswer(answer)) {
          this.emit({ type: 'network-failure', ...seen, code: answer.code, cause: answer.cause, durationMs, outcomeUnknown: answer.outcomeUnknown });
          unknownBefore ||= answer.outcomeUnknown;
          attempts.push({ ...record, code: answer.code, error: answer.message, ...(answer.outcomeUnknown ? { outcomeUnknown: true } : {}) });
          if (answer.code === 'DPS_CANCELLED') {
            return cancelled();
          }
          if (answer.code === 'DPS_TLS' || answer.code === 'DPS_CONFIGURATION') {
            const diagnostic: DpsDiagnostic = { code: answer.code, severity: 'error', message: `${this.url}: ${answer.message}.`, requestId, ...(answer.code === 'DPS_TLS' ? { hint: tlsHint } : { hint: 'The request could not be sent from this machine; check the settings.' }) };
            this.latched = diagnostic;
            return end('not-sent', diagnostic, true);
          }
          retry = { code: answer.code, message: answer.message, sent: answer.outcomeUnknown };
        } else {
          const { status } = answer;
          const json = jsonObject(answer.body);
          const serverError = typeof json.error === 'string' ? scrub(redact(json.error)) : undefined;
          const withError = serverError !== undefined ? { serverError } : {};
          const answered = { type: 'response', ...seen, status, durationMs } as const;
          if (status >= 200 && status < 300) {
            const receipt = typeof json.message === 'string' ? json.message : typeof json.id === 'string' ? json.id : undefined;
            this.emit({ ...answered, ...(receipt !== undefined ? { receipt } : {}) });
            attempts.push({ ...record, status, ...(receipt !== undefined ? { receipt } : {}) });
            if (receipt === undefined) {
              diagnostics.push({ code: 'DPS_RECEIPT_MISSING', severity: 'warning', status, requestId, message: `DPS accepted the bundle (${status}) but its answer held neither 'message' nor 'id'.`, hint: 'Keep the request id as the reference; report the answer to the DPS service desk if it persists.' });
            }
            if (possibleDuplicate) {
              diagnostics.push({ code: 'DPS_POSSIBLE_DUPLICATE', severity: 'warning', requestId, message: 'Sent again after a connection broke mid-request: DPS may have received this bundle twice. Its latest submission overwrites the earlier one.' });
            }
            this.emit({ type: 'result', key: item.key, status: 'accepted', attempts: attempts.length, ...(receipt !== undefined ? { receipt } : {}), possibleDuplicate });
            return { ...base, status: 'accepted', ...(receipt !== undefined ? { receipt } : {}), diagnostics, attempts, possibleDuplicate };
          }
          this.emit({ ...answered, code: statusCode(status) });
          if ((status === 401 || status === 403) && this.tokens && token !== undefined && !refreshed) {
            refreshed = true;
            this.emit({ type: 'token-refresh', key: item.key, attempt: number, status });
            this.tokens.invalidate(token);
            attempts.push({ ...record, status, code: 'DPS_AUTH_REJECTED', error: serverError ?? `HTTP ${status}`, tokenRefreshed: true });
            continue;
          }
          if (status === 401 || status === 403) {
            attempts.push({ ...record, status, code: 'DPS_AUTH_REJECTED', ...withError });
            const diagnostic: DpsDiagnostic = { code: 'DPS_AUTH_REJECTED', severity: 'error', status, requestId, ...withError, message: `DPS refused the access token (${status}${serverError ? ` ${serverError}` : ''}) even after a refresh.`, hint: 'Check that the application is subscribed to Ambulance Data Submission in this environment and that the token URL belongs to the same environment as the base URL.' };
            this.latched = diagnostic;
            return end('unavailable', diagnostic, true);
          }
          if (status === 400) {
            attempts.push({ ...record, status, code: 'DPS_BAD_REQUEST', ...withError });
            return end('rejected', { code: 'DPS_BAD_REQUEST', severity: 'error', status, requestId, ...withError, message: `DPS rejected the bundle (400): ${serverError ?? 'no error given'}.`, hint: 'Fix the bundle (run the conformance check) before sending it again; it will not be retried unchanged.' });
          }
          if (status === 404 || status === 405) {
            attempts.push({ ...record, status, code: 'DPS_CONFIGURATION', ...withError });
            const diagnostic: DpsDiagnostic = { code: 'DPS_CONFIGURATION', severity: 'error', status, requestId, ...withError, message: `DPS answered ${status} (${serverError ?? 'no error given'}) for POST ${this.url}.`, hint: 'The base URL is wrong: use an environment preset or a base URL ending in /ambulance-data-submission (cadmap adds /$process-message).' };
            this.latched = diagnostic;
            return end('unavailable', diagnostic, true);
          }
          if (status === 429 || status >= 500) {
            const wait = status === 429 ? retryAfterMs(header(answer, 'retry-after'), this.clock.now()) : undefined;
            const code: DpsCode = status === 429 ? 'DPS_RATE_LIMITED' : 'DPS_UNAVAILABLE';
            attempts.push({ ...record, status, code, ...withError });
            retry = { code, status, sent: status !== 429, message: `DPS answered ${status}${serverError ? ` (${serverError})` : ''}`, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
          } else {
            attempts.push({ ...record, status, code: 'DPS_UNEXPECTED_STATUS', ...withError });
            return end('rejected', { code: 'DPS_UNEXPECTED_STATUS', severity: 'error', status, requestId, ...withError, message: `DPS answered ${status} (${serverError ?? 'no error given'}), which the API does not document.`, hint: status === 413 ? 'The bundle is too large; split the submission.' : 'Not retried; check the request and the DPS service status.' });
          }
        }
      }

      // an ADS submission may be sent again: the latest submission of a call overwrites the earlier (dps-api.md §8)
      const decision = this.policy.decide(
        { attempt: number, firstStartedAt, now: this.clock.now(), transient: true, requestSent: retry.sent, ...(retry.retryAfterMs !== undefined ? { retryAfterMs: retry.retryAfterMs } : {}) },
        'always',
      );
      if (!decision.retry && !(decision.why === 'attempts' && refreshed && number < this.policy.maxAttempts + 1)) {
        const gaveUp = `${retry.message}; gave up after ${number} attempt${number === 1 ? '' : 's'}${decision.why === 'budget' ? ' (the retry time budget ran out)' : ''}.`;
        return end('unavailable', {
          code: retry.code,
          severity: 'error',
          ...(retry.status !== undefined ? { status: retry.status } : {}),
          message: gaveUp,
          hint: retry.code === 'DPS_RATE_LIMITED' ? 'Lower the rate limit or concurrency, or try later.' : 'DPS or the network is failing; retry later (the service is supported 08:00–18:00 on working days).',
        });
      }
      const waitMs = decision.retry ? decision.waitMs : this.policy.backoff(number);
      const reason = decision.retry ? decision.reason : 'backoff';
      const last = attempts[attempts.length - 1];
      if (last) {
        attempts[attempts.length - 1] = { ...last, waitMs, waitReason: reason };
      }
      this.emit({ type: 'retry', service: 'dps', method: 'POST', url: this.loggableUrl, key: item.key, attempt: number, code: retry.code, waitMs, reason });
      try {
        await this.clock.sleep(waitMs, signal);
      } catch {
        return cancelled();
      }
    }
  }

  async *submitAll(items: Iterable<SubmissionItem> | AsyncIterable<SubmissionItem>, options: SubmitAllOptions = {}): AsyncIterable<SubmissionResult> {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number of at least 1 (got ${concurrency}).`);
    }
    const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : toAsync(items);
    const running = new Map<number, Promise<{ id: number; result: SubmissionResult }>>();
    /** The last submission of each key still in flight, so a newer bundle of a call waits for the older. */
    const lastOfKey = new Map<string, Promise<unknown>>();
    let nextId = 0;
    let exhausted = false;
    const signalOptions = options.signal ? { signal: options.signal } : {};
    while (!exhausted || running.size > 0) {
      while (!exhausted && running.size < concurrency) {
        const next = await iterator.next();
        if (next.done === true) {
          exhausted = true;
          break;
        }
        const item = next.value;
        const id = nextId++;
        const before = lastOfKey.get(item.key);
        const task = (async () => {
          if (before) {
            await before;
          }
          return { id, result: await this.submit(item, signalOptions) };
        })();
        lastOfKey.set(item.key, task);
        running.set(id, task);
        void task.then(() => {
          if (lastOfKey.get(item.key) === task) {
            lastOfKey.delete(item.key);
          }
        });
      }
      if (running.size === 0) {
        break;
      }
      const { id, result } = await Promise.race(running.values());
      running.delete(id);
      yield result;
    }
  }
}

/** How the sender classifies a non-2xx answer (see `submit`). */
function statusCode(status: number): DpsCode {
  if (status === 401 || status === 403) {
    return 'DPS_AUTH_REJECTED';
  }
  if (status === 400) {
    return 'DPS_BAD_REQUEST';
  }
  if (status === 404 || status === 405) {
    return 'DPS_CONFIGURATION';
  }
  if (status === 429) {
    return 'DPS_RATE_LIMITED';
  }
  return status >= 500 ? 'DPS_UNAVAILABLE' : 'DPS_UNEXPECTED_STATUS';
}

/** Read through a call so the compiler does not keep a narrowing across awaits. */
const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

function toAsync<T>(items: Iterable<T>): AsyncIterator<T> {
  const iterator = items[Symbol.iterator]();
  return { next: () => Promise.resolve(iterator.next()) };
}

function bundleIdOf(bundle: unknown): string | undefined {
  if (typeof bundle === 'object' && bundle !== null && 'id' in bundle && typeof bundle.id === 'string') {
    return bundle.id;
  }
  return undefined;
}
