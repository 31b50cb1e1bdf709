import { readFile } from 'node:fs/promises';
import type { MeshDiagnostic } from './codes.js';
import { readNotification, type NotificationConfig, type NotificationParser } from './notifications.js';
import type { ReadNotification } from './reconcile.js';
import type { StoredMessage } from './store.js';

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

/** Reads every stored DPS notification with the configured formats (and any extra parsers). */
export async function readStoredNotifications(stored: readonly StoredMessage[], config: NotificationConfig, extraParsers: readonly NotificationParser[] = []): Promise<StoredNotifications> {
  const notifications: ReadNotification[] = [];
  const unrecognised: { messageId: string; path: string }[] = [];
  const diagnostics: MeshDiagnostic[] = [];
  for (const message of stored.filter((candidate) => isNotification(candidate, config))) {
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
