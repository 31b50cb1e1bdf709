import type { Diagnostic } from '@cadmap/core';
import type { Service } from './events.js';

/** One HTTP attempt of a submission, as the ledger records it. Times are epoch ms from the client's clock. */
export interface TargetAttempt {
  readonly number: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly requestId?: string;
  readonly status?: number;
  /** The adapter's code for how the attempt ended; absent when it was accepted. */
  readonly code?: string;
  readonly receipt?: string;
  /** The connection broke after the request may have reached the service. */
  readonly outcomeUnknown?: boolean;
  /** What went wrong, redacted. */
  readonly error?: string;
  /** How long the client waited before the next attempt. */
  readonly waitMs?: number;
}

/**
 * How a submission ended, exactly:
 * - `accepted`: the service holds it (with its receipt when it gives one);
 * - `rejected`: refused for good: it must be fixed before it is sent again;
 * - `unavailable`: the service answered that it cannot take it now (5xx, 429, closed) until the retries ran
 *   out: it does not hold it, and sending it later is safe;
 * - `not-sent`: it never left this machine (cancelled before sending, refused locally, or the configuration or
 *   credentials were refused first);
 * - `unknown`: it was sent and the answer was lost (or the run gave up waiting): the service may hold it.
 */
export type TargetStatus = 'accepted' | 'rejected' | 'unavailable' | 'not-sent' | 'unknown';

export interface TargetOutcome {
  readonly status: TargetStatus;
  readonly receipt?: string;
  /** Why it was not accepted, and warnings (a possible duplicate, a missing receipt). */
  readonly diagnostics: readonly Diagnostic<string>[];
  readonly attempts: readonly TargetAttempt[];
  /** Sent again after an attempt whose outcome was unknown: the service may hold it twice. */
  readonly possibleDuplicate: boolean;
  /** The service cannot take anything now (configuration, credentials, TLS, closed): stop sending, keep the rest. */
  readonly stop?: boolean;
  /** The earliest time worth trying again (Retry-After, opening hours), epoch ms. */
  readonly retryAt?: number;
}

/** One thing to send: the record's key (ordering and logs) and the payload as the target takes it. */
export interface TargetItem<Payload> {
  readonly key: string;
  readonly payload: Payload;
}

/**
 * A service cadmap submits to (DPS, CQI, MESH). `submit` never throws: every failure is an outcome with
 * diagnostics. Aborting `signal` gives up: the outcome then says `not-sent` when nothing left this machine and
 * `unknown` when a request was in flight.
 */
export interface Target<Payload = unknown> {
  readonly service: Service;
  /** The endpoint's identity in the ledger (e.g. the DPS base URL, the CQI base URL, the MESH mailbox). */
  readonly endpoint: string;
  submit(item: TargetItem<Payload>, options?: { readonly signal?: AbortSignal }): Promise<TargetOutcome>;
  /** Closes the connections the target opened (not an injected dispatcher). */
  close(): Promise<void>;
}
