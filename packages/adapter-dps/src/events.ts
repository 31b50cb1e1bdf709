import { eventEmitter, loggableUrl, type TargetStatus, type TransportEvent } from '@cadmap/transport';
import type { DpsCode } from './codes.js';

/**
 * What a DPS client is doing, for logs: the transport's events for each bundle request (`request`, `response`,
 * `network-failure`, `retry`, `throttled`, all with `service: 'dps'`), the token requests, and each bundle's
 * result. Events never carry secrets (no tokens, assertions, keys or headers) nor bundle content: only URLs
 * without credentials or query, ids, sizes, statuses and timings. Times are from the client's clock (epoch ms).
 */
export type DpsEvent =
  | (TransportEvent & { readonly service: 'dps' })
  /** An access token is requested with a freshly signed client assertion. */
  | { readonly type: 'token-request'; readonly url: string }
  /** The token endpoint answered. */
  | { readonly type: 'token-response'; readonly url: string; readonly status: number; readonly durationMs: number; readonly expiresInSeconds?: number }
  /** The token request failed; `retryable` ones are retried by the sender with backoff. */
  | { readonly type: 'token-failure'; readonly url: string; readonly code: DpsCode; readonly status?: number; readonly retryable: boolean; readonly durationMs: number }
  /** DPS refused the access token (401/403): it is dropped and a new one requested once. */
  | { readonly type: 'token-refresh'; readonly key: string; readonly attempt: number; readonly status: number }
  /** What happened to a bundle in the end. */
  | {
      readonly type: 'result';
      readonly key: string;
      readonly status: TargetStatus;
      readonly attempts: number;
      readonly receipt?: string;
      readonly code?: DpsCode;
      readonly possibleDuplicate: boolean;
    };

/** Receives {@link DpsEvent}s. Exceptions it throws are ignored: logging never changes what the client does. */
export type DpsEventListener = (event: DpsEvent) => void;

/** Calls the listener, if any, shielding the client from its exceptions. */
export const emitter = (listener: DpsEventListener | undefined): ((event: DpsEvent) => void) => eventEmitter(listener);

export { loggableUrl };
