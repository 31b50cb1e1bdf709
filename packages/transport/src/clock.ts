import { setTimeout as delay } from 'node:timers/promises';

/** Time as a client sees it; inject a virtual clock in tests. `now()` is epoch milliseconds. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now` and timers that an AbortSignal cancels. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => {
    if (signal?.aborted === true) {
      return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    }
    return ms <= 0 ? Promise.resolve() : delay(ms, undefined, signal ? { signal } : {});
  },
};
