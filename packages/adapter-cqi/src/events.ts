import { eventEmitter, type TransportEvent } from '@cadmap/transport';

/**
 * What the CQI client and sender are doing, for logs: the transport's events for each request and its answer
 * (`request`, `response`, `network-failure`, with `service: 'cqi'`), and what happens to each case in the durable
 * queue. Events never carry secrets (no credentials header, TLS key or passphrase) nor case content: only URLs,
 * case and queue ids, sizes, statuses, exception codes and timings (epoch ms from the injected clock).
 */
export type CqiEvent =
  | (TransportEvent & { readonly service: 'cqi' })
  /** A case was validated, encoded and committed to the queue. */
  | { readonly type: 'queued'; readonly caseId: string; readonly queueId: number; readonly mediaType: string; readonly bytes: number }
  /** A case failed validation or encoding and was not queued. */
  | { readonly type: 'invalid'; readonly caseId: string; readonly problems: number }
  | { readonly type: 'delivered'; readonly caseId: string; readonly queueId: number; readonly status: number }
  /** Refused for good: kept in the queue as rejected, never retried. */
  | { readonly type: 'rejected'; readonly caseId: string; readonly queueId: number; readonly status: number; readonly exceptions: readonly string[] }
  /** The service is closed or refused the connection: the case stays pending until `nextAttemptAt`, and the round stops. */
  | {
      readonly type: 'postponed';
      readonly caseId: string;
      readonly queueId: number;
      readonly reason: 'refused' | 'unavailable';
      readonly status?: number;
      readonly attempts: number;
      readonly waitMs: number;
      readonly nextAttemptAt: number;
    };

/** Receives {@link CqiEvent}s. Exceptions it throws are ignored: logging never changes what is sent. */
export type CqiEventListener = (event: CqiEvent) => void;

/** Calls the listener, if any, shielding the client from its exceptions. */
export const emitter = (listener: CqiEventListener | undefined): ((event: CqiEvent) => void) => eventEmitter(listener);
