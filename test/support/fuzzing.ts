import fc from 'fast-check';
import { afterAll } from 'vitest';

/**
 * What the fuzz suites share: the run size (`npm run fuzz` sets FUZZ_RUNS, the total cases of a long run; without
 * it the CI size applies), the seed (FUZZ_SEED), case counting with a printed total after a long run, and
 * byte-level edits of seed texts.
 */
const runsFromEnv = Number(process.env['FUZZ_RUNS'] ?? '');
/** FUZZ_RUNS when a long run was asked for, else undefined (the CI size). */
export const longRunCases: number | undefined = Number.isInteger(runsFromEnv) && runsFromEnv > 0 ? runsFromEnv : undefined;
/** Wall-clock budget per property in a long run: hours (the CI size has budgets of seconds, set per suite). */
export const longRunBudgetMs = 6 * 60 * 60 * 1000;
const seed = process.env['FUZZ_SEED'] === undefined ? undefined : Number(process.env['FUZZ_SEED']);

/** How many cases a property may run, for how long in all, and when one case counts as hung. */
export interface FuzzLimits {
  readonly runs: number;
  readonly budgetMs: number;
  readonly caseTimeoutMs: number;
}

/**
 * A runner of async properties under their limits that counts the cases each ran; after a long run the total is
 * printed as `<label>: N cases run (…)` for the person who started `npm run fuzz` (the count is the point of it).
 */
export function fuzzRunner(label: string): <T>(name: string, arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, limits: FuzzLimits) => Promise<void> {
  const executed: Record<string, number> = {};
  afterAll(() => {
    const total = Object.values(executed).reduce((sum, n) => sum + n, 0);
    if (longRunCases !== undefined) {
      console.info(`${label}: ${total} cases run (${Object.entries(executed).map(([name, n]) => `${name} ${n}`).join(', ')})`);
    }
  });
  return async (name, arbitrary, check, limits) => {
    executed[name] = 0;
    const property = fc.asyncProperty(arbitrary, async (value) => {
      executed[name] = (executed[name] ?? 0) + 1;
      await check(value);
    });
    await fc.assert(property, {
      numRuns: limits.runs,
      timeout: limits.caseTimeoutMs,
      interruptAfterTimeLimit: limits.budgetMs,
      markInterruptAsFailure: false,
      ...(seed === undefined ? {} : { seed }),
    });
  };
}

/** A byte-level edit of a text: insert, delete, duplicate or replace a range, or cut the rest. Positions wrap. */
export type TextEdit = { readonly kind: 'insert' | 'delete' | 'duplicate' | 'replace' | 'truncate'; readonly at: number; readonly length: number; readonly text: string };

/** Edits whose inserted and replacing pieces come from `pieces`. */
export const textEdit = (pieces: fc.Arbitrary<string>): fc.Arbitrary<TextEdit> =>
  fc.record({
    kind: fc.constantFrom('insert', 'delete', 'duplicate', 'replace', 'truncate'),
    at: fc.nat(),
    length: fc.nat({ max: 64 }),
    text: pieces,
  });

export function applyEdits(text: string, list: readonly TextEdit[]): string {
  let out = text;
  for (const { kind, at, length, text: piece } of list) {
    const start = out.length === 0 ? 0 : at % (out.length + 1);
    const end = Math.min(out.length, start + length);
    switch (kind) {
      case 'insert':
        out = out.slice(0, start) + piece + out.slice(start);
        break;
      case 'delete':
        out = out.slice(0, start) + out.slice(end);
        break;
      case 'duplicate':
        out = out.slice(0, end) + out.slice(start, end) + out.slice(end);
        break;
      case 'replace':
        out = out.slice(0, start) + piece + out.slice(end);
        break;
      case 'truncate':
        out = out.slice(0, start);
        break;
    }
  }
  return out;
}
