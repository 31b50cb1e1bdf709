import { randomUUID } from 'node:crypto';
import { open as openFile } from 'node:fs/promises';
import { arch, platform, release } from 'node:os';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gzip as gzipCallback } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { readBodyText } from '@cadmap/core/net';
import { dispatcherFor, header as headerOf, isAnswer, open, refusedUnread, RetryPolicy, retryAfterMs, type NetworkFailure, type OpenAnswer, type OwnedDispatcher, type Resend, type Target, type TargetOutcome } from '@cadmap/transport';
import { meshAuthorization } from './auth.js';
import { systemClock, type Clock } from './clock.js';
import { MeshError, type MeshCode, type MeshDiagnostic } from './codes.js';
import { resolveBaseUrl } from './environments.js';
import { emitter, loggablePath, type MeshEvent, type MeshEventListener } from './events.js';
import { describeTlsFailure } from '@cadmap/core/net';

const gzip = promisify(gzipCallback);
const MiB = 1024 * 1024;
/** Smallest chunk MESH wants for every chunk but the last (mesh.md §12). */
export const minChunkBytes = 5 * MiB;
export const defaultChunkBytes = 20 * MiB;
const maxChunkBytes = 95 * MiB;
const acceptV2 = 'application/vnd.mesh.v2+json';
const acceptV1 = 'application/vnd.mesh.v1+json';
const meshRetryable = new Set([425, 429, 502, 503, 504]);

/** PEM material for mutual TLS. */
export interface MeshTlsOptions {
  /** Client certificate (PEM), issued for this environment. */
  readonly cert: string;
  /** Client private key (PEM). */
  readonly key: string;
  /** CA certificates to trust for the server (PEM); default Node's roots. */
  readonly ca?: string | readonly string[];
}

/** Options of {@link createMeshClient}. */
export interface MeshClientOptions {
  /** `integration`, `production`, `deployment`, or a base URL such as the local sandbox's. */
  readonly environment: string;
  readonly mailboxId: string;
  readonly password: string;
  /** The environment shared secret (HMAC key). */
  readonly sharedKey: string;
  /** Mutual TLS material; required unless `dispatcher` is given. Verification (CA, host name, TLS ≥ 1.2) is never turned off. */
  readonly tls?: MeshTlsOptions;
  /** An undici dispatcher (e.g. a ProxyAgent carrying the same TLS options); the caller closes it. */
  readonly dispatcher?: Dispatcher;
  /** Uncompressed bytes per chunk when sending (default 20 MiB; at least 5 MiB). */
  readonly chunkBytes?: number;
  /** gzip each chunk on upload (default true); turn off for recipients that do not expect it. */
  readonly compress?: boolean;
  /** Attempts for retryable requests, including the first (default 3). */
  readonly maxAttempts?: number;
  /** Backoff: waits about factor × 2^(n-1) ms between attempts, with jitter, capped at 30 s (default 500). */
  readonly backoffMs?: number;
  /** Longest `Retry-After` honoured (default 120 s) and longest one request may spend retrying (default 15 minutes). */
  readonly maxRetryAfterMs?: number;
  readonly retryBudgetMs?: number;
  /** Overall deadline of one request, answer and body together, so a body that trickles cannot hang (default 10 minutes). */
  readonly timeoutMs?: number;
  /**
   * Largest message a download may produce, after gunzip, checked while it streams (default 100 MiB): a larger
   * one, or a gzip bomb, fails with MESH_MESSAGE_TOO_LARGE before it is stored or acknowledged. MESH allows up to
   * 20 GB (mesh.md §12); raise it for mailboxes that receive large files.
   */
  readonly maxMessageBytes?: number;
  /** Sent as `mex-ClientVersion` and in the User-Agent. */
  readonly clientVersion?: string;
  readonly clock?: Clock;
  readonly uuid?: () => string;
  /** Uniform in [0, 1): the backoff jitter source. */
  readonly random?: () => number;
  /**
   * Told of every request and answer, retry, inbox page, download, acknowledgement and send, e.g. to log them.
   * Never given the Authorization token, password, shared key or message content; exceptions it throws are
   * ignored. The client itself never prints.
   */
  readonly onEvent?: MeshEventListener;
}

/** One page of the inbox. */
export interface MeshInboxPage {
  readonly messageIds: readonly string[];
  /** Absolute URL of the next page, when there is one. */
  readonly next?: string;
  readonly approxInboxCount?: number;
}

