import type { Dispatcher } from 'undici';
import { classifyNetworkError as classify, exchange, header, isAnswer as answered, retryAfterMs, type HttpAnswer, type NetworkFailure as TransportFailure } from '@cadmap/transport';
import type { DpsCode } from './codes.js';

export type { HttpAnswer };
export { header, retryAfterMs };

/** A request that got no HTTP answer, as DPS codes name it. */
export interface NetworkFailure {
  readonly code: Extract<DpsCode, 'DPS_TIMEOUT' | 'DPS_UNAVAILABLE' | 'DPS_TLS' | 'DPS_CANCELLED' | 'DPS_CONFIGURATION'>;
  /** Machine-readable cause, e.g. `ECONNRESET`, `DEADLINE`. */
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
  /** Overall deadline for the answer (headers and body). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** The DPS code of a transport failure. */
export function dpsFailure(failure: TransportFailure): NetworkFailure {
  const code: NetworkFailure['code'] =
    failure.kind === 'tls' ? 'DPS_TLS' : failure.kind === 'cancelled' ? 'DPS_CANCELLED' : failure.kind === 'timeout' || failure.kind === 'deadline' ? 'DPS_TIMEOUT' : failure.kind === 'local' ? 'DPS_CONFIGURATION' : 'DPS_UNAVAILABLE';
  return { code, cause: failure.cause, message: failure.message, outcomeUnknown: failure.requestSent };
}

/** Classifies an error thrown by undici (or by an abort), with the transport's one classifier. */
export function classifyNetworkError(error: unknown, signal?: AbortSignal): NetworkFailure {
  return dpsFailure(classify(error, { signal }));
}

/** The most of an answer body that is read: DPS and its token endpoint answer with small JSON. */
export const maxAnswerBytes = 1024 * 1024;

/** Sends one request within its deadline; resolves with the answer or a classified failure, never throws. */
export async function send(dispatcher: Dispatcher, req: HttpRequest): Promise<HttpAnswer | NetworkFailure> {
  const answer = await exchange(dispatcher, { url: req.url, method: req.method, headers: req.headers, body: req.body, deadlineMs: req.timeoutMs, signal: req.signal }, maxAnswerBytes);
  return answered(answer) ? answer : dpsFailure(answer);
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
