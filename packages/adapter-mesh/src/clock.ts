import { setTimeout as delay } from 'node:timers/promises';

/** Time as the adapter sees it; inject a virtual clock in tests. `now()` is epoch milliseconds. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => (ms <= 0 ? Promise.resolve() : delay(ms)),
};