/** The `mex-*` metadata of a downloaded message. */
export interface MeshMessageInfo {
  readonly messageId: string;
  /** `DATA` or `REPORT` (check it on every download). */
  readonly messageType: string;
  readonly from?: string;
  readonly to?: string;
  readonly workflowId?: string;
  readonly localId?: string;
  readonly subject?: string;
  readonly fileName?: string;
  readonly contentType?: string;
  /** On a REPORT: the message it reports on. */
  readonly linkedMessageId?: string;
  readonly statusCode?: string;
  readonly statusEvent?: string;
  readonly statusDescription?: string;
  readonly statusSuccess?: string;
  readonly statusTimestamp?: string;
  readonly chunks: number;
  /** Decoded (uncompressed) size. */
  readonly bytes: number;
  /** Every `mex-*` and content header, names lower case. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Where downloaded bytes go; `truncate` rolls back a chunk that failed half way before it is fetched again. */
export interface MeshDownloadSink {
  write(data: Buffer): Promise<void>;
  truncate(length: number): Promise<void>;
}

/** A message to send. */
export interface MeshSendRequest {
  readonly to: string;
  readonly workflowId: string;
  /** The data, or the path of a file read chunk by chunk. */
  readonly body: Buffer | { readonly path: string };
  readonly localId?: string;
  readonly subject?: string;
  /** Passed to the recipient; do not derive it from local paths. */
  readonly fileName?: string;
  readonly contentType?: string;
  readonly checksum?: string;
  readonly chunkBytes?: number;
  readonly compress?: boolean;
}

export interface MeshSendResult {
  readonly messageId: string;
  readonly chunks: number;
  readonly bytes: number;
  /** The last chunk's answer was lost and MESH then said the message was complete (423): it holds it. */
  readonly completedOnRetry?: boolean;
}

/** What every client call can be given: a signal that cancels it whatever it is doing. */
export interface MeshCallOptions {
  readonly signal?: AbortSignal;
}

/** The v2 tracking object (mesh.md §9), with the fields cadmap reads. */
export interface MeshTracking {
  readonly messageId: string;
  readonly status?: string;
  readonly statusSuccess?: boolean;
  readonly statusCode?: string;
  readonly statusEvent?: string;
  readonly statusDescription?: string;
  readonly localId?: string;
  readonly workflowId?: string;
  readonly recipient?: string;
  readonly expiryTime?: string;
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * A MESH mailbox client. Methods throw {@link MeshError} (a coded diagnostic) when MESH or the network fails;
 * `asTarget()` gives the never-throwing `Target` the pipeline sends through.
 */
export interface MeshClient {
  readonly mailboxId: string;
  readonly baseUrl: string;
  /** Validates the mailbox ("handshake"); call once every 24 h. */
  handshake(options?: MeshCallOptions): Promise<void>;
  listInbox(options?: { maxResults?: number; workflowFilter?: string; next?: string } & MeshCallOptions): Promise<MeshInboxPage>;
  /** Every waiting message id, following `links.next`. */
  inboxIds(options?: { maxResults?: number; workflowFilter?: string } & MeshCallOptions): AsyncIterable<string>;
  /** Downloads every chunk into `sink`, gunzipping per chunk as `Content-Encoding` says. */
  download(messageId: string, sink: MeshDownloadSink, options?: MeshCallOptions): Promise<MeshMessageInfo>;
  /** Downloads into memory (small messages only). */
  downloadBuffer(messageId: string, options?: MeshCallOptions): Promise<{ info: MeshMessageInfo; body: Buffer }>;
  acknowledge(messageId: string, options?: MeshCallOptions): Promise<void>;
  /**
   * Sends a message, chunked and gzipped per chunk. An empty body and header values that cannot be sent are
   * refused before anything goes out; the first POST is never retried once it may have arrived.
   */
  send(message: MeshSendRequest, options?: MeshCallOptions): Promise<MeshSendResult>;
  /** Posts chunk `index` (≥ 2) of `total` raw: `data` as it goes on the wire. Retried on 425/429/5xx. */
  sendChunk(messageId: string, index: number, total: number, data: Buffer, options?: { gzip?: boolean } & MeshCallOptions): Promise<'accepted' | 'complete'>;
  track(messageId: string, options?: MeshCallOptions): Promise<MeshTracking>;
  /**
   * Tracks a message by the local id it was sent with (MESH's v1 tracking endpoint): how a send whose first
   * answer was lost finds its message id. `undefined` when MESH holds no message with that local id.
   */
  trackByLocalId(localId: string, options?: MeshCallOptions): Promise<MeshTracking | undefined>;
  /** Mailboxes for an ODS code and workflow. */
  lookup(odsCode: string, workflowId: string, options?: MeshCallOptions): Promise<readonly { mailboxId: string; mailboxName?: string }[]>;
  /** This client as a pipeline target: never throws; the payload is the message to send. */
  asTarget(): Target<MeshSendRequest>;
  close(): Promise<void>;
}

export type CreateMeshClientResult = { readonly client: MeshClient; readonly diagnostics: readonly MeshDiagnostic[] } | { readonly client: undefined; readonly diagnostics: readonly MeshDiagnostic[] };

interface CallOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'HEAD';
  /** Path under the base URL, or an absolute URL. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** When the request may be sent again (mesh.md §14: never the first POST of a send once it may have arrived). */
  readonly resend: Resend;
  readonly ok: readonly number[];
  readonly messageId?: string;
  readonly signal?: AbortSignal | undefined;
}

/** An answer whose body is still to be read; `done()` stops its deadline. */
interface Response {
  /** An earlier attempt of this call may have arrived without its answer. */
  readonly lostBefore: boolean;
  readonly statusCode: number;
  readonly headers: OpenAnswer['headers'];
  readonly body: OpenAnswer['body'];
  readonly answer: OpenAnswer;
}

const configuration = (message: string, hint: string): MeshDiagnostic => ({ code: 'MESH_CONFIGURATION', severity: 'fatal', message, hint });

const headerValue = (headers: Response['headers'], name: string): string | undefined => headerOf({ headers }, name);

function detailsOf(body: string): { text: string; code?: string } {
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    const detail = Array.isArray(value.detail) ? (value.detail as Record<string, unknown>[]) : [];
    const code = typeof detail[0]?.code === 'string' ? detail[0].code : typeof value.errorCode === 'string' ? value.errorCode : undefined;
    const texts = detail.map((item) => [item.event, item.code, Array.isArray(item.loc) ? item.loc.join('.') : undefined, item.msg].filter((part) => typeof part === 'string' && part !== '').join(' '));
    if (typeof value.errorDescription === 'string') {
      texts.push([value.errorEvent, value.errorCode, value.errorDescription].filter((part): part is string => typeof part === 'string').join(' '));
    }
    return { text: texts.join('; '), ...(code !== undefined ? { code } : {}) };
  } catch {
    return { text: body.length > 0 ? `non-JSON body (${body.slice(0, 80).replace(/\s+/g, ' ')}…)` : '' };
  }
}

const sendHints: Readonly<Record<string, string>> = {
  '06': 'A header is malformed: keep header values free of control characters and URLs.',
  '07': 'Mex-From must be the mailbox the token authenticates; leave it out.',
  '08': 'Mex-To is missing.',
  '12': 'The recipient mailbox is not registered: check Mex-To, or find it with endpoint lookup (ODS code + workflow).',
  '16': 'This mailbox may not send this message type.',
  '17': 'The workflow id is not registered for the sender or the recipient mailbox: ask the MESH service desk to add it to both, or check the workflow id in the configuration.',
};

/** The most of a JSON or error answer that is read (an inbox page of 5000 ids is far smaller). */
const maxAnswerBytes = 8 * MiB;

/**
 * A message id (opaque, from MESH) as a URL path segment. Ids are not validated for format (mesh.md §8), but one
 * that would change the path (`.`, `..`, empty), carries control characters, is absurdly long or is not valid
 * Unicode text is refused before it is used.
 */
export function messageSegment(messageId: string): string {
  const refuse = (why: string): never => {
    throw new MeshError({ code: 'MESH_INVALID_MESSAGE_ID', severity: 'error', messageId: messageId.slice(0, 80), message: `The message id ${JSON.stringify(messageId.slice(0, 80))} ${why}, so it is not put in a request path.`, hint: 'The message stays in the inbox untouched; report the inbox listing to the MESH service desk.' });
  };
  if (messageId === '' || messageId === '.' || messageId === '..') {
    refuse('would name another path');
  }
  if (messageId.length > 300) {
    refuse('is longer than 300 characters');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(messageId)) {
    refuse('holds control characters');
  }
  try {
    return encodeURIComponent(messageId);
  } catch {
    return refuse('is not valid Unicode text');
  }
}

/** Header values MESH takes: printable ASCII only (mesh.md §7: no control characters). */
function checkHeaderValues(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[\x20-\x7e]*$/.test(value)) {
      throw new MeshError({ code: 'MESH_INVALID_HEADER', severity: 'error', message: `The ${name} value ${JSON.stringify(value.slice(0, 80))} holds characters a MESH header cannot carry (only printable ASCII); nothing was sent.`, hint: 'Use plain ASCII in the subject, local id, file name and workflow id (e.g. transliterate accents).' });
    }
  }
}

/** Most chunks a message can have: 20 GB (MESH's ceiling, mesh.md §12) in chunks of at least 5 MB. */
export const maxMessageChunks = 4_000;
export const defaultMaxMessageBytes = 100 * MiB;

/** Raised by drainBody when a body gives more bytes than allowed: not a transient fault, never retried. */
class BodyLimitError extends Error {}

/** Bytes of a download that may wait in memory for the sink (more than the largest chunk). */
const maxQueuedBytes = 128 * MiB;

