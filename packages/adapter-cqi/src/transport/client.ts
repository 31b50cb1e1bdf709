import type { Dispatcher } from 'undici';
import type { Diagnostic } from '@cadmap/core';
import { describeTlsFailure } from '@cadmap/core/net';
import { dispatcherFor, exchange, header, isAnswer, loggableUrl, retryAfterMs, type NetworkFailure, type OwnedDispatcher, type Target, type TargetOutcome } from '@cadmap/transport';
import { emitter, type CqiEvent, type CqiEventListener } from '../events.js';

/** The two endpoints NHS Pathways issues to each supplier (not published). */
export type CqiEnvironment = 'uat' | 'live';

/** Client certificate, key and trust for mutual TLS, as PEM text (read the files in the caller). */
export interface CqiTlsOptions {
  readonly cert: string;
  readonly key: string;
  /** CA certificate(s) that issued the service's certificate; default: Node's public roots. */
  readonly ca?: string;
  readonly passphrase?: string;
}

/** The "encoded access credentials" header: its name and scheme are configuration, the value a secret. */
export interface CqiCredentials {
  readonly header: string;
  /** Written before the value with a space, e.g. `Basic`; none when absent. */
  readonly scheme?: string;
  readonly value: string;
}

export interface CqiClientOptions {
  readonly environment: CqiEnvironment;
  /** Base URLs per environment (https only), e.g. `{ uat: 'https://uat.example.nhs.uk' }`; the API is under /api/v1/. */
  readonly baseUrls: Partial<Record<CqiEnvironment, string>>;
  readonly tls: CqiTlsOptions;
  readonly credentials?: CqiCredentials;
  /** An undici dispatcher carrying the same TLS options (e.g. a ProxyAgent); the caller closes it. */
  readonly dispatcher?: Dispatcher;
  /** Overall deadline of one request, answer and body together (default 30 s). */
  readonly timeoutMs?: number;
  /** How long the exception-code list is kept before it is fetched again (default: 1 hour). */
  readonly exceptionCodesTtlMs?: number;
  readonly now?: () => number;
  /**
   * Told of every request and its answer, e.g. to log them. Never given the credentials, the TLS key or the case;
   * exceptions it throws are ignored. The client itself never prints.
   */
  readonly onEvent?: CqiEventListener;
}

/** What the service said about one posted case. */
export type PostOutcome =
  | { readonly kind: 'accepted'; readonly status: number; readonly body: string }
  /** Refused for good (4xx): fix the case. */
  | { readonly kind: 'rejected'; readonly status: number; readonly exceptions: readonly CqiException[]; readonly diagnostics: readonly Diagnostic[] }
  /** Credentials or TLS refused: fix the configuration; the case is kept. */
  | { readonly kind: 'refused'; readonly status?: number; readonly diagnostics: readonly Diagnostic[] }
  /** Closed, down or unreachable, and the service certainly does not hold the case: try again later. */
  | { readonly kind: 'unavailable'; readonly status?: number; readonly retryAfterMs?: number; readonly diagnostics: readonly Diagnostic[] }
  /** Sent, and the answer was lost (the connection broke, the deadline passed): the service may hold the case. */
  | { readonly kind: 'unknown'; readonly diagnostics: readonly Diagnostic[] };

/** One exception code in a rejection, with its description from the cqiExceptionCodes list when known. */
export interface CqiException {
  readonly code: string;
  readonly message?: string;
  readonly path?: string;
  readonly description?: string;
}

/** The most of an answer body that is read: the service answers with small JSON. */
const maxAnswerBytes = 1024 * 1024;
/** The longest Retry-After honoured: the service is closed at most a weekend (longer values are cut to this). */
export const maxRetryAfterMs = 3 * 24 * 60 * 60 * 1000;

