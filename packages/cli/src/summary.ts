import type { Diagnostic } from '@cadmap/core';
import type { Outcome } from './output.js';

/** What happens to a mapped record: written out, sent to the dead letter, or deliberately skipped. */
export type Disposition = 'mapped' | 'failed' | 'skipped';

/** Counts of a run, by outcome and by diagnostic code. */
export class RunSummary {
  records = 0;
  mapped = 0;
  failed = 0;
  skipped = 0;
  entries = 0;
  readonly byCode = new Map<string, { severity: Diagnostic['severity']; count: number; first: Diagnostic<string> }>();
  private readonly started = performance.now();

  /** Counts one result and says where it goes. */
  count(result: Outcome): Disposition {
    this.records++;
    this.add(result.diagnostics);
    if (result.skipped === true) {
      this.skipped++;
      return 'skipped';
    }
    if (result.ok && (result.bundle ?? result.document) !== undefined) {
      this.mapped++;
      this.entries += result.bundle?.entry?.length ?? 0;
      return 'mapped';
    }
    this.failed++;
    return 'failed';
  }

  add(diagnostics: readonly Diagnostic<string>[]): void {
    for (const diagnostic of diagnostics) {
      const existing = this.byCode.get(diagnostic.code);
      if (existing) {
        existing.count++;
      } else {
        this.byCode.set(diagnostic.code, { severity: diagnostic.severity, count: 1, first: diagnostic });
      }
    }
  }

  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  toJSON(): Record<string, unknown> {
    return {
      records: this.records,
      mapped: this.mapped,
      failed: this.failed,
      skipped: this.skipped,
      entries: this.entries,
      seconds: Number(this.seconds.toFixed(3)),
      diagnostics: Object.fromEntries([...this.byCode].map(([code, { severity, count }]) => [code, { severity, count }])),
    };
  }

  render(): string {
    const n = (value: number): string => value.toLocaleString('en-GB');
    const lines = [
      `${n(this.records)} records: ${n(this.mapped)} mapped${this.entries > 0 ? ` (${n(this.entries)} entries)` : ''}, ${n(this.failed)} failed,${this.skipped > 0 ? ` ${n(this.skipped)} skipped by conditions,` : ''} in ${this.seconds.toFixed(2)} s (${n(Math.round(this.records / Math.max(this.seconds, 0.001)))} records/s)`,
    ];
    const codes = [...this.byCode].sort((a, b) => b[1].count - a[1].count);
    for (const [code, { severity, count }] of codes) {
      lines.push(`  ${String(count).padStart(7)} × ${severity.padEnd(11)} ${code}`);
    }
    return lines.join('\n');
  }
}
