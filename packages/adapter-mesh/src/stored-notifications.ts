import { readFile, stat } from 'node:fs/promises';
import type { MeshDiagnostic } from './codes.js';
import { readNotification, type NotificationConfig, type NotificationParser, type ParsedNotification } from './notifications.js';
import type { StoredMessage } from './store.js';

/** A stored DPS notification, read. */
export interface ReadNotification {
  readonly messageId: string;
  readonly path: string;
  readonly parsed: ParsedNotification;
}

/** The DPS notifications among stored messages, read. */
export interface StoredNotifications {
  readonly notifications: readonly ReadNotification[];
  /** Notifications no parser recognised: stored raw at `path`, reported. */
  readonly unrecognised: readonly { readonly messageId: string; readonly path: string }[];
  readonly diagnostics: readonly MeshDiagnostic[];
}

/** True when a stored message is a DATA message on one of the configured DPS notification workflows. */
export const isNotification = (message: StoredMessage, config: NotificationConfig): boolean =>
  message.info.messageType === 'DATA' && message.info.workflowId !== undefined && config.workflowIds.includes(message.info.workflowId);

/** The largest stored notification read for reconciliation (a bigger one is reported, never read into memory). */
export const maxNotificationBytes = 64 * 1024 * 1024;

/** Reads every stored DPS notification with the configured formats (and any extra parsers). */
export async function readStoredNotifications(stored: readonly StoredMessage[], config: NotificationConfig, extraParsers: readonly NotificationParser[] = [], limit = maxNotificationBytes): Promise<StoredNotifications> {
  const notifications: ReadNotification[] = [];
  const unrecognised: { messageId: string; path: string }[] = [];
  const diagnostics: MeshDiagnostic[] = [];
  for (const message of stored.filter((candidate) => isNotification(candidate, config))) {
    const size = (await stat(message.bodyPath)).size;
    if (size > limit) {
      unrecognised.push({ messageId: message.messageId, path: message.bodyPath });
      diagnostics.push({ code: 'MESH_NOTIFICATION_TOO_LARGE', severity: 'error', messageId: message.messageId, message: `DPS notification ${message.messageId} is ${size} bytes, more than the ${limit} read for reconciliation; it stays stored at ${message.bodyPath}.`, hint: 'Look at the file; DPS error notifications are far smaller, so it may not be one.' });
      continue;
    }
    const reading = readNotification(await readFile(message.bodyPath), config, { messageId: message.messageId, path: message.bodyPath }, extraParsers);
    diagnostics.push(...reading.diagnostics);
    if (reading.parsed) {
      notifications.push({ messageId: message.messageId, path: message.bodyPath, parsed: reading.parsed });
    } else {
      unrecognised.push({ messageId: message.messageId, path: message.bodyPath });
    }
  }
  return { notifications, unrecognised, diagnostics };
}
