import { setTimeout as delay } from 'node:timers/promises';

/** Time as the adapter sees it; inject a virtual clock in tests. `now()` is epoch milliseconds. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => (ms <= 0 ? Promise.resolve() : delay(ms, undefined, signal ? { signal } : {})),
};
