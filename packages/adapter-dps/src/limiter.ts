import type { Clock } from './clock.js';

/** At most `limit` requests start in any `intervalMs` window. */
export interface RateWindow {
  readonly limit: number;
  readonly intervalMs: number;
}

/** The client-side rate limit: at most `perMinute` and `perSecond` request starts (`dps-api.md` §7). */
export interface RateLimit {
  readonly perMinute?: number;
  readonly perSecond?: number;
}

/** 300 requests a minute and 5 a second: the product quota and the spike arrest of the platform. */
export const defaultRateLimit: Required<RateLimit> = { perMinute: 300, perSecond: 5 };

export function rateWindows(limit: RateLimit | false): RateWindow[] {
  if (limit === false) {
    return [];
  }
  const windows: RateWindow[] = [];
  if (limit.perMinute !== undefined) {
    windows.push({ limit: limit.perMinute, intervalMs: 60_000 });
  }
  if (limit.perSecond !== undefined) {
    windows.push({ limit: limit.perSecond, intervalMs: 1_000 });
  }
  for (const w of windows) {
    if (!Number.isInteger(w.limit) || w.limit < 1) {
      throw new RangeError(`A rate limit must be a whole number of at least 1 (got ${w.limit}).`);
    }
  }
  return windows;
}

/** A slot to start a request: when it was given, and whether the limit held it back. */
export interface Grant {
  readonly at: number;
  /** True when the limiter slept before giving it (for this request, or for one queued before it). */
  readonly waited: boolean;
}

/**
 * A sliding-window-log limiter: grants are serialised, and a grant waits until every window has room.
 * Grants are recorded at the moment they are given, so retries count too.
 */
export class RateLimiter {
  private readonly grants: number[][];
  private queue: Promise<unknown> = Promise.resolve();
  /** How many times the limiter has slept for room in a window. */
  private sleeps = 0;

  constructor(
    private readonly windows: readonly RateWindow[],
    private readonly clock: Clock,
  ) {
    this.grants = windows.map(() => []);
  }

  get enabled(): boolean {
    return this.windows.length > 0;
  }

  /** Waits for a slot. */
  acquire(signal?: AbortSignal): Promise<Grant> {
    if (!this.enabled) {
      return Promise.resolve({ at: this.clock.now(), waited: false });
    }
    const sleepsBefore = this.sleeps;
    const granted = this.queue.then(() => this.waitForSlot(signal)).then((at) => ({ at, waited: this.sleeps > sleepsBefore }));
    this.queue = granted.catch(() => undefined);
    return granted;
  }

  private async waitForSlot(signal?: AbortSignal): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock.now();
      let wait = 0;
      this.windows.forEach((window, i) => {
        const log = this.grants[i]!;
        while (log.length > 0 && log[0]! <= now - window.intervalMs) {
          log.shift();
        }
        if (log.length >= window.limit) {
          wait = Math.max(wait, log[log.length - window.limit]! + window.intervalMs - now);
        }
      });
      if (wait <= 0) {
        this.grants.forEach((log) => log.push(now));
        return now;
      }
      this.sleeps++;
      await this.clock.sleep(wait, signal);
    }
  }
}