/** Resolves the base URL of an environment; https only, no trailing slash. */
export function cqiBaseUrl(options: Pick<CqiClientOptions, 'environment' | 'baseUrls'>): { url?: string; diagnostics: Diagnostic[] } {
  const url = options.baseUrls[options.environment];
  if (url === undefined || url === '') {
    return { diagnostics: [{ code: 'CQI_CONFIG', severity: 'error', message: `No base URL for the ${options.environment} CQI environment.`, hint: `Set baseUrls.${options.environment} to the URL NHS Pathways issued for ${options.environment.toUpperCase()}.` }] };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { diagnostics: [{ code: 'CQI_CONFIG', severity: 'error', message: `The ${options.environment} base URL ${JSON.stringify(url)} is not a URL.` }] };
  }
  if (parsed.protocol !== 'https:') {
    return { diagnostics: [{ code: 'CQI_CONFIG', severity: 'error', message: `The ${options.environment} base URL must use https (mutual TLS); found ${parsed.protocol}.` }] };
  }
  return { url: parsed.href.replace(/\/+$/, ''), diagnostics: [] };
}

/**
 * A client of the NHS Pathways CQI (IDT) API over mutual TLS on undici: POST /api/v1/cqiCase and
 * GET /api/v1/cqiExceptionCodes (cached; used to explain rejections). Certificate and host-name verification are
 * always on; there is no option to turn them off. Never throws for transport problems: outcomes are data.
 */
export class CqiClient {
  private readonly connection: OwnedDispatcher;
  private readonly base: string;
  private codes: { at: number; list: ReadonlyMap<string, string> } | undefined;
  private readonly emit: (event: CqiEvent) => void;

