import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Diagnostic, MapResult } from '@cadmap/core';
import { UsageError } from './io.js';

/** Files holding records (bundles, cases, dead letters, receipts) are readable by their owner only, from creation. */
export const privateFileMode = 0o600;
/** Folders the CLI creates for them likewise. */
export const privateFolderMode = 0o700;

/** Creates `dir` and any missing parents as private folders (existing ones are left as they are). */
export function makePrivateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: privateFolderMode });
}

/**
 * Writes a secret (a private key) so that no one else can read it at any moment: into a new private file beside
 * it, then renamed over `path`; an existing file's wider mode is never reused.
 */
export function writePrivateFile(path: string, content: string): void {
  makePrivateFolder(dirname(path));
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, content, { mode: privateFileMode, flag: 'wx' });
  renameSync(temporary, path);
}

/** Refuses to derive a file name from `path` when it names a device or pipe (`-o /dev/null` has no "next to"). */
export function refuseBesideDevice(path: string, option: string, derived: string): void {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info !== undefined && !info.isFile() && !info.isDirectory()) {
    throw new UsageError(`${option} ${path} is not a regular file, so ${derived} cannot be written beside it; give ${derived} a path of its own.`);
  }
}

/** A mapped record as the CLI handles it: core's result, possibly with findings of other packages (CONF_*). */
export type Outcome = Omit<MapResult, 'diagnostics'> & { readonly diagnostics: readonly Diagnostic<string>[] };

/** What a result produced: the bundle, or the document of a non-bundle target (e.g. a CQI case). */
export const outputOf = (result: Outcome): unknown => result.bundle ?? result.document;

/** Writes text to a file with back-pressure; created lazily on the first write. */
export class LazyFileWriter {
  private stream: WriteStream | undefined;
  written = 0;
  /** `exclusive`: fail rather than replace an existing file. */
  constructor(
    readonly path: string,
    private readonly exclusive = false,
  ) {}

  async write(text: string): Promise<void> {
    if (!this.stream) {
      makePrivateFolder(dirname(this.path));
      // opened here, synchronously, so that a refusal (EEXIST) is thrown to the caller rather than emitted later
      this.stream = createWriteStream(this.path, { fd: openSync(this.path, this.exclusive ? 'wx' : 'w', privateFileMode) });
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

/**
 * One file per record in `dir`, named after its key. Nothing is overwritten silently: when two keys give the same
 * file name (`a/b` and `a_b`), or a file of that name holds another record (from an earlier run), the later one gets
 * a suffix made from its key (the same on every run) and `warn` says so. A file holding the same record (the same
 * output `id`) is replaced, so a run can be repeated into the same folder.
 */
export function directorySink(dir: string, warn: (message: string) => void): BundleSink {
  makePrivateFolder(dir);
  const used = new Set<string>();
  return {
    description: `${dir}/`,
    async write(result) {
      const key = result.key || result.bundle?.id || 'record';
      const base = safeFileName(key);
      const output = outputOf(result);
      const text = `${JSON.stringify(output, null, 2)}\n`;
      const suffixed = `${base}~${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
      for (const name of [base, suffixed]) {
        if (used.has(name)) {
          continue;
        }
        const path = join(dir, `${name}.json`);
        if (!sameRecordOrAbsent(path, output)) {
          continue;
        }
        used.add(name);
        const writer = new LazyFileWriter(path);
        await writer.write(text);
        await writer.close();
        if (name !== base) {
          warn(`The output of record ${JSON.stringify(key)} is written to ${name}.json: ${base}.json is taken (by another record of this run or of an earlier one).`);
        }
        return;
      }
      throw new Error(`cannot write the output of record ${JSON.stringify(key)}: ${base}.json and ${suffixed}.json in ${dir} both hold other records`);
    },
    close: () => Promise.resolve(),
  };
}

/** True when nothing is at `path`, or it holds the output of the same record (the same `id`). */
function sameRecordOrAbsent(path: string, output: unknown): boolean {
  let existing: string;
  try {
    existing = readFileSync(path, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
  const id = (value: unknown): unknown => (typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined);
  try {
    return id(output) !== undefined && id(JSON.parse(existing)) === id(output);
  } catch {
    return false;
  }
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
