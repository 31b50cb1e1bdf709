import type { DpsCode } from './codes.js';
import type { SubmissionResult } from './client.js';

/** Totals over submission results, for reports. */
export interface SubmissionTotals {
  readonly submitted: number;
  readonly accepted: number;
  readonly failed: number;
  /** Bundles sent again after an attempt whose outcome was unknown (DPS may hold them twice). */
  readonly duplicates: number;
  /** Attempts beyond the first, over all bundles. */
  readonly retries: number;
  readonly tokenRefreshes: number;
  readonly failuresByCode: Readonly<Partial<Record<DpsCode, number>>>;
}

/** Counts results as they arrive. */
export class SubmissionSummary {
  submitted = 0;
  accepted = 0;
  failed = 0;
  duplicates = 0;
  retries = 0;
  tokenRefreshes = 0;
  readonly failuresByCode: Partial<Record<DpsCode, number>> = {};

  add(result: SubmissionResult): void {
    this.submitted++;
    if (result.status === 'accepted') {
      this.accepted++;
    } else {
      this.failed++;
      const code = result.failure?.code;
      if (code !== undefined) {
        this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
      }
    }
    if (result.possibleDuplicate) {
      this.duplicates++;
    }
    this.retries += Math.max(0, result.attempts.length - 1);
    this.tokenRefreshes += result.attempts.filter((a) => a.tokenRefreshed === true).length;
  }

  toJSON(): SubmissionTotals {
    return {
      submitted: this.submitted,
      accepted: this.accepted,
      failed: this.failed,
      duplicates: this.duplicates,
      retries: this.retries,
      tokenRefreshes: this.tokenRefreshes,
      failuresByCode: { ...this.failuresByCode },
    };
  }
}
