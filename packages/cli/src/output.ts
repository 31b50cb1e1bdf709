import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Diagnostic, MapResult } from '@cadmap/core';

/** A mapped record as the CLI handles it: core's result, possibly with findings of other packages (CONF_*). */
export type Outcome = Omit<MapResult, 'diagnostics'> & { readonly diagnostics: readonly Diagnostic<string>[] };

/** What a result produced: the bundle, or the document of a non-bundle target (e.g. a CQI case). */
export const outputOf = (result: Outcome): unknown => result.bundle ?? result.document;

/** Writes text to a file with back-pressure; created lazily on the first write. */
export class LazyFileWriter {
  private stream: WriteStream | undefined;
  written = 0;
  constructor(readonly path: string) {}

  async write(text: string): Promise<void> {
    if (!this.stream) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.stream = createWriteStream(this.path);
    }
    this.written++;
    if (!this.stream.write(text)) {
      await once(this.stream, 'drain');
    }
  }

  async close(): Promise<void> {
    if (this.stream) {
      const stream = this.stream;
      await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
  }
}

/** Where bundles go: one NDJSON file, one file per bundle, or standard output. */
export interface BundleSink {
  write(result: Outcome): Promise<void>;
  close(): Promise<void>;
  readonly description: string;
}

export function ndjsonSink(path: string): BundleSink {
  const writer = new LazyFileWriter(path);
  return {
    description: path,
    write: (result) => writer.write(`${JSON.stringify(outputOf(result))}\n`),
    close: () => writer.close(),
  };
}

export function directorySink(dir: string): BundleSink {
  mkdirSync(dir, { recursive: true });
  const used = new Map<string, number>();
  return {
    description: `${dir}/`,
    async write(result) {
      const base = safeFileName(result.key || result.bundle?.id || 'record');
      const count = used.get(base) ?? 0;
      used.set(base, count + 1);
      const writer = new LazyFileWriter(join(dir, `${count === 0 ? base : `${base}-${count + 1}`}.json`));
      await writer.write(`${JSON.stringify(outputOf(result), null, 2)}\n`);
      await writer.close();
    },
    close: () => Promise.resolve(),
  };
}

export function streamSink(stream: { write(text: string): unknown }): BundleSink {
  return {
    description: 'standard output',
    write: (result) => {
      stream.write(`${JSON.stringify(outputOf(result))}\n`);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

/** A file name made from a record key: letters, digits, dot, dash and underscore only. */
export function safeFileName(key: string): string {
  const cleaned = key.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 120);
  return cleaned === '' ? '_' : cleaned;
}

/** One dead-letter line: the record's original content and why it failed. */
export interface DeadLetter {
  readonly key: string;
  readonly origin: MapResult['source']['origin'];
  readonly raw: MapResult['source']['raw'];
  readonly diagnostics: readonly Diagnostic<string>[];
}

export function deadLetterOf(result: Outcome): DeadLetter {
  return {
    key: result.key,
    origin: result.source.origin,
    raw: result.source.raw,
    diagnostics: result.diagnostics,
  };
}
