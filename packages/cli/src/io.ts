import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import type Iconv from 'iconv-lite';
import type { Logger } from './log.js';

/** iconv-lite is loaded only to show code frames of non-UTF-8 files (it costs start-up time otherwise). */
const loadIconv = (): typeof Iconv => createRequire(import.meta.url)('iconv-lite') as typeof Iconv;

/** Everything the CLI touches of the process, so commands can be run and tested in-process. */
export interface CliIo {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  /** Standard input, for commands that read a stream (`cadmap check -`). */
  readonly stdin?: NodeJS.ReadableStream;
  /** The run's logger (set up by `main` from --verbose, --log-level and CADMAP_LOG); see `loggerOf`. */
  readonly log?: Logger;
  /** `--mapping-root` as given (see `mappingLoadOptions`). */
  readonly mappingRoot?: string;
}

export const exitCodes = {
  ok: 0,
  dataErrors: 1,
  usage: 2,
  transport: 3,
} as const;

export class UsageError extends Error {}

/** The mapping has errors (already reported); nothing was mapped. */
export class MappingInvalid extends Error {
  constructor(readonly count: number) {
    super(`The mapping has ${count} problem${count === 1 ? '' : 's'}.`);
  }
}

/** Reads single lines of files for code frames; whole files are cached, large ones are not shown. */
export class LineSource {
  private readonly cache = new Map<string, string[] | undefined>();
  constructor(
    private readonly encodingOf: (file: string) => string = () => 'utf-8',
    /** Whether a lone CR ends a line in `file`, as the CSV reader counts lines (XML, JSON and YAML count LF only). */
    private readonly loneCrBreaks: (file: string) => boolean = () => false,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  lineOf = (file: string, line: number): string | undefined => {
    let lines = this.cache.get(file);
    if (!this.cache.has(file)) {
      lines = this.read(file);
      this.cache.set(file, lines);
    }
    return lines?.[line - 1];
  };

  private read(file: string): string[] | undefined {
    try {
      if (statSync(file).size > this.maxBytes) {
        return undefined;
      }
      const bytes = readFileSync(file);
      const encoding = this.encodingOf(file);
      const text = encoding === 'utf-8' ? bytes.toString('utf8').replace(/^\uFEFF/, '') : loadIconv().decode(bytes, encoding);
      return text.split(this.loneCrBreaks(file) ? /\r\n|\r|\n/ : /\r?\n/);
    } catch {
      return undefined;
    }
  }
}

export function displayPathFrom(cwd: string): (file: string) => string {
  return (file) => {
    const rel = relative(cwd, file);
    return rel.startsWith('..') || rel === '' ? file : rel;
  };
}

/** A one-line progress display on a TTY; silent otherwise. */
export class Progress {
  private last = 0;
  private readonly started = performance.now();
  constructor(
    private readonly stream: CliIo['stderr'],
    private readonly enabled: boolean,
  ) {}

  update(done: number, failed: number): void {
    if (!this.enabled) {
      return;
    }
    const now = performance.now();
    if (now - this.last < 100) {
      return;
    }
    this.last = now;
    const rate = done / Math.max(0.001, (now - this.started) / 1000);
    this.stream.write(`\r\u001b[2Kmapping… ${done.toLocaleString('en-GB')} records, ${failed.toLocaleString('en-GB')} failed, ${Math.round(rate).toLocaleString('en-GB')}/s`);
  }

  done(): void {
    if (this.enabled) {
      this.stream.write('\r\u001b[2K');
    }
  }
}

/** Resolves at the first SIGINT or SIGTERM (Ctrl-C): how the long-running sandbox commands wait to stop. */
export function untilSignal(): Promise<void> {
  return new Promise((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
