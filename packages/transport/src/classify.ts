import { redact } from '@cadmap/core/diagnostics';
import { describeTlsFailure } from '@cadmap/core/net';

/**
 * Why a request got no HTTP answer.
 * - `local`: refused before it left this machine (an invalid header value, a bad URL): never retried.
 * - `tls`: the TLS handshake failed (certificate, CA, host name, client certificate): not sent.
 * - `connect`: no connection (refused, unknown host, unreachable, connect timeout): not sent.
 * - `reset`: the connection broke after the request may have gone out.
 * - `timeout`: no answer in time from an idle connection (undici's timers).
 * - `deadline`: the request's overall deadline passed (headers and body together).
 * - `cancelled`: the caller's AbortSignal fired.
 * - `other`: anything else.
 */
export type FailureKind = 'local' | 'tls' | 'connect' | 'reset' | 'timeout' | 'deadline' | 'cancelled' | 'other';

/** A request that got no HTTP answer, classified once for every adapter. */
export interface NetworkFailure {
  readonly kind: FailureKind;
  /** Error codes in the cause chain, outermost first (e.g. `UND_ERR_SOCKET`, `ECONNRESET`). */
  readonly codes: readonly string[];
  /** The most telling code, e.g. `ECONNREFUSED`, or the error's name. */
  readonly cause: string;
  /** What happened, redacted, for a diagnostic. */
  readonly message: string;
  /** False when the request certainly never reached the server: it cannot have been acted on. */
  readonly requestSent: boolean;
}

const tlsCode = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|HOSTNAME|ERR_TLS|ERR_SSL|DEPTH_ZERO|HANDSHAKE/;
const connectCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const localCodes = new Set(['UND_ERR_INVALID_ARG', 'ERR_INVALID_CHAR', 'ERR_HTTP_INVALID_HEADER_VALUE', 'ERR_INVALID_HTTP_TOKEN', 'ERR_INVALID_URL', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE']);

/** The error codes in an error and its causes (at most 5 deep), outermost first. */
export function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      codes.push(code);
    }
  }
  return codes;
}

/** A thrown value as text, even one that cannot be converted (e.g. an object without a prototype). */
function describe(value: unknown): string {
  try {
    return value instanceof Error ? value.message : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The messages of an error and its causes, deduplicated. */
function errorText(error: unknown): string {
  const messages: string[] = [];
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    messages.push(current.message);
  }
  return messages.length > 0 ? [...new Set(messages)].join(': ') : describe(error);
}

/**
 * Classifies what undici (or an abort) threw. `signal` is the caller's: when it has fired the failure is
 * `cancelled`; `deadline` is the request's own deadline signal.
 */
export function classifyNetworkError(error: unknown, signals: { readonly signal?: AbortSignal | undefined; readonly deadline?: AbortSignal | undefined } = {}): NetworkFailure {
  const codes = errorCodes(error);
  const text = redact(errorText(error));
  const name = error instanceof Error ? error.name : 'Error';
  if (signals.signal?.aborted === true) {
    return { kind: 'cancelled', codes, cause: 'ABORTED', message: 'cancelled', requestSent: true };
  }
  if (signals.deadline?.aborted === true) {
    return { kind: 'deadline', codes, cause: 'DEADLINE', message: 'no complete answer before the deadline', requestSent: true };
  }
  const tls = codes.find((code) => tlsCode.test(code)) ?? (/certificate|handshake|alert/i.test(text) && !codes.some((code) => resetCodes.has(code)) ? 'TLS' : undefined);
  if (tls !== undefined) {
    return { kind: 'tls', codes, cause: tls, message: `TLS: ${describeTlsFailure(codes.length > 0 ? codes : [tls])} (${tls}: ${text})`, requestSent: false };
  }
  const find = (set: ReadonlySet<string>): string | undefined => codes.find((code) => set.has(code));
  const connect = find(connectCodes);
  if (connect !== undefined) {
    return { kind: 'connect', codes, cause: connect, message: `no connection (${connect}): ${text}`, requestSent: false };
  }
  const local = find(localCodes) ?? (codes.length === 0 && name === 'TypeError' ? 'TypeError' : undefined);
  if (local !== undefined) {
    return { kind: 'local', codes, cause: local, message: `refused before sending (${local}): ${text}`, requestSent: false };
  }
  const timeout = find(timeoutCodes);
  if (timeout !== undefined) {
    return { kind: 'timeout', codes, cause: timeout, message: `timed out (${timeout})`, requestSent: true };
  }
  const reset = find(resetCodes);
  if (reset !== undefined) {
    return { kind: 'reset', codes, cause: reset, message: `the connection broke (${reset}): ${text}`, requestSent: true };
  }
  if (name === 'AbortError' || codes.includes('UND_ERR_ABORTED') || codes.includes('ABORT_ERR')) {
    return { kind: 'cancelled', codes, cause: codes[0] ?? name, message: 'cancelled', requestSent: true };
  }
  return { kind: 'other', codes, cause: codes[0] ?? name, message: `request failed (${codes[0] ?? name}): ${text}`, requestSent: true };
}
