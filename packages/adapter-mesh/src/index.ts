/**
 * @cadmap/adapter-mesh: an NHS MESH API v2 client (mutual TLS, NHSMESH tokens, chunked gzip send and receive,
 * retries that never duplicate a send, lost answers resolved by tracking), a durable inbox store, and DPS error
 * notification parsers. The ledger links notifications to records (@cadmap/pipeline). Results are data; nothing
 * is printed.
 */
export { meshAuthorization, meshTimestamp } from './auth.js';
export type { MeshAuthInput } from './auth.js';
export { createMeshClient, defaultChunkBytes, defaultMaxMessageBytes, messageSegment, minChunkBytes } from './client.js';
export type { CreateMeshClientResult, MeshCallOptions, MeshClient, MeshClientOptions, MeshDownloadSink, MeshInboxPage, MeshMessageInfo, MeshSendRequest, MeshSendResult, MeshTlsOptions, MeshTracking } from './client.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { MeshError, meshCodes } from './codes.js';
export type { MeshEvent, MeshEventListener } from './events.js';
export type { MeshCode, MeshDiagnostic } from './codes.js';
export { isMeshEnvironmentName, meshEnvironments, resolveBaseUrl } from './environments.js';
export type { MeshEnvironmentName } from './environments.js';
export { linkReport, MeshStore, pollInbox, safeFileName, safeSegment } from './store.js';
export type { MeshReportLink, PollOptions, PollResult, SentRecord, StoredMessage } from './store.js';
export { builtInParsers, defaultFieldNames, defaultOperationOutcomeExtensions, notificationFormats, parseCsvNotification, parseJsonNotification, parseOperationOutcomeNotification, readNotification } from './notifications.js';
export type { NotificationConfig, NotificationError, NotificationFieldNames, NotificationFormat, NotificationParser, NotificationReading, ParsedNotification } from './notifications.js';
export { parseReceipts, readReceipts, reconcile, reconciliationSummary } from './reconcile.js';
export type { ReceiptRecord, ReconciledError, Reconciliation } from './reconcile.js';
export { isNotification, maxNotificationBytes, readStoredNotifications } from './stored-notifications.js';
export type { ReadNotification, StoredNotifications } from './stored-notifications.js';