  private constructor(private readonly options: CqiClientOptions, base: string) {
    this.base = base;
    this.emit = emitter(options.onEvent);
    const { tls } = options;
    this.connection = dispatcherFor(options.dispatcher, { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}), ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}), connectTimeoutMs: options.timeoutMs ?? 30_000 });
  }

  /** Checks the configuration and builds a client; configuration problems come back as CQI_CONFIG diagnostics. */
  static create(options: CqiClientOptions): { client?: CqiClient; diagnostics: Diagnostic[] } {
    const { url, diagnostics } = cqiBaseUrl(options);
    if (options.credentials && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(options.credentials.header)) {
      diagnostics.push({ code: 'CQI_CONFIG', severity: 'error', message: `Credentials header name ${JSON.stringify(options.credentials.header)} is not a valid HTTP header name.` });
    }
    if (!options.tls.cert.includes('CERTIFICATE') || !options.tls.key.includes('PRIVATE KEY')) {
      diagnostics.push({ code: 'CQI_CONFIG', severity: 'error', message: 'The client certificate or key is not PEM text.', hint: 'Give the PEM files issued for the CQI service (-----BEGIN CERTIFICATE----- and -----BEGIN … PRIVATE KEY-----).' });
    }
    return url !== undefined && diagnostics.length === 0 ? { client: new CqiClient(options, url), diagnostics } : { diagnostics };
  }

  /** The base URL in use. */
  get baseUrl(): string {
    return this.base;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const credentials = this.options.credentials;
    return credentials ? { ...extra, [credentials.header]: credentials.scheme ? `${credentials.scheme} ${credentials.value}` : credentials.value } : extra;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: string, mediaType?: string, signal?: AbortSignal): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string } | { failure: NetworkFailure }> {
    const now = this.options.now ?? Date.now;
    const seen = { service: 'cqi', method, url: loggableUrl(`${this.base}${path}`), attempt: 1 } as const;
    this.emit({ type: 'request', ...seen, ...(body !== undefined ? { bytes: Buffer.byteLength(body) } : {}) });
    const startedAt = now();
    const answer = await exchange(
      this.connection.dispatcher,
      { url: `${this.base}${path}`, method, headers: this.headers({ accept: 'application/json', ...(mediaType !== undefined ? { 'content-type': mediaType } : {}) }), ...(body !== undefined ? { body } : {}), deadlineMs: this.options.timeoutMs ?? 30_000, signal },
      maxAnswerBytes,
    );
    if (!isAnswer(answer)) {
      this.emit({ type: 'network-failure', ...seen, failure: answer.kind, cause: answer.cause, durationMs: now() - startedAt, outcomeUnknown: answer.requestSent });
      return { failure: answer };
    }
    this.emit({ type: 'response', ...seen, status: answer.status, durationMs: now() - startedAt });
    return { status: answer.status, headers: answer.headers, body: answer.body };
  }

  private transportFailure(failure: NetworkFailure, what: string): PostOutcome & { kind: 'refused' | 'unavailable' | 'unknown' } {
    if (failure.kind === 'tls') {
      return {
        kind: 'refused',
        diagnostics: [{
          code: 'CQI_TLS',
          severity: 'error',
          message: `${what}: the TLS connection to ${this.base} failed: ${describeTlsFailure(failure.codes.length > 0 ? failure.codes : [failure.cause], { peer: 'service', mutual: true })} (${failure.message}).`,
          hint: "Check the client certificate and key, the CA that issued the service certificate (tls.ca), that the base URL host matches that certificate and that it is in date (and this machine's clock is right). Verification is never turned off.",
        }],
      };
    }
    if (failure.kind === 'local') {
      return { kind: 'refused', diagnostics: [{ code: 'CQI_CONFIG', severity: 'error', message: `${what}: refused on this machine before sending: ${failure.message}.`, hint: 'Check the credentials header name and value.' }] };
    }
    const closedByPeer = failure.kind === 'reset';
    const hint = `The CQI service is a bronze service (08:00-18:00 Mon-Fri); the case stays in the outbox and is retried.${closedByPeer ? ' If the service is open and keeps closing the connection, it is probably refusing the client certificate (TLS 1.3 reports that only by closing): check the certificate was issued for this environment.' : ''}`;
    if (failure.requestSent) {
      return { kind: 'unknown', diagnostics: [{ code: 'CQI_NO_ANSWER', severity: 'warning', message: `${what}: ${this.base} gave no answer (${failure.cause}: ${failure.message}); the service may hold the case.`, hint: `${hint} Sending it again may deliver it twice; cadmap counts that as a possible duplicate.` }] };
    }
    return { kind: 'unavailable', diagnostics: [{ code: 'CQI_UNAVAILABLE', severity: 'warning', message: `${what}: ${this.base} is unreachable (${failure.cause}: ${failure.message}).`, hint }] };
  }

  /** Posts one encoded case; never throws. */
  async postCase(body: string, mediaType: string, options: { readonly signal?: AbortSignal } = {}): Promise<PostOutcome> {
    const response = await this.call('POST', '/api/v1/cqiCase', body, mediaType, options.signal);
    if ('failure' in response) {
      return this.transportFailure(response.failure, 'Sending a case');
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      return { kind: 'accepted', status, body: response.body };
    }
    if (status === 401 || status === 403) {
      return { kind: 'refused', status, diagnostics: [{ code: 'CQI_AUTH', severity: 'error', message: `The CQI API refused the access credentials (HTTP ${status}).${await this.describe(response.body)}`, hint: 'Check the credentials header name, scheme and value for this environment.' }] };
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = retryAfterMs(header(response, 'retry-after'), (this.options.now ?? Date.now)());
      return {
        kind: 'unavailable',
        status,
        ...(retryAfter !== undefined && retryAfter > 0 ? { retryAfterMs: Math.min(retryAfter, maxRetryAfterMs) } : {}),
        diagnostics: [{ code: 'CQI_UNAVAILABLE', severity: 'warning', message: `The CQI API is unavailable (HTTP ${status}).${await this.describe(response.body)}`, hint: 'The case stays queued and is retried; the service is open 08:00-18:00 Mon-Fri.' }],
      };
    }
    const exceptions = await this.explain(parseExceptions(response.body));
    const explained = exceptions.map((e) => `${e.code}${e.description !== undefined ? ` (${e.description})` : ''}${e.path !== undefined ? ` at ${e.path}` : ''}${e.message !== undefined && e.message !== e.description ? `: ${e.message}` : ''}`);
    return {
      kind: 'rejected',
      status,
      exceptions,
      diagnostics: [{
        code: 'CQI_REJECTED',
        severity: 'error',
        message: `The CQI API rejected the case (HTTP ${status})${explained.length > 0 ? `: ${explained.join('; ')}` : ` with no exception code: ${response.body.slice(0, 200)}`}.`,
        hint: 'Fix the case (cadmap cqi check shows the same problems locally) and send it again.',
      }],
    };
  }

  private async describe(body: string): Promise<string> {
    const exceptions = await this.explain(parseExceptions(body));
    return exceptions.length > 0 ? ` Exception code${exceptions.length === 1 ? '' : 's'}: ${exceptions.map((e) => `${e.code}${e.description !== undefined ? ` (${e.description})` : e.message !== undefined ? ` (${e.message})` : ''}`).join('; ')}.` : '';
  }

  /** Adds descriptions from the exception-code list; fetches it again once when a code is not in the cached list. */
  async explain(exceptions: readonly CqiException[]): Promise<CqiException[]> {
    if (exceptions.length === 0) {
      return [];
    }
    let { codes } = await this.exceptionCodes();
    if (codes && exceptions.some((e) => !codes!.has(e.code))) {
      codes = (await this.exceptionCodes({ refresh: true })).codes ?? codes;
    }
    return exceptions.map((e) => {
      const description = codes?.get(e.code);
      return description !== undefined ? { ...e, description } : e;
    });
  }

  /** GET /api/v1/cqiExceptionCodes, cached for `exceptionCodesTtlMs`. */
  async exceptionCodes(options: { refresh?: boolean } = {}): Promise<{ codes?: ReadonlyMap<string, string>; diagnostics: Diagnostic[] }> {
    const now = (this.options.now ?? Date.now)();
    if (this.codes && options.refresh !== true && now - this.codes.at < (this.options.exceptionCodesTtlMs ?? 3_600_000)) {
      return { codes: this.codes.list, diagnostics: [] };
    }
    const response = await this.call('GET', '/api/v1/cqiExceptionCodes');
    const fail = (message: string): { codes?: ReadonlyMap<string, string>; diagnostics: Diagnostic[] } => ({
      ...(this.codes ? { codes: this.codes.list } : {}),
      diagnostics: [{ code: 'CQI_EXCEPTION_CODES', severity: 'warning', message: `The CQI exception codes could not be fetched: ${message}`, hint: 'Rejections are then shown with their bare codes.' }],
    });
    if ('failure' in response) {
      const failure = this.transportFailure(response.failure, 'Fetching the exception codes');
      return failure.kind === 'refused' ? { ...(this.codes ? { codes: this.codes.list } : {}), diagnostics: [...failure.diagnostics] } : fail(response.failure.message);
    }
    if (response.status !== 200) {
      return fail(`HTTP ${response.status}.`);
    }
    const list = parseExceptionCodes(response.body);
    if (list === undefined) {
      return fail('the response is not a list of codes.');
    }
    this.codes = { at: now, list };
    return { codes: list, diagnostics: [] };
  }

  /**
   * This client as a pipeline target: the payload is an encoded case. A closed or unreachable service keeps the
   * case for later (`unavailable` with `retryAt`, and `stop` so the rest waits too); a lost answer is `unknown`.
   */
  asTarget(): Target<{ readonly body: string; readonly mediaType: string }> {
    return {
      service: 'cqi',
      endpoint: this.base,
      submit: async (item, options = {}): Promise<TargetOutcome> => {
        const now = this.options.now ?? Date.now;
        if (options.signal?.aborted === true) {
          return { status: 'not-sent', diagnostics: [{ code: 'CQI_CANCELLED', severity: 'warning', message: 'Cancelled before the case was sent.' }], attempts: [], possibleDuplicate: false };
        }
        const startedAt = now();
        const result = await this.postCase(item.payload.body, item.payload.mediaType, options);
        const attempt = { number: 1, startedAt, durationMs: now() - startedAt, ...('status' in result && result.status !== undefined ? { status: result.status } : {}) };
        const coded = result.kind === 'accepted' ? {} : { code: result.diagnostics[0]?.code ?? 'CQI_UNAVAILABLE', error: result.diagnostics.map((d) => d.message).join(' ') };
        switch (result.kind) {
          case 'accepted':
            return { status: 'accepted', diagnostics: [], attempts: [attempt], possibleDuplicate: false };
          case 'rejected':
            return { status: 'rejected', diagnostics: result.diagnostics, attempts: [{ ...attempt, ...coded }], possibleDuplicate: false };
          case 'refused':
            return { status: result.status === undefined ? 'not-sent' : 'unavailable', diagnostics: result.diagnostics, attempts: result.status === undefined ? [] : [{ ...attempt, ...coded }], possibleDuplicate: false, stop: true };
          case 'unavailable':
            return { status: 'unavailable', diagnostics: result.diagnostics, attempts: [{ ...attempt, ...coded }], possibleDuplicate: false, stop: true, ...(result.retryAfterMs !== undefined ? { retryAt: now() + result.retryAfterMs } : {}) };
          case 'unknown':
            return { status: 'unknown', diagnostics: result.diagnostics, attempts: [{ ...attempt, ...coded, outcomeUnknown: true }], possibleDuplicate: false };
        }
      },
      close: () => this.close(),
    };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

type Json = Record<string, unknown>;
const pick = (item: Json, names: readonly string[]): string | undefined => {
  for (const name of names) {
    const value = item[name];
    if (typeof value === 'string' || typeof value === 'number') {
      return String(value);
    }
  }
  return undefined;
};

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Reads exception codes from a rejection body. The format is not public, so common shapes are accepted. */
export function parseExceptions(body: string): CqiException[] {
  const value = parseJson(body);
  const items = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? ((value as Json).exceptions ?? (value as Json).exceptionCodes ?? (value as Json).errors ?? [value]) : [];
  if (!Array.isArray(items)) {
    return [];
  }
  return items.flatMap((item): CqiException[] => {
    if (typeof item === 'string') {
      return [{ code: item }];
    }
    if (item === null || typeof item !== 'object') {
      return [];
    }
    const code = pick(item as Json, ['code', 'exceptionCode', 'ExceptionCode', 'id']);
    if (code === undefined) {
      return [];
    }
    const message = pick(item as Json, ['message', 'detail', 'description', 'text']);
    const path = pick(item as Json, ['path', 'field', 'location']);
    return [{ code, ...(message !== undefined ? { message } : {}), ...(path !== undefined ? { path } : {}) }];
  });
}

/** Reads the cqiExceptionCodes list: an array (or `{exceptionCodes: [...]}`) of `{code, description}`-like items. */
export function parseExceptionCodes(body: string): Map<string, string> | undefined {
  const value = parseJson(body);
  const items = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? ((value as Json).exceptionCodes ?? (value as Json).codes) : undefined;
  if (!Array.isArray(items)) {
    return undefined;
  }
  const codes = new Map<string, string>();
  for (const item of items) {
    if (item !== null && typeof item === 'object') {
      const code = pick(item as Json, ['code', 'exceptionCode', 'ExceptionCode', 'id']);
      const description = pick(item as Json, ['description', 'Description', 'message', 'text']);
      if (code !== undefined) {
        codes.set(code, description ?? '');
      }
    }
  }
  return codes;
}
