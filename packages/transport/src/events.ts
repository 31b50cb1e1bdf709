import { eventEmitter, loggableUrl } from '@cadmap/core/net';
import type { FailureKind } from './classify.js';

/** Which adapter a transport event comes from. */
export type Service = 'dps' | 'mesh' | 'cqi' | 'token';

/**
 * The one shape of HTTP-level events every adapter emits, for logs: a request going out, its answer, a request
 * with no answer, a wait before a retry, a wait for the client-side rate limit. Events never carry secrets (no
 * tokens, passwords, keys or authorization headers) nor payloads: only the URL without query or user info, ids,
 * sizes, statuses and timings. Times are from the client's clock.
 */
export interface TransportEvent {
  readonly type: 'request' | 'response' | 'network-failure' | 'retry' | 'throttled';
  readonly service: Service;
  readonly method: string;
  /** Origin and path only. */
  readonly url: string;
  /** 1-based, per logical request. */
  readonly attempt: number;
  readonly requestId?: string;
  readonly correlationId?: string;
  /** The record, case or message concerned. */
  readonly key?: string;
  readonly bundleId?: string;
  readonly messageId?: string;
  /** Size of the request body as sent. */
  readonly bytes?: number;
  readonly status?: number;
  readonly durationMs?: number;
  /** The adapter's code for the answer or failure (e.g. `DPS_UNAVAILABLE`). */
  readonly code?: string;
  readonly receipt?: string;
  /** On `network-failure`: how it failed and the error code behind it. */
  readonly failure?: FailureKind;
  readonly cause?: string;
  /** The request may have reached the server although no answer came. */
  readonly outcomeUnknown?: boolean;
  /** On `retry` and `throttled`: how long the client waits, and why. */
  readonly waitMs?: number;
  readonly reason?: 'retry-after' | 'backoff' | 'download-broken' | 'rate-limit';
}

/** Receives events. Exceptions it throws are ignored: logging never changes what a client does. */
export type EventListener<Event> = (event: Event) => void;

export { eventEmitter, loggableUrl };
