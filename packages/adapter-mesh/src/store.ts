import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { MeshClient, MeshMessageInfo, MeshSendResult } from './client.js';
import { MeshError, type MeshDiagnostic } from './codes.js';

/** A message stored durably in the store directory. */
export interface StoredMessage {
  readonly messageId: string;
  readonly info: MeshMessageInfo;
  /** Absolute path of the body (decoded). */
  readonly bodyPath: string;
  readonly metaPath: string;
  /** ISO time it was stored. */
  readonly storedAt: string;
  /** The file name the sender suggested, reduced to a safe base name (never used as a path). */
  readonly suggestedFileName?: string;
}

/** A message this mailbox sent (the ledger keeps them), so REPORTs can be linked to it. */
export interface SentRecord extends Pick<MeshSendResult, 'messageId'> {
  readonly to?: string;
  readonly workflowId?: string;
  readonly localId?: string;
  readonly fileName?: string;
  /** The local file sent, when it was a file. */
  readonly source?: string;
  readonly sentAt?: string;
}

/** A non-delivery REPORT joined to what it reports on. */
export interface MeshReportLink {
  readonly reportId: string;
  readonly linkedMessageId?: string;
  readonly localId?: string;
  readonly workflowId?: string;
  readonly statusCode?: string;
  readonly statusDescription?: string;
  /** The sent message it reports on, when this store sent it. */
  readonly sent?: SentRecord;
}

/**
 * Reduces an untrusted name (a message id, a Mex-FileName, a local id) to one safe path segment: no separators,
 * no `..`, no leading dot, no control characters. A changed name gets a hash suffix so two names never collide.
 */
