import { eventEmitter, loggableUrl } from '@cadmap/core/net';
import type { DpsCode } from './codes.js';

/**
 * What a DPS client is doing, for logs: each token and submission request and its answer, retries, waits and
 * results. Events never carry secrets (no tokens, assertions, keys or headers) nor bundle content: only URLs
 * without credentials or query, ids, sizes, statuses and timings. Times are from the client's clock (epoch ms).
 */
export type DpsEvent =
  /** An access token is requested with a freshly signed client assertion. */
  | { readonly type: 'token-request'; readonly url: string }
  /** The token endpoint answered. */
  | { readonly type: 'token-response'; readonly url: string; readonly status: number; readonly durationMs: number; readonly expiresInSeconds?: number }
  /** The token request failed; `retryable` ones are retried by the sender with backoff. */
  | { readonly type: 'token-failure'; readonly url: string; readonly code: DpsCode; readonly status?: number; readonly retryable: boolean; readonly durationMs: number }
  /** DPS refused the access token (401/403): it is dropped and a new one requested once. */
  | { readonly type: 'token-refresh'; readonly key: string; readonly attempt: number; readonly status: number }
  /** The client-side rate limit held a bundle back before sending. */
  | { readonly type: 'throttled'; readonly key: string; readonly attempt: number; readonly waitMs: number }
  /** A bundle is posted. `bytes` is the size of the JSON body. */
  | {
      readonly type: 'request';
      readonly method: 'POST';
      readonly url: string;
      readonly key: string;
      readonly bundleId?: string;
      readonly attempt: number;
      readonly requestId: string;
      readonly correlationId: string;
      readonly bytes: number;
    }
  /** DPS answered a bundle post. `code` classifies a non-2xx answer. */
  | {
      readonly type: 'response';
      readonly key: string;
      readonly attempt: number;
      readonly requestId: string;
      readonly status: number;
      readonly durationMs: number;
      readonly receipt?: string;
      readonly code?: DpsCode;
    }
  /** A bundle post got no HTTP answer. `outcomeUnknown`: DPS may have received it. */
  | {
      readonly type: 'network-failure';
      readonly key: string;
      readonly attempt: number;
      readonly requestId: string;
      readonly code: DpsCode;
      readonly cause: string;
      readonly durationMs: number;
      readonly outcomeUnknown: boolean;
    }
  /** The sender waits before the next attempt, and why. */
  | { readonly type: 'retry'; readonly key: string; readonly attempt: number; readonly code: DpsCode; readonly waitMs: number; readonly reason: 'retry-after' | 'backoff' }
  /** What happened to a bundle in the end. */
  | {
      readonly type: 'result';
      readonly key: string;
      readonly status: 'accepted' | 'failed';
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
