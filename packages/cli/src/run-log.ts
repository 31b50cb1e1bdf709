import { statSync } from 'node:fs';
import { relative } from 'node:path';
import type { Diagnostic, InputFile, InputSpan, Mapping } from '@cadmap/core';
import type { Logger } from './log.js';

/** What the mapping progress lines need of a mapped record. */
interface MappedRecord {
  readonly key: string;
  readonly ok: boolean;
  readonly skipped?: boolean;
  readonly diagnostics: readonly Diagnostic<string>[];
  readonly source: { readonly origin: InputSpan };
}

interface FileCounts {
  records: number;
  mapped: number;
  failed: number;
  skipped: number;
}

const nameOf = (input: InputFile): string => ('path' in input ? input.path : input.name);

/**
 * Mapping progress in the log: the inputs of a run (info), each record's fate (debug), and per input file how many
 * records were mapped, failed and skipped (info). Only keys and positions are logged, never field values.
 */
export class RunLog {
  private readonly files = new Map<string, FileCounts>();

  private readonly shown: (file: string) => string;

  constructor(
    private readonly log: Logger,
    cwd: string,
    private readonly component = 'map',
  ) {
    this.shown = (file) => {
      const rel = relative(cwd, file);
      return rel === '' || rel.startsWith('..') ? file : rel;
    };
  }

  /** Logs the mapping and its input files (with sizes). */
  start(mapping: Mapping, inputs: readonly InputFile[]): void {
    if (!this.log.enabled('info')) {
      return;
    }
    this.log.info(this.component, `mapping ${mapping.id}: ${inputs.length} input file(s)`, { mapping: this.shown(mapping.file), target: mapping.target, format: mapping.source.format });
    for (const input of inputs) {
      const name = nameOf(input);
      let bytes: number | undefined;
      try {
        bytes = 'path' in input ? statSync(input.path).size : undefined;
      } catch {
        bytes = undefined;
      }
      this.log.info(this.component, `input ${this.shown(name)}`, { table: input.table, bytes });
    }
  }

  /** Counts a record and logs its fate at debug. */
  record(result: MappedRecord): void {
    const file = result.source.origin.file;
    const counts = this.files.get(file) ?? { records: 0, mapped: 0, failed: 0, skipped: 0 };
    this.files.set(file, counts);
    counts.records++;
    const fate = result.skipped === true ? 'skipped' : result.ok ? 'mapped' : 'failed';
    counts[fate]++;
    if (this.log.enabled('debug')) {
      const { origin } = result.source;
      this.log.debug(this.component, `record ${result.key || '(no key)'}: ${fate}`, {
        file: this.shown(file),
        row: origin.row,
        line: origin.line,
        errors: result.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal').length,
        warnings: result.diagnostics.filter((d) => d.severity === 'warning').length,
      });
    }
  }

  /** Logs the counts per input file. */
  done(): void {
    for (const [file, counts] of this.files) {
      this.log.info(this.component, `${this.shown(file)}: ${counts.records} record(s)`, { mapped: counts.mapped, failed: counts.failed, skipped: counts.skipped });
    }
  }
}
