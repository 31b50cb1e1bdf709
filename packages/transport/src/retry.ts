/** `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); `undefined` when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') {
    return undefined;
  }
  if (/^\s*\d+(\.\d+)?(e\+?\d+)?\s*$/i.test(value)) {
    return Math.round(Number(value) * 1000);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * When a request may be sent again.
 * - `always`: idempotent (GET, PUT, HEAD, a MESH chunk ≥ 2), or the protocol makes a resend safe (an ADS
 *   submission: the latest one of a call overwrites the earlier).
 * - `if-not-sent`: not idempotent (MESH's first POST of a send): retried only when the request certainly never
 *   reached the server (no connection) or the server refused it unread (429/425); never after a lost answer.
 * - `never`.
 */
export type Resend = 'always' | 'if-not-sent' | 'never';

export interface RetryPolicyOptions {
  /** Attempts, including the first (default 6). */
  readonly maxAttempts?: number;
  /** Exponential backoff: base × 2^(n−1) ms, capped at `maxMs`, with full jitter in its upper half (defaults 500 ms, 30 s). */
  readonly baseMs?: number;
  readonly maxMs?: number;
  /** The longest `Retry-After` honoured; longer waits are cut to this (default 120 s). */
  readonly maxRetryAfterMs?: number;
  /** Total time a request may spend retrying, from its first attempt (default 10 minutes). */
  readonly budgetMs?: number;
  /** Uniform in [0, 1): the jitter source. */
  readonly random?: () => number;
}

/** What one attempt ended with, as far as retrying is concerned. */
export interface AttemptEnd {
  /** 1-based. */
  readonly attempt: number;
  /** When the first attempt started and now (epoch ms). */
  readonly firstStartedAt: number;
  readonly now: number;
  /** The failure is transient (5xx, 429, a broken connection, a timeout). */
  readonly transient: boolean;
  /** The request may have reached the server (false: refused before sending, no connection, or refused unread). */
  readonly requestSent: boolean;
  /** The server's `Retry-After`, in ms. */
  readonly retryAfterMs?: number;
}

export type RetryDecision =
  | { readonly retry: true; readonly waitMs: number; readonly reason: 'retry-after' | 'backoff' }
  | { readonly retry: false; readonly why: 'not-transient' | 'not-idempotent' | 'attempts' | 'budget' };

/** The one retry policy of the adapters. */
export class RetryPolicy {
  readonly maxAttempts: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxRetryAfterMs: number;
  readonly budgetMs: number;
  private readonly random: () => number;

  constructor(options: RetryPolicyOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseMs = options.baseMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.budgetMs = options.budgetMs ?? 600_000;
    this.random = options.random ?? Math.random;
    for (const [name, value, min] of [
      ['maxAttempts', this.maxAttempts, 1],
      ['baseMs', this.baseMs, 0],
      ['maxMs', this.maxMs, 0],
      ['maxRetryAfterMs', this.maxRetryAfterMs, 0],
      ['budgetMs', this.budgetMs, 0],
    ] as const) {
      if (!Number.isFinite(value) || value < min || (name === 'maxAttempts' && !Number.isInteger(value))) {
        throw new RangeError(`${name} must be a ${name === 'maxAttempts' ? 'whole number' : 'number'} of at least ${min} (got ${value}).`);
      }
    }
  }

  /** Backoff before attempt `attempt + 1`: capped exponential with jitter in [ceiling/2, ceiling]. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** Whether to try again after an attempt, and how long to wait first. */
  decide(end: AttemptEnd, resend: Resend): RetryDecision {
    if (!end.transient) {
      return { retry: false, why: 'not-transient' };
    }
    if (resend === 'never' || (resend === 'if-not-sent' && end.requestSent)) {
      return { retry: false, why: 'not-idempotent' };
    }
    if (end.attempt >= this.maxAttempts) {
      return { retry: false, why: 'attempts' };
    }
    const byServer = end.retryAfterMs !== undefined;
    const waitMs = byServer ? Math.min(end.retryAfterMs ?? 0, this.maxRetryAfterMs) : this.backoff(end.attempt);
    if (end.now + waitMs - end.firstStartedAt > this.budgetMs) {
      return { retry: false, why: 'budget' };
    }
    return { retry: true, waitMs, reason: byServer ? 'retry-after' : 'backoff' };
  }
}
