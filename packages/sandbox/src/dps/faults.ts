/** A fault the DPS sandbox can inject into a `$process-message` request (after the bearer token is checked). */
export type DpsFaultKind = 'rate-limit' | 'server-error' | 'slow' | 'drop' | 'lost-after-accept';

export const dpsFaultKinds: readonly DpsFaultKind[] = ['rate-limit', 'server-error', 'slow', 'drop', 'lost-after-accept'];

/**
 * Which faults to inject. A `script` applies to successive `$process-message` requests in arrival order
 * (`null` = answer normally); once it runs out, `rates` apply: per-request probabilities drawn from a seeded PRNG.
 */
export interface DpsFaultPlan {
  readonly script?: readonly (DpsFaultKind | null)[];
  readonly rates?: Readonly<Partial<Record<DpsFaultKind, number>>>;
  /** PRNG seed, so a run with the same arrival order injects the same faults (default 1). */
  readonly seed?: number;
  /** `Retry-After` sent with 429, in seconds; `null` sends none (default 1). */
  readonly retryAfterSeconds?: number | null;
  /** How long a slow answer waits before it is processed (default 1,000 ms). */
  readonly slowMs?: number;
}

/** mulberry32: small, fast and good enough to spread faults. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decides the fault of each request in turn. */
export class FaultInjector {
  private position = 0;
  private readonly random: () => number;
  readonly injected: Record<DpsFaultKind, number> = { 'rate-limit': 0, 'server-error': 0, slow: 0, drop: 0, 'lost-after-accept': 0 };

  constructor(readonly plan: DpsFaultPlan = {}) {
    this.random = seededRandom(plan.seed ?? 1);
    const total = Object.values(plan.rates ?? {}).reduce((sum, rate) => sum + rate, 0);
    if (total > 1) {
      throw new RangeError(`Fault rates add up to ${total}; they must total at most 1.`);
    }
  }

  next(): DpsFaultKind | null {
    const script = this.plan.script ?? [];
    let fault: DpsFaultKind | null = null;
    if (this.position < script.length) {
      fault = script[this.position] ?? null;
    } else if (this.plan.rates) {
      let draw = this.random();
      for (const kind of dpsFaultKinds) {
        const rate = this.plan.rates[kind] ?? 0;
        if (draw < rate) {
          fault = kind;
          break;
        }
        draw -= rate;
      }
    }
    this.position++;
    if (fault) {
      this.injected[fault]++;
    }
    return fault;
  }
}