/*
 * Bodies are read without ever being paused: undici 7 throws an uncatchable assertion when a server closes the
 * connection while a body is paused by backpressure (nodejs/undici#5360, fixed only in undici 8). Data waits in
 * memory instead, within a limit.
 */

/** Feeds a body (gunzipped when `decode`) to `write` piece by piece; resolves with the bytes written. */
function drainBody(body: Readable, decode: boolean, write: (data: Buffer) => Promise<void>, limit: number, maxBytes: number = Number.POSITIVE_INFINITY): Promise<number> {
  return new Promise((resolve, reject) => {
    const gunzip = decode ? createGunzip() : undefined;
    const output: Readable = gunzip ?? body;
    let queued = 0;
    let written = 0;
    let settled = false;
    let writing: Promise<void> = Promise.resolve();
    const fail = (error: unknown): void => {
      if (!settled) {
        settled = true;
        body.destroy();
        gunzip?.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    let received = 0;
    output.on('data', (data: Buffer) => {
      received += data.length;
      if (received > maxBytes) {
        fail(new BodyLimitError(`more than ${maxBytes} bytes`));
        return;
      }
      queued += data.length;
      if (queued > limit) {
        fail(new Error(`more than ${limit} bytes arrived before the store could take them`));
        return;
      }
      writing = writing.then(async () => {
        if (!settled) {
          await write(data);
          written += data.length;
          queued -= data.length;
        }
      });
      writing.catch(fail);
    });
    output.on('end', () => {
      writing.then(() => {
        if (!settled) {
          settled = true;
          resolve(written);
        }
      }, fail);
    });
    output.on('error', fail);
    if (gunzip !== undefined) {
      body.on('error', fail);
      body.on('data', (data: Buffer) => gunzip.write(data));
      body.on('end', () => gunzip.end());
    }
  });
}

function formatDuration(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  return minutes >= 120 ? `${(minutes / 60).toFixed(1)} h` : `${minutes} min`;
}

/**
 * Makes a MESH client. Checks the options up front (https base URL, mailbox, password, shared key, client
 * certificate, chunk size) and returns diagnostics instead of throwing. Secrets never appear in diagnostics.
 */
export function createMeshClient(options: MeshClientOptions): CreateMeshClientResult {
  const problems: MeshDiagnostic[] = [];
  const baseUrl = resolveBaseUrl(options.environment);
  if (!/^https:\/\/[^/]+$/.test(baseUrl)) {
    problems.push(configuration(`The MESH base URL must be https://host[:port] (got '${baseUrl}').`, 'Use integration, production, deployment or the URL the local sandbox printed.'));
  }
  const mailboxId = options.mailboxId.trim().toUpperCase();
  if (!/^[A-Z0-9]+$/.test(mailboxId)) {
    problems.push(configuration(`The MESH mailbox id '${options.mailboxId}' is missing or not alphanumeric.`, 'Set CADMAP_MESH_MAILBOX (or mesh.mailbox in the config file) to the mailbox id from onboarding, e.g. X26ABC1.'));
  }
  if (options.password === '') {
    problems.push(configuration('The MESH mailbox password is missing.', 'Set CADMAP_MESH_PASSWORD or CADMAP_MESH_PASSWORD_FILE.'));
  }
  if (options.sharedKey === '') {
    problems.push(configuration('The MESH shared key is missing.', 'Set CADMAP_MESH_SHARED_KEY or CADMAP_MESH_SHARED_KEY_FILE (it came by email during onboarding).'));
  }
  if (!options.dispatcher && (!options.tls || !/-----BEGIN [A-Z ]*CERTIFICATE-----/.test(options.tls.cert) || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(options.tls.key))) {
    problems.push(configuration('MESH needs mutual TLS: a PEM client certificate and its PEM private key.', 'Set CADMAP_MESH_CERT_FILE and CADMAP_MESH_KEY_FILE (mesh.certFile / mesh.keyFile); see the README section on certificates.'));
  }
  const chunkBytes = options.chunkBytes ?? defaultChunkBytes;
  if (!Number.isInteger(chunkBytes) || chunkBytes < minChunkBytes || chunkBytes > maxChunkBytes) {
    problems.push(configuration(`The MESH chunk size ${chunkBytes} is outside 5 MiB..95 MiB.`, 'MESH wants every chunk but the last to be at least 5 MiB and each request under 100 MB.'));
  }
  if (options.maxMessageBytes !== undefined && !(Number.isInteger(options.maxMessageBytes) && options.maxMessageBytes > 0)) {
    problems.push(configuration(`The largest MESH message to download, ${options.maxMessageBytes}, is not a positive whole number of bytes.`, 'Set mesh.maxMessageBytes to a byte count, e.g. 104857600 for 100 MiB (the default).'));
  }
  if (problems.length > 0) {
    return { client: undefined, diagnostics: problems };
  }
  const tls = options.tls;
  const connection = dispatcherFor(options.dispatcher, { ...(tls !== undefined ? { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) } : {}) });
  return { client: new HttpMeshClient(options, baseUrl, mailboxId, chunkBytes, connection), diagnostics: [] };
}

class HttpMeshClient implements MeshClient {
  private readonly clock: Clock;
  private readonly uuid: () => string;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly clientVersion: string;
  private readonly emit: (event: MeshEvent) => void;

  constructor(
    private readonly options: MeshClientOptions,
    readonly baseUrl: string,
    readonly mailboxId: string,
    private readonly chunkBytes: number,
    private readonly connection: OwnedDispatcher,
  ) {
    this.clock = options.clock ?? systemClock;
    this.uuid = options.uuid ?? randomUUID;
    this.policy = new RetryPolicy({
      maxAttempts: Math.max(1, options.maxAttempts ?? 3),
      baseMs: options.backoffMs ?? 500,
      maxMs: 30_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
      budgetMs: options.retryBudgetMs ?? 900_000,
      ...(options.random !== undefined ? { random: options.random } : {}),
    });
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
    this.clientVersion = options.clientVersion ?? 'cadmap;0.1.0';
    this.emit = emitter(options.onEvent);
  }

  private get mailboxPath(): string {
    return `/messageexchange/${encodeURIComponent(this.mailboxId)}`;
  }

  private get dispatcher(): Dispatcher {
    return this.connection.dispatcher;
  }

  /** One logical request with a fresh token per attempt, each within the request deadline; retries as the policy allows. */
  private async call(call: CallOptions): Promise<Response> {
    const url = /^https?:\/\//.test(call.path) ? call.path : `${this.baseUrl}${call.path}`;
    const seen = { service: 'mesh', method: call.method, url: loggablePath(call.path), ...(call.messageId !== undefined ? { messageId: call.messageId } : {}) } as const;
    const firstStartedAt = this.clock.now();
    let lostBefore = false;
    for (let attempt = 1; ; attempt++) {
      this.emit({ type: 'request', ...seen, attempt, ...(call.body !== undefined ? { bytes: call.body.length } : {}) });
      const startedAt = this.clock.now();
      const answer = await open(this.dispatcher, {
        url,
        method: call.method,
        headers: {
          accept: acceptV2,
          'accept-encoding': 'gzip',
          'user-agent': `${this.clientVersion};N/A;${arch()};${platform()};${release()}`,
          authorization: meshAuthorization({ mailboxId: this.mailboxId, password: this.options.password, sharedKey: this.options.sharedKey, now: this.clock.now(), nonce: this.uuid() }),
          ...call.headers,
        },
        ...(call.body !== undefined ? { body: call.body } : {}),
        deadlineMs: this.timeoutMs,
        signal: call.signal,
      });
      if (!isAnswer(answer)) {
        const failure = this.networkFailure(answer, call);
        this.emit({ type: 'network-failure', ...seen, attempt, code: failure.code, failure: answer.kind, cause: answer.cause, durationMs: this.clock.now() - startedAt, outcomeUnknown: answer.requestSent });
        lostBefore ||= answer.requestSent;
        const transient = answer.kind === 'connect' || answer.kind === 'reset' || answer.kind === 'timeout' || answer.kind === 'deadline' || answer.kind === 'other';
        const decision = this.policy.decide({ attempt, firstStartedAt, now: this.clock.now(), transient, requestSent: answer.requestSent }, call.resend);
        if (decision.retry) {
          this.emit({ type: 'retry', ...seen, attempt, waitMs: decision.waitMs, reason: decision.reason });
          await this.sleep(decision.waitMs, call.signal);
          continue;
        }
        throw new MeshError(failure);
      }
      const response: Response = { lostBefore, statusCode: answer.status, headers: answer.headers, body: answer.body, answer };
      this.emit({ type: 'response', ...seen, attempt, status: answer.status, durationMs: this.clock.now() - startedAt });
      if (call.ok.includes(answer.status)) {
        return response;
      }
      const body = await readBodyText(answer.body, maxAnswerBytes).then((read) => read.text, () => '');
      answer.done();
      const wait = retryAfterMs(headerValue(answer.headers, 'retry-after'), this.clock.now());
      const decision = this.policy.decide(
        // mesh.md §14: 425, 429, 502, 503 and 504 are retried; the first POST of a send never once it may have arrived
        { attempt, firstStartedAt, now: this.clock.now(), transient: meshRetryable.has(answer.status), requestSent: call.resend === 'if-not-sent' || !refusedUnread(answer.status), ...(wait !== undefined ? { retryAfterMs: wait } : {}) },
        call.resend,
      );
      if (decision.retry) {
        this.emit({ type: 'retry', ...seen, attempt, waitMs: decision.waitMs, reason: decision.reason, status: answer.status });
        await this.sleep(decision.waitMs, call.signal);
        continue;
      }
      throw new MeshError(this.statusFailure(call, response, body, attempt));
    }
  }

  /** Waits, or throws MESH_CANCELLED when the signal fires. */
  private async sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.clock.sleep(ms, signal);
    } catch {
      throw new MeshError({ code: 'MESH_CANCELLED', severity: 'error', message: 'Cancelled while waiting to retry.', hint: 'Nothing further was sent.' });
    }
  }

  private networkFailure(failure: NetworkFailure, call: CallOptions): MeshDiagnostic {
    const about = call.messageId !== undefined ? { messageId: call.messageId } : {};
    return { ...this.describeFailure(failure, call), ...about };
  }

  private describeFailure(failure: NetworkFailure, call: CallOptions): MeshDiagnostic {
    const isFirstPost = call.method === 'POST' && call.path.endsWith('/outbox');
    if (failure.kind === 'tls') {
      return {
        code: 'MESH_TLS',
        severity: 'fatal',
        message: `TLS with ${this.baseUrl} failed: ${describeTlsFailure(failure.codes.length > 0 ? failure.codes : [failure.cause], { mutual: true })} (${failure.message})`,
        hint: "Check the CA bundle (mesh.caFile) trusts the server, the host name matches its certificate, the certificate is in date (and this machine's clock is right), and the client certificate/key are the ones issued for this environment. Verification is never turned off.",
      };
    }
    if (failure.kind === 'local') {
      return { code: 'MESH_INVALID_HEADER', severity: 'error', message: `${call.method} ${loggablePath(call.path)} was refused on this machine before anything was sent: ${failure.message}`, hint: 'A header value (subject, local id, file name) holds characters HTTP cannot carry; use plain ASCII.' };
    }
    if (failure.kind === 'cancelled') {
      return { code: 'MESH_CANCELLED', severity: 'error', message: `${call.method} ${loggablePath(call.path)} was cancelled${failure.requestSent ? ' while waiting for its answer' : ''}.`, hint: isFirstPost ? 'MESH may hold the message: the ledger records it as unknown and the next run looks it up by its local id.' : 'Nothing is lost: what was not acknowledged is downloaded again by the next poll.' };
    }
    if (isFirstPost && failure.requestSent) {
      return {
        code: 'MESH_NOT_RETRIED',
        severity: 'error',
        message: `The first POST of the send got no answer (${failure.cause}); it was not retried because MESH may already hold the message.`,
        hint: 'Look the message up by its local id (`cadmap mesh track --local-id <id>`, done automatically by a ledger run) before sending again.',
      };
    }
    const closedEarly = failure.codes.includes('UND_ERR_SOCKET') || failure.codes.includes('ECONNRESET');
    return {
      code: failure.kind === 'deadline' || failure.kind === 'timeout' ? 'MESH_TIMEOUT' : 'MESH_UNAVAILABLE',
      severity: 'error',
      message: `${call.method} ${loggablePath(call.path)} on ${this.baseUrl} failed: ${failure.kind === 'deadline' ? `no complete answer within ${this.timeoutMs} ms` : failure.message}`,
      hint: closedEarly
        ? 'If this happens on every request, MESH is refusing the client certificate (mutual TLS, TLS 1.3 closes the connection instead of failing the handshake): check mesh.certificateFile/keyFile were issued for this environment. Otherwise check network access (and any proxy) and retry later.'
        : failure.kind === 'deadline'
          ? 'MESH (or something between) answered too slowly; raise mesh.timeoutMs if the files are large, or retry later.'
          : 'Check network access to MESH (and any proxy); retry later.',
    };
  }

  private statusFailure(call: CallOptions, response: Response, body: string, attempts: number): MeshDiagnostic {
    const status = response.statusCode;
    const { text, code } = detailsOf(body);
    const said = text === '' ? '' : ` MESH said: ${text}.`;
    const base = { severity: 'error' as const, status, ...(call.messageId !== undefined ? { messageId: call.messageId } : {}) };
    const what = `${call.method} ${call.path.replace(/^https?:\/\/[^/]+/, '')}`;
    if (status === 403) {
      const serverDate = Date.parse(headerValue(response.headers, 'date') ?? '');
      const skew = Number.isNaN(serverDate) ? undefined : this.clock.now() - serverDate;
      const causes =
        skew !== undefined && Math.abs(skew) > 2 * 3_600_000 - 120_000
          ? `The local clock is ${formatDuration(skew)} ${skew > 0 ? 'ahead of' : 'behind'} the MESH clock: tokens more than 2 hours off are refused. Fix the clock (NTP).`
          : `Causes: a token reused (each is single-use), the clock more than 2 hours off${skew !== undefined ? ` (now ${formatDuration(skew)} off, so unlikely)` : ''}, a mailbox id not matching the path or the certificate, a wrong password or shared key.`;
      return { ...base, code: 'MESH_AUTH_REJECTED', message: `MESH refused ${what} with 403 for mailbox ${this.mailboxId}.${said} ${causes}`, hint: 'Check CADMAP_MESH_MAILBOX, CADMAP_MESH_PASSWORD and CADMAP_MESH_SHARED_KEY belong to this environment and certificate, and that the system clock is right.' };
    }
    const simple = (meshCode: MeshCode, message: string, hint: string): MeshDiagnostic => ({ ...base, code: meshCode, message: `${message}${said}`, hint });
    switch (status) {
      case 400:
        return simple('MESH_BAD_REQUEST', `MESH rejected ${what} as invalid (400).`, 'Fix the header or parameter named; this is not retried.');
      case 404:
        return simple('MESH_NOT_FOUND', `MESH has no ${call.messageId !== undefined ? `message ${call.messageId}` : 'such resource'} (${what}, 404).`, 'Check the message id and that it belongs to this mailbox.');
      case 410:
        return simple('MESH_GONE', `Message ${call.messageId ?? ''} is gone (410): it expired or was already acknowledged.`, 'Nothing to do if it was stored before; otherwise ask the sender (or the service desk within 30 days) to re-deliver.');
      case 413:
        return simple('MESH_TOO_LARGE', `${what} was too large for MESH (413).`, 'Lower the chunk size (mesh.chunkSize).');
      case 417:
        return { ...simple('MESH_SEND_REJECTED', `MESH refused the message (417${code !== undefined ? `, code ${code}` : ''}).`, (code !== undefined ? sendHints[code] : undefined) ?? 'Read the MESH error code in mesh.md §9.'), ...(code !== undefined ? { meshErrorCode: code } : {}) };
      case 423:
        return simple('MESH_CHUNK_COMPLETE', `MESH answered 423 to ${what}: the message is already complete.`, 'Do not re-send chunks of a message that reached its last chunk.');
      case 425:
      case 429:
        return simple('MESH_RATE_LIMITED', `MESH answered ${status} to ${what} after ${attempts} attempt(s).`, 'Poll and send less often; try again later.');
      default:
        if (status >= 500) {
          return call.method === 'POST' && call.path.endsWith('/outbox')
            ? simple('MESH_NOT_RETRIED', `MESH answered ${status} to the first POST of a send; it is not retried automatically because MESH may hold the message.`, 'Check with `cadmap mesh track` or the recipient before sending again.')
            : simple('MESH_UNAVAILABLE', `MESH answered ${status} to ${what} after ${attempts} attempt(s).`, 'MESH is unavailable; try again later.');
        }
        return simple('MESH_UNEXPECTED_STATUS', `MESH answered ${status} to ${what}, which the API does not document here.`, 'Report it with the request details.');
    }
  }

  private async json(response: Response, call: string, brokenOff: MeshCode = 'MESH_UNAVAILABLE'): Promise<Record<string, unknown>> {
    let read: { text: string; complete: boolean };
    try {
      read = await readBodyText(response.body, maxAnswerBytes);
    } catch (error) {
      const failure = response.answer.failure(error);
      throw new MeshError({ code: failure.kind === 'cancelled' ? 'MESH_CANCELLED' : brokenOff, severity: 'error', status: response.statusCode, message: `MESH's answer to ${call} (${response.statusCode}) broke off: ${failure.message}`, hint: brokenOff === 'MESH_NOT_RETRIED' ? 'MESH may hold the message: a ledger run looks it up by its local id before sending again.' : 'Check network access to MESH; retry later.' });
    } finally {
      response.answer.done();
    }
    if (!read.complete) {
      throw new MeshError({ code: 'MESH_UNEXPECTED_STATUS', severity: 'error', status: response.statusCode, message: `MESH answered ${call} with a body over ${maxAnswerBytes} bytes; the rest was not read.`, hint: 'Check the base URL points at MESH; for an inbox listing, ask for fewer results (max_results).' });
    }
    const { text } = read;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return value as Record<string, unknown>;
      }
    } catch {
      // reported below
    }
    throw new MeshError({ code: 'MESH_UNEXPECTED_STATUS', severity: 'error', status: response.statusCode, message: `MESH answered ${call} with a body that is not a JSON object.`, hint: 'Check the base URL points at MESH and that the Accept header (v2) is honoured.' });
  }

  /** Reads and drops a body, within its deadline. */
  private async drop(response: Response): Promise<void> {
    try {
      for await (const chunk of response.body) {
        void chunk;
      }
    } catch {
      // the answer was all we needed
    } finally {
      response.answer.done();
    }
  }

  async handshake(options: MeshCallOptions = {}): Promise<void> {
    const response = await this.call({
      method: 'POST',
      path: this.mailboxPath,
      headers: { 'mex-clientversion': this.clientVersion, 'mex-osname': platform(), 'mex-osversion': release(), 'mex-osarchitecture': arch(), 'mex-javaversion': 'N/A' },
      resend: 'always',
      ok: [200],
      signal: options.signal,
    });
    await this.drop(response);
  }

  async listInbox(options: { maxResults?: number; workflowFilter?: string; next?: string } & MeshCallOptions = {}): Promise<MeshInboxPage> {
    const query = new URLSearchParams();
    if (options.maxResults !== undefined) {
      query.set('max_results', String(options.maxResults));
    }
    if (options.workflowFilter !== undefined) {
      query.set('workflow_filter', options.workflowFilter);
    }
    const path = options.next ?? `${this.mailboxPath}/inbox${query.size > 0 ? `?${query.toString()}` : ''}`;
    const body = await this.json(await this.call({ method: 'GET', path, resend: 'always', ok: [200], signal: options.signal }), 'the inbox listing');
    const ids = Array.isArray(body.messages) ? body.messages.filter((id): id is string => typeof id === 'string') : [];
    const links = typeof body.links === 'object' && body.links !== null ? (body.links as Record<string, unknown>) : {};
    const next = typeof links.next === 'string' && links.next !== '' ? this.nextPage(links.next) : undefined;
    this.emit({ type: 'inbox', messages: ids.length, ...(typeof body.approx_inbox_count === 'number' ? { approxInboxCount: body.approx_inbox_count } : {}), more: next !== undefined });
    return { messageIds: ids, ...(next !== undefined ? { next } : {}), ...(typeof body.approx_inbox_count === 'number' ? { approxInboxCount: body.approx_inbox_count } : {}) };
  }

  /** `links.next` resolved against the base URL; it must stay on the MESH origin (the token and certificate go with it). */
  private nextPage(link: string): string {
    let url: URL | undefined;
    try {
      url = new URL(link, `${this.baseUrl}/`);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.origin !== new URL(this.baseUrl).origin) {
      throw new MeshError({ code: 'MESH_UNEXPECTED_STATUS', severity: 'error', status: 200, message: `MESH's inbox listing points its next page outside ${this.baseUrl} (${JSON.stringify(link.slice(0, 200))}); it was not followed.`, hint: 'links.next must be a path on the MESH host: check the base URL points at MESH, and report the answer to the MESH service desk.' });
    }
    return url.toString();
  }

  async *inboxIds(options: { maxResults?: number; workflowFilter?: string } & MeshCallOptions = {}): AsyncIterable<string> {
    let page = await this.listInbox(options);
    const followed = new Set<string>();
    for (;;) {
      yield* page.messageIds;
      if (page.next === undefined) {
        return;
      }
      if (followed.has(page.next)) {
        throw new MeshError({ code: 'MESH_UNEXPECTED_STATUS', severity: 'error', status: 200, message: `MESH's inbox listing sent the same next page twice (${page.next}); stopped rather than loop.`, hint: 'Poll again later; report it to the MESH service desk if it persists.' });
      }
      followed.add(page.next);
      page = await this.listInbox({ next: page.next, ...(options.signal !== undefined ? { signal: options.signal } : {}) });
    }
  }

  async download(messageId: string, sink: MeshDownloadSink, options: MeshCallOptions = {}): Promise<MeshMessageInfo> {
    const segment = messageSegment(messageId);
    let written = 0;
    let first: Response['headers'] | undefined;
    let total = 1;
    const firstStartedAt = this.clock.now();
    for (let index = 1; index <= total; index++) {
      const path = `${this.mailboxPath}/inbox/${segment}${index === 1 ? '' : `/${index}`}`;
      for (let attempt = 1; ; attempt++) {
        const start = written;
        const response = await this.call({ method: 'GET', path, resend: 'always', ok: [200, 206], messageId, signal: options.signal });
        const range = headerValue(response.headers, 'mex-chunk-range');
        const parsed = range === undefined ? undefined : /^\s*(\d+):(\d+)\s*$/.exec(range);
        if (index === 1) {
          first = response.headers;
          total = parsed ? Number(parsed[2]) : 1;
          if (total > maxMessageChunks) {
            discard(response);
            throw new MeshError({ code: 'MESH_MESSAGE_TOO_LARGE', severity: 'error', status: response.statusCode, messageId, message: `Message ${messageId} claims ${total} chunks (Mex-Chunk-Range '${range ?? ''}'); MESH messages have at most ${maxMessageChunks}.`, hint: 'The message was not downloaded or acknowledged; report it to the MESH service desk.' });
          }
        }
        const expectedStatus = index < total ? 206 : 200;
        if ((parsed && Number(parsed[1]) !== index) || (total > 1 && !parsed) || response.statusCode !== expectedStatus) {
          discard(response);
          throw new MeshError({ code: 'MESH_CHUNK_MISMATCH', severity: 'error', status: response.statusCode, messageId, message: `Chunk ${index} of message ${messageId} came back as ${response.statusCode} with Mex-Chunk-Range '${range ?? ''}' (expected ${expectedStatus} and ${index}:${total}).`, hint: 'The message was not stored or acknowledged; poll again later.' });
        }
        try {
          written += await drainBody(response.body, headerValue(response.headers, 'content-encoding') === 'gzip', (data) => sink.write(data), maxQueuedBytes, this.maxMessageBytes - start);
          break;
        } catch (error) {
          await sink.truncate(start);
          written = start;
          if (error instanceof BodyLimitError) {
            throw new MeshError({ code: 'MESH_MESSAGE_TOO_LARGE', severity: 'error', messageId, message: `Message ${messageId} grew past ${this.maxMessageBytes} bytes while downloading chunk ${index} of ${total} (after gunzip).`, hint: 'It was not stored or acknowledged. If such messages are expected, raise mesh.maxMessageBytes; otherwise report the message to its sender.' });
          }
          const failure = response.answer.failure(error);
          if (failure.kind === 'cancelled') {
            throw new MeshError({ code: 'MESH_CANCELLED', severity: 'error', messageId, message: `The download of message ${messageId} was cancelled.`, hint: 'It was not acknowledged; the next poll downloads it again.' });
          }
          const decision = this.policy.decide({ attempt, firstStartedAt, now: this.clock.now(), transient: true, requestSent: true }, 'always');
          if (!decision.retry) {
            throw new MeshError({ code: failure.kind === 'deadline' ? 'MESH_TIMEOUT' : 'MESH_UNAVAILABLE', severity: 'error', messageId, message: `Chunk ${index} of message ${messageId} broke off during download: ${failure.kind === 'deadline' ? `no complete answer within ${this.timeoutMs} ms` : failure.message}`, hint: 'The message was not acknowledged; the next poll downloads it again.' });
          }
          this.emit({ type: 'retry', service: 'mesh', method: 'GET', url: loggablePath(path), messageId, attempt, waitMs: decision.waitMs, reason: 'download-broken' });
          await this.sleep(decision.waitMs, options.signal);
        } finally {
          response.answer.done();
        }
      }
    }
    const info = infoOf(messageId, first ?? {}, total, written);
    this.emit({
      type: 'downloaded',
      messageId: info.messageId,
      messageType: info.messageType,
      ...(info.workflowId !== undefined ? { workflowId: info.workflowId } : {}),
      ...(info.fileName !== undefined ? { fileName: info.fileName } : {}),
      ...(info.localId !== undefined ? { localId: info.localId } : {}),
      chunks: info.chunks,
      bytes: info.bytes,
    });
    return info;
  }

  async downloadBuffer(messageId: string, options: MeshCallOptions = {}): Promise<{ info: MeshMessageInfo; body: Buffer }> {
    const parts: Buffer[] = [];
    let size = 0;
    const info = await this.download(
      messageId,
      {
        write: (data) => {
          parts.push(data);
          size += data.length;
          return Promise.resolve();
        },
        truncate: (length) => {
          const joined = Buffer.concat(parts).subarray(0, length);
          parts.length = 0;
          parts.push(joined);
          size = length;
          return Promise.resolve();
        },
      },
      options,
    );
    return { info, body: Buffer.concat(parts, size) };
  }

  async acknowledge(messageId: string, options: MeshCallOptions = {}): Promise<void> {
    const response = await this.call({ method: 'PUT', path: `${this.mailboxPath}/inbox/${messageSegment(messageId)}/status/acknowledged`, resend: 'always', ok: [200], messageId, signal: options.signal });
    await this.drop(response);
    this.emit({ type: 'acknowledged', messageId });
  }

  async send(message: MeshSendRequest, options: MeshCallOptions = {}): Promise<MeshSendResult> {
    const chunkBytes = message.chunkBytes ?? this.chunkBytes;
    if (!Number.isInteger(chunkBytes) || chunkBytes < minChunkBytes || chunkBytes > maxChunkBytes) {
      throw new MeshError(configuration(`The MESH chunk size ${chunkBytes} is outside 5 MiB..95 MiB.`, 'MESH wants every chunk but the last to be at least 5 MiB.'));
    }
    const compress = message.compress ?? this.options.compress ?? true;
    const source = await openSource(message.body);
    try {
      if (source.size === 0) {
        throw new MeshError({ code: 'MESH_EMPTY_MESSAGE', severity: 'error', message: `The message to ${message.to} on workflow ${message.workflowId} is empty${Buffer.isBuffer(message.body) ? '' : ` (${message.body.path} has 0 bytes)`}; nothing was sent.`, hint: 'Send a file with content; MESH delivers empty DATA messages that the recipient cannot use.' });
      }
      const total = Math.max(1, Math.ceil(source.size / chunkBytes));
      const piece = async (index: number): Promise<Buffer> => {
        const raw = await source.read((index - 1) * chunkBytes, Math.min(chunkBytes, source.size - (index - 1) * chunkBytes));
        return compress ? gzip(raw) : raw;
      };
      const headers: Record<string, string> = {
        'mex-to': message.to,
        'mex-workflowid': message.workflowId,
        'content-type': total > 1 ? 'application/octet-stream' : (message.contentType ?? 'application/octet-stream'),
        ...(total > 1 ? { 'mex-chunk-range': `1:${total}` } : {}),
        ...(total > 1 && message.contentType !== undefined ? { 'mex-content-type': message.contentType } : {}),
        ...(message.localId !== undefined ? { 'mex-localid': message.localId } : {}),
        ...(message.subject !== undefined ? { 'mex-subject': message.subject } : {}),
        ...(message.fileName !== undefined ? { 'mex-filename': message.fileName } : {}),
        ...(message.checksum !== undefined ? { 'mex-content-checksum': message.checksum } : {}),
        ...(compress ? { 'content-encoding': 'gzip' } : {}),
      };
      checkHeaderValues(headers);
      const first = await this.call({ method: 'POST', path: `${this.mailboxPath}/outbox`, headers, body: await piece(1), resend: 'if-not-sent', ok: [202], signal: options.signal });
      const answer = await this.json(first, 'the send', 'MESH_NOT_RETRIED');
      const messageId = typeof answer.message_id === 'string' ? answer.message_id : typeof answer.messageID === 'string' ? answer.messageID : undefined;
      if (messageId === undefined) {
        throw new MeshError({ code: 'MESH_UNEXPECTED_STATUS', severity: 'error', status: 202, message: 'MESH accepted the send (202) without a message_id.', hint: 'Look the message up by its local id before sending again.' });
      }
      let completedOnRetry = false;
      for (let index = 2; index <= total; index++) {
        completedOnRetry = (await this.sendChunk(messageId, index, total, await piece(index), { gzip: compress, ...(options.signal !== undefined ? { signal: options.signal } : {}) })) === 'complete';
      }
      this.emit({ type: 'sent', messageId, to: message.to, workflowId: message.workflowId, ...(message.fileName !== undefined ? { fileName: message.fileName } : {}), ...(message.localId !== undefined ? { localId: message.localId } : {}), chunks: total, bytes: source.size });
      return { messageId, chunks: total, bytes: source.size, ...(completedOnRetry ? { completedOnRetry } : {}) };
    } finally {
      await source.close();
    }
  }

  async sendChunk(messageId: string, index: number, total: number, data: Buffer, options: { gzip?: boolean } & MeshCallOptions = {}): Promise<'accepted' | 'complete'> {
    const response = await this.call({
      method: 'POST',
      path: `${this.mailboxPath}/outbox/${messageSegment(messageId)}/${index}`,
      headers: { 'mex-chunk-range': `${index}:${total}`, 'content-type': 'application/octet-stream', ...((options.gzip ?? true) ? { 'content-encoding': 'gzip' } : {}) },
      body: data,
      resend: 'always',
      ok: [202, 423],
      messageId,
      signal: options.signal,
    });
    await this.drop(response);
    if (response.statusCode === 423) {
      // 423 after a resend of the last chunk: its first answer was lost, and MESH holds the whole message
      if (index === total && response.lostBefore) {
        return 'complete';
      }
      throw new MeshError({ code: 'MESH_CHUNK_COMPLETE', severity: 'error', status: 423, messageId, message: `MESH answered 423 to chunk ${index} of ${total} of message ${messageId}: the message is already complete.`, hint: 'Do not re-send chunks of a message that reached its last chunk.' });
    }
    return 'accepted';
  }

  async track(messageId: string, options: MeshCallOptions = {}): Promise<MeshTracking> {
    const body = await this.json(await this.call({ method: 'GET', path: `${this.mailboxPath}/outbox/tracking?${new URLSearchParams({ messageID: messageId }).toString()}`, resend: 'always', ok: [200], messageId, signal: options.signal }), 'tracking');
    return trackingOf(body, messageId);
  }

  async trackByLocalId(localId: string, options: MeshCallOptions = {}): Promise<MeshTracking | undefined> {
    let response: Response;
    try {
      response = await this.call({ method: 'GET', path: `${this.mailboxPath}/outbox/tracking/${messageSegment(localId)}`, headers: { accept: acceptV1 }, resend: 'always', ok: [200], signal: options.signal });
    } catch (error) {
      if (error instanceof MeshError && (error.code === 'MESH_NOT_FOUND' || error.code === 'MESH_GONE')) {
        return undefined;
      }
      throw error;
    }
    const body = await this.json(response, 'tracking by local id');
    const tracking = trackingOf(body, '');
    return tracking.messageId === '' ? undefined : tracking;
  }

  async lookup(odsCode: string, workflowId: string, options: MeshCallOptions = {}): Promise<readonly { mailboxId: string; mailboxName?: string }[]> {
    const body = await this.json(await this.call({ method: 'GET', path: `/messageexchange/endpointlookup/${encodeURIComponent(odsCode)}/${encodeURIComponent(workflowId)}`, resend: 'always', ok: [200], signal: options.signal }), 'endpoint lookup');
    const results = Array.isArray(body.results) ? (body.results as Record<string, unknown>[]) : [];
    return results.filter((item) => typeof item.mailbox_id === 'string').map((item) => ({ mailboxId: item.mailbox_id as string, ...(typeof item.mailbox_name === 'string' ? { mailboxName: item.mailbox_name } : {}) }));
  }

  asTarget(): Target<MeshSendRequest> {
    return { service: 'mesh', endpoint: `${this.baseUrl}/messageexchange/${this.mailboxId}`, submit: (item, options = {}) => sendAsTarget(this, item.payload, options.signal), close: () => this.close() };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/** Drops an answer's body without reading it (its connection is closed). */
function discard(response: Response): void {
  response.body.on('error', () => undefined);
  response.body.destroy();
  response.answer.done();
}

/** The v1 or v2 tracking object as {@link MeshTracking}. */
function trackingOf(body: Record<string, unknown>, messageId: string): MeshTracking {
  const text = (...names: string[]): string | undefined => {
    for (const name of names) {
      const value = body[name];
      if (typeof value === 'string') {
        return value;
      }
    }
    return undefined;
  };
  const fields: [keyof MeshTracking, string | undefined][] = [
    ['status', text('status')?.toLowerCase()],
    ['statusCode', text('status_code', 'statusCode')],
    ['statusEvent', text('status_event', 'statusEvent')],
    ['statusDescription', text('status_description', 'statusDescription')],
    ['localId', text('local_id', 'localID', 'localId')],
    ['workflowId', text('workflow_id', 'workflowID', 'workflowId')],
    ['recipient', text('recipient')],
    ['expiryTime', text('expiry_time', 'expiryTime')],
  ];
  const success = body.status_success ?? body.statusSuccess;
  return {
    messageId: text('message_id', 'messageID', 'messageId') ?? messageId,
    ...Object.fromEntries(fields.filter(([, value]) => value !== undefined)),
    ...(typeof success === 'boolean' ? { statusSuccess: success } : {}),
    raw: body,
  };
}

/** Tracking statuses by which MESH holds a complete message. */
const heldStatuses = new Set(['accepted', 'acknowledged', 'delivered', 'undeliverable', 'rejected']);

/**
 * A send as a pipeline target: the outcome says exactly what MESH holds. When the first answer is lost the
 * message is looked up by its local id; when a later chunk's answer is lost, by its message id.
 */
async function sendAsTarget(client: MeshClient, message: MeshSendRequest, signal: AbortSignal | undefined): Promise<TargetOutcome> {
  const startedAt = Date.now();
  const attempt = (extra: Partial<TargetOutcome['attempts'][number]> = {}): TargetOutcome['attempts'] => [{ number: 1, startedAt, durationMs: Date.now() - startedAt, ...extra }];
  try {
    const sent = await client.send(message, signal ? { signal } : {});
    const diagnostics: MeshDiagnostic[] = sent.completedOnRetry === true ? [{ code: 'MESH_RECOVERED', severity: 'information', messageId: sent.messageId, message: `The answer to the last chunk of ${sent.messageId} was lost; MESH then said the message was complete, so it holds it.` }] : [];
    return { status: 'accepted', receipt: sent.messageId, diagnostics, attempts: attempt({ receipt: sent.messageId }), possibleDuplicate: false };
  } catch (error) {
    if (!(error instanceof MeshError)) {
      throw error;
    }
    const diagnostic = error.diagnostic;
    const lookup = async (): Promise<MeshTracking | undefined | 'failed'> => {
      try {
        if (diagnostic.messageId !== undefined) {
          return await client.track(diagnostic.messageId);
        }
        return message.localId !== undefined ? await client.trackByLocalId(message.localId) : 'failed';
      } catch {
        return 'failed';
      }
    };
    if (diagnostic.code === 'MESH_EMPTY_MESSAGE' || diagnostic.code === 'MESH_INVALID_HEADER') {
      return { status: 'not-sent', diagnostics: [diagnostic], attempts: [], possibleDuplicate: false };
    }
    if (diagnostic.code === 'MESH_CONFIGURATION' || diagnostic.code === 'MESH_TLS') {
      return { status: 'not-sent', diagnostics: [diagnostic], attempts: [], possibleDuplicate: false, stop: true };
    }
    if (diagnostic.code === 'MESH_AUTH_REJECTED') {
      return { status: 'unavailable', diagnostics: [diagnostic], attempts: attempt({ code: diagnostic.code, status: 403 }), possibleDuplicate: false, stop: true };
    }
    if (diagnostic.code === 'MESH_SEND_REJECTED' || diagnostic.code === 'MESH_BAD_REQUEST' || diagnostic.code === 'MESH_TOO_LARGE') {
      return { status: 'rejected', diagnostics: [diagnostic], attempts: attempt({ code: diagnostic.code, ...(diagnostic.status !== undefined ? { status: diagnostic.status } : {}) }), possibleDuplicate: false };
    }
    if (diagnostic.messageId === undefined && (diagnostic.code === 'MESH_UNAVAILABLE' || diagnostic.code === 'MESH_RATE_LIMITED' || (diagnostic.code === 'MESH_CANCELLED' && !/answer/.test(diagnostic.message)))) {
      // the first POST certainly never reached MESH (no connection, refused unread, or cancelled before it left)
      return { status: diagnostic.code === 'MESH_CANCELLED' ? 'not-sent' : 'unavailable', diagnostics: [diagnostic], attempts: [], possibleDuplicate: false };
    }
    const tracked = signal?.aborted === true ? 'failed' : await lookup();
    if (tracked !== 'failed' && tracked !== undefined && heldStatuses.has(tracked.status ?? '')) {
      const recovered: MeshDiagnostic = { code: 'MESH_RECOVERED', severity: 'warning', messageId: tracked.messageId, message: `${diagnostic.message} MESH's tracking shows it holds message ${tracked.messageId}${message.localId !== undefined ? ` (local id ${message.localId})` : ''}, so it was sent.` };
      return {
        status: 'accepted',
        receipt: tracked.messageId,
        diagnostics: [recovered],
        attempts: attempt({ receipt: tracked.messageId, outcomeUnknown: true, code: diagnostic.code }),
        possibleDuplicate: false,
      };
    }
    if (tracked === undefined || (tracked !== 'failed' && tracked.status === 'uploading')) {
      // MESH holds no complete message: it was never delivered, so sending it again is safe
      return { status: 'unavailable', diagnostics: [diagnostic], attempts: attempt({ code: diagnostic.code }), possibleDuplicate: false };
    }
    return { status: 'unknown', diagnostics: [diagnostic], attempts: attempt({ code: diagnostic.code, outcomeUnknown: true }), possibleDuplicate: false };
  }
}

function infoOf(messageId: string, headers: Response['headers'], chunks: number, bytes: number): MeshMessageInfo {
  const all: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const text = Array.isArray(value) ? value[0] : value;
    if (text !== undefined && (name.startsWith('mex-') || name === 'content-type' || name === 'content-encoding' || name === 'etag')) {
      all[name.toLowerCase()] = text;
    }
  }
  const optional = (key: keyof MeshMessageInfo, name: string): Record<string, string> => (all[name] !== undefined && all[name] !== '' ? { [key]: all[name] } : {});
  return {
    messageId: all['mex-messageid'] ?? messageId,
    messageType: (all['mex-messagetype'] ?? 'DATA').toUpperCase(),
    ...optional('from', 'mex-from'),
    ...optional('to', 'mex-to'),
    ...optional('workflowId', 'mex-workflowid'),
    ...optional('localId', 'mex-localid'),
    ...optional('subject', 'mex-subject'),
    ...optional('fileName', 'mex-filename'),
    ...(all['mex-content-type'] !== undefined ? { contentType: all['mex-content-type'] } : optional('contentType', 'content-type')),
    ...optional('linkedMessageId', 'mex-linkedmsgid'),
    ...optional('statusCode', 'mex-statuscode'),
    ...optional('statusEvent', 'mex-statusevent'),
    ...optional('statusDescription', 'mex-statusdescription'),
    ...optional('statusSuccess', 'mex-statussuccess'),
    ...optional('statusTimestamp', 'mex-statustimestamp'),
    chunks,
    bytes,
    headers: all,
  };
}

interface Source {
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

async function openSource(body: Buffer | { readonly path: string }): Promise<Source> {
  if (Buffer.isBuffer(body)) {
    return { size: body.length, read: (position, length) => Promise.resolve(body.subarray(position, position + length)), close: () => Promise.resolve() };
  }
  const handle = await openFile(body.path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    read: async (position, length) => {
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
        if (bytesRead === 0) {
          break;
        }
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
    close: () => handle.close(),
  };
}