export function safeSegment(name: string): string {
  const base = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '').slice(0, 120);
  if (base === name && base !== '') {
    return base;
  }
  return `${base === '' ? 'x' : base}-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

/** The last path segment of a suggested file name, made safe. */
export function safeFileName(name: string): string {
  const last = name.split(/[\\/]/).filter((part) => part !== '').at(-1) ?? '';
  return safeSegment(last);
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A storage directory for downloaded messages: `<dir>/messages/<id>.dat` (the body) and `<id>.json` (the
 * metadata, written last as the completion mark). Every file is written to a temporary name, fsynced and renamed,
 * then the directory is fsynced, so a message is either fully stored or absent.
 */
export class MeshStore {
  readonly directory: string;
  private readonly messagesDirectory: string;
  private readonly temporaryDirectory: string;

  constructor(directory: string) {
    this.directory = resolve(directory);
    this.messagesDirectory = join(this.directory, 'messages');
    this.temporaryDirectory = join(this.directory, '.partial');
  }

  private inside(path: string): string {
    const rel = relative(this.directory, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new MeshError({ code: 'MESH_STORAGE', severity: 'error', message: `Refused to write outside the store directory: ${path}`, hint: 'This is a bug: names are sanitised before use.' });
    }
    return path;
  }

  paths(messageId: string): { body: string; meta: string } {
    const name = safeSegment(messageId);
    return { body: this.inside(join(this.messagesDirectory, `${name}.dat`)), meta: this.inside(join(this.messagesDirectory, `${name}.json`)) };
  }

  /**
   * Removes what a download killed mid-way left in the temporary folder (one poller per mailbox, mesh.md §13,
   * so nothing else is writing there). Returns how many files went.
   */
  async cleanPartials(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.temporaryDirectory);
    } catch {
      return 0;
    }
    await Promise.all(names.map((name) => rm(this.inside(join(this.temporaryDirectory, name)), { force: true })));
    return names.length;
  }

  /** Appends a sent message to `sent.ndjson` (fsynced), for REPORTs to be linked by `findSent`. */
  async recordSent(record: SentRecord): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const handle = await open(join(this.directory, 'sent.ndjson'), 'a', 0o600);
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async sent(): Promise<SentRecord[]> {
    try {
      const text = await readFile(join(this.directory, 'sent.ndjson'), 'utf8');
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as SentRecord);
    } catch {
      return [];
    }
  }

  /** A stored message by id, when it is stored. */
  async get(messageId: string): Promise<StoredMessage | undefined> {
    try {
      return JSON.parse(await readFile(this.paths(messageId).meta, 'utf8')) as StoredMessage;
    } catch {
      return undefined;
    }
  }

  async has(messageId: string): Promise<boolean> {
    try {
      await readFile(this.paths(messageId).meta);
      return true;
    } catch {
      return false;
    }
  }

  /** Downloads `messageId` with `client` straight into the store; resolves once it is durable. */
  async download(client: MeshClient, messageId: string, now: () => number = Date.now, signal?: AbortSignal): Promise<StoredMessage> {
    await mkdir(this.messagesDirectory, { recursive: true, mode: 0o700 });
    await mkdir(this.temporaryDirectory, { recursive: true, mode: 0o700 });
    const partial = this.inside(join(this.temporaryDirectory, `${safeSegment(messageId)}.${randomUUID()}.part`));
    const handle = await open(partial, 'w', 0o600);
    let info: MeshMessageInfo;
    try {
      let position = 0;
      info = await client.download(
        messageId,
        {
        write: async (data) => {
          let done = 0;
          while (done < data.length) {
            const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
            done += bytesWritten;
          }
          position += data.length;
        },
        truncate: async (length) => {
          await handle.truncate(length);
          position = length;
        },
        },
        signal ? { signal } : {},
      );
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(partial, { force: true });
      throw error;
    }
    await handle.close();
    const paths = this.paths(messageId);
    const storedAt = new Date(now()).toISOString();
    const suggested = info.fileName === undefined ? undefined : safeFileName(info.fileName);
    const stored: StoredMessage = { messageId, info, bodyPath: paths.body, metaPath: paths.meta, storedAt, ...(suggested !== undefined ? { suggestedFileName: suggested } : {}) };
    try {
      await rename(partial, paths.body);
      await this.writeAtomic(paths.meta, `${JSON.stringify(stored, null, 2)}\n`);
    } catch (error) {
      throw new MeshError({ code: 'MESH_STORAGE', severity: 'error', messageId, message: `Message ${messageId} could not be stored in ${this.directory}: ${error instanceof Error ? error.message : String(error)}`, hint: 'Free disk space or fix permissions; the message was not acknowledged and will be downloaded again.' });
    }
    return stored;
  }

  private async writeAtomic(path: string, text: string): Promise<void> {
    const partial = this.inside(join(this.temporaryDirectory, `${randomUUID()}.part`));
    const handle = await open(partial, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, path);
    await fsyncDirectory(this.messagesDirectory);
  }

  /** Every stored message, oldest first. */
  async list(): Promise<StoredMessage[]> {
    let names: string[];
    try {
      names = await readdir(this.messagesDirectory);
    } catch {
      return [];
    }
    const stored: StoredMessage[] = [];
    for (const name of names.filter((file) => file.endsWith('.json')).sort()) {
      stored.push(JSON.parse(await readFile(join(this.messagesDirectory, name), 'utf8')) as StoredMessage);
    }
    return stored.sort((a, b) => a.storedAt.localeCompare(b.storedAt));
  }
}

/** What one poll did. */
export interface PollResult {
  /** Messages stored and acknowledged in this poll. */
  readonly stored: readonly StoredMessage[];
  /** REPORTs among them, linked to what was sent. */
  readonly reports: readonly MeshReportLink[];
  /** Messages left in the inbox (not stored or not acknowledged), with why. */
  readonly failures: readonly MeshDiagnostic[];
  /** Every finding (REPORTs as warnings, failures as errors). */
  readonly diagnostics: readonly MeshDiagnostic[];
}

export interface PollOptions {
  readonly workflowFilter?: string;
  readonly maxResults?: number;
  /**
   * Called after a message is durable and before it is acknowledged (e.g. to link it in the ledger); a throw
   * stops the poll with nothing more acknowledged.
   */
  readonly onStored?: (stored: StoredMessage) => Promise<void> | void;
  /** The sent message a REPORT concerns (by Mex-LinkedMsgID, then Mex-LocalID), e.g. from the ledger. */
  readonly findSent?: (linkedMessageId: string | undefined, localId: string | undefined) => Promise<SentRecord | undefined> | SentRecord | undefined;
  /** The whole poll stops by this deadline (ms): what is not done is left for the next poll. Default 30 minutes. */
  readonly deadlineMs?: number;
  /** Stops the poll (e.g. Ctrl-C): what is not acknowledged stays in the inbox. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

/**
 * One poll cycle (mesh.md §13): list every page, download each message into the store, and acknowledge it only once
 * it is durable. A message that fails is left in the inbox for the next poll. Stopping between store and
 * acknowledgement is safe: the next poll downloads it again and replaces the same files, so it is stored once.
 */
export async function pollInbox(client: MeshClient, store: MeshStore, options: PollOptions = {}): Promise<PollResult> {
  const deadlineMs = options.deadlineMs ?? 1_800_000;
  const deadline = AbortSignal.timeout(deadlineMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const stored: StoredMessage[] = [];
  const reports: MeshReportLink[] = [];
  const failures: MeshDiagnostic[] = [];
  const diagnostics: MeshDiagnostic[] = [];
  const fail = (diagnostic: MeshDiagnostic): void => {
    failures.push(diagnostic);
    diagnostics.push(diagnostic);
  };
  /** A stop by the deadline or the caller, said once; true when the poll must end. */
  const stopped = (): boolean => {
    if (!signal.aborted) {
      return false;
    }
    if (!diagnostics.some((d) => d.code === 'MESH_TIMEOUT' || d.code === 'MESH_CANCELLED')) {
      fail(
        deadline.aborted
          ? { code: 'MESH_TIMEOUT', severity: 'error', message: `The poll ran past its deadline of ${Math.round(deadlineMs / 1000)} s; what was not acknowledged stays in the inbox.`, hint: 'The next poll carries on; raise the poll deadline if big messages are expected.' }
          : { code: 'MESH_CANCELLED', severity: 'warning', message: 'The poll was stopped; what was not acknowledged stays in the inbox for the next poll.' },
      );
    }
    return true;
  };
  await store.cleanPartials();
  const ids: string[] = [];
  try {
    for await (const id of client.inboxIds({ ...(options.workflowFilter !== undefined ? { workflowFilter: options.workflowFilter } : {}), ...(options.maxResults !== undefined ? { maxResults: options.maxResults } : {}), signal })) {
      ids.push(id);
    }
  } catch (error) {
    if (!(error instanceof MeshError)) {
      throw error;
    }
    if (!stopped()) {
      fail(error.diagnostic);
    }
    return { stored, reports, failures, diagnostics };
  }
  for (const id of ids) {
    if (stopped()) {
      break;
    }
    let message: StoredMessage;
    try {
      message = await store.download(client, id, options.now, signal);
    } catch (error) {
      if (error instanceof MeshError) {
        if (error.code === 'MESH_GONE') {
          continue;
        }
        if (stopped()) {
          break;
        }
        fail(error.diagnostic);
        if (error.code === 'MESH_AUTH_REJECTED' || error.code === 'MESH_TLS') {
          break;
        }
        continue;
      }
      throw error;
    }
    await options.onStored?.(message);
    try {
      await client.acknowledge(id, { signal });
    } catch (error) {
      if (error instanceof MeshError) {
        if (!stopped()) {
          fail(error.diagnostic);
        }
        continue;
      }
      throw error;
    }
    stored.push(message);
    if (message.info.messageType === 'REPORT') {
      const sent = await options.findSent?.(message.info.linkedMessageId, message.info.localId);
      const link = linkReport(message.info, sent ? [sent] : []);
      reports.push(link);
      diagnostics.push({
        code: 'MESH_REPORT',
        severity: 'warning',
        messageId: link.linkedMessageId ?? id,
        ...(link.statusCode !== undefined ? { meshErrorCode: link.statusCode } : {}),
        message: `MESH could not deliver message ${link.linkedMessageId ?? '(unknown)'}${link.localId !== undefined ? ` (local id ${link.localId})` : ''}${link.sent ? `${link.sent.to !== undefined ? ` sent to ${link.sent.to}` : ''}${link.sent.source !== undefined ? ` from ${link.sent.source}` : ''}` : ''}: code ${link.statusCode ?? '?'} ${link.statusDescription ?? ''}`.trim(),
        hint: link.statusCode === '14' ? 'The recipient did not collect it within 5 days: contact them, then send it again (or ask the service desk to re-deliver within 30 days).' : 'Read the MESH error code in mesh.md §9.',
      });
    }
  }
  return { stored, reports, failures, diagnostics };
}

/** Joins a REPORT to the sent message it reports on, by Mex-LinkedMsgID then Mex-LocalID. */
export function linkReport(info: MeshMessageInfo, sent: readonly SentRecord[]): MeshReportLink {
  const match = sent.find((record) => info.linkedMessageId !== undefined && record.messageId === info.linkedMessageId) ?? sent.find((record) => info.localId !== undefined && record.localId === info.localId);
  return {
    reportId: info.messageId,
    ...(info.linkedMessageId !== undefined ? { linkedMessageId: info.linkedMessageId } : {}),
    ...(info.localId !== undefined ? { localId: info.localId } : {}),
    ...(info.workflowId !== undefined ? { workflowId: info.workflowId } : {}),
    ...(info.statusCode !== undefined ? { statusCode: info.statusCode } : {}),
    ...(info.statusDescription !== undefined ? { statusDescription: info.statusDescription } : {}),
    ...(match ? { sent: match } : {}),
  };
}
