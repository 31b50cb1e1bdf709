import { request, type Dispatcher } from 'undici';
import type { DpsCode } from './codes.js';
import { redact } from './redact.js';
import { describeTlsFailure, readBodyText } from '@cadmap/core/net';

/** An HTTP answer, body read as text (bodies here are small JSON). */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** A request that got no HTTP answer, classified. */
export interface NetworkFailure {
  readonly code: Extract<DpsCode, 'DPS_TIMEOUT' | 'DPS_UNAVAILABLE' | 'DPS_TLS' | 'DPS_CANCELLED'>;
  /** Machine-readable cause, e.g. `ECONNRESET`, `UND_ERR_HEADERS_TIMEOUT`. */
  readonly cause: string;
  readonly message: string;
  /** False when the connection never carried the request (refused, TLS, connect timeout): DPS cannot have it. */
  readonly outcomeUnknown: boolean;
}

export interface HttpRequest {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

const tlsCodes = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_TLS|ERR_SSL|DEPTH_ZERO/;
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

function errorCode(error: unknown): string {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      codes.push(code);
    }
    current = current.cause;
  }
  const specific = codes.find((code) => tlsCodes.test(code) || timeoutCodes.has(code) || notSentCodes.has(code));
  return specific ?? codes[0] ?? (error instanceof Error ? error.name : 'UNKNOWN');
}

/** A thrown value as text, even one that cannot be converted (e.g. an object without a prototype). */
function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Classifies an error thrown by undici (or by an abort) into a {@link NetworkFailure}. */
export function classifyNetworkError(error: unknown, signal?: AbortSignal): NetworkFailure {
  const cause = errorCode(error);
  const text = redact(error instanceof Error ? error.message : describe(error));
  if (signal?.aborted === true || cause === 'AbortError' || cause === 'UND_ERR_ABORTED') {
    return { code: 'DPS_CANCELLED', cause, message: 'cancelled', outcomeUnknown: true };
  }
  if (tlsCodes.test(cause)) {
    return { code: 'DPS_TLS', cause, message: `TLS: ${describeTlsFailure(cause)} (${cause}: ${text})`, outcomeUnknown: false };
  }
  if (timeoutCodes.has(cause)) {
    return { code: 'DPS_TIMEOUT', cause, message: `timed out (${cause})`, outcomeUnknown: !notSentCodes.has(cause) };
  }
  return { code: 'DPS_UNAVAILABLE', cause, message: `connection failed (${cause}): ${text}`, outcomeUnknown: !notSentCodes.has(cause) };
}

/** The most of an answer body that is read: DPS and its token endpoint answer with small JSON. */
export const maxAnswerBytes = 1024 * 1024;

/** Sends one request; resolves with the answer or a classified failure, never throws. */
export async function send(dispatcher: Dispatcher, req: HttpRequest): Promise<HttpAnswer | NetworkFailure> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  try {
    const res = await request(req.url, {
      dispatcher,
      method: req.method,
      headers: req.headers,
      body: req.body,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      signal,
    });
    const body = (await readBodyText(res.body, maxAnswerBytes)).text;
    return { status: res.statusCode, headers: res.headers, body };
  } catch (error) {
    if (timeout.aborted && req.signal?.aborted !== true) {
      return { code: 'DPS_TIMEOUT', cause: 'TIMEOUT', message: `no answer within ${req.timeoutMs} ms`, outcomeUnknown: true };
    }
    return classifyNetworkError(error, req.signal);
  }
}

/** What to do about a certificate that cannot be verified. */
export const tlsHint =
  "The server's certificate must chain to a CA cadmap trusts (for the local sandbox give its ca.pem: CADMAP_DPS_CA_FILE / dps.caFile), name the host of the base and token URLs, and be in date (check this machine's clock too). Verification is never turned off.";

export const isAnswer = (value: HttpAnswer | NetworkFailure): value is HttpAnswer => 'status' in value;

/** Parses a JSON object body; anything else gives an empty object. */
export function jsonObject(body: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function header(answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') {
    return undefined;
  }
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) {
    return Math.round(Number(value) * 1000);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
