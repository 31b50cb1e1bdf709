import type { DpsEvent } from '@cadmap/adapter-dps';
import type { CqiEvent } from '@cadmap/adapter-cqi';
import type { MeshEvent } from '@cadmap/adapter-mesh';
import type { TransportEvent } from '@cadmap/transport';
import type { LogFields, Logger, LogLevel } from './log.js';

/** The adapters' events as log lines: requests and answers at debug, retries, tokens and message/case fates at info. */

type Line = readonly [LogLevel, string, LogFields?];

/** The transport's events, the same for every adapter: requests and answers at debug, failures and retries at info. */
function transportLine(event: TransportEvent): Line {
  const ids = { key: event.key, bundleId: event.bundleId, messageId: event.messageId, attempt: event.attempt, requestId: event.requestId };
  switch (event.type) {
    case 'request':
      return ['debug', `${event.method} ${event.url}`, { ...ids, correlationId: event.correlationId, bytes: event.bytes }];
    case 'response':
      return ['debug', `${event.method} ${event.url} answered ${event.status ?? '?'}`, { ...ids, ms: event.durationMs, receipt: event.receipt, code: event.code }];
    case 'network-failure':
      return ['info', `${event.method} ${event.url}: no answer, ${event.code ?? event.failure ?? 'failed'} (${event.cause ?? 'no code'})`, { ...ids, ms: event.durationMs, outcomeUnknown: event.outcomeUnknown }];
    case 'retry':
      return ['info', `${event.method} ${event.url}: retrying in ${event.waitMs ?? 0} ms (${event.reason === 'retry-after' ? 'Retry-After' : (event.reason ?? 'backoff')})`, { ...ids, code: event.code, status: event.status }];
    case 'throttled':
      return ['debug', `rate limit: waited ${event.waitMs ?? 0} ms`, ids];
  }
}

const isTransport = (event: { readonly type: string; readonly service?: string }): event is TransportEvent => event.service !== undefined;

function dpsLine(event: DpsEvent): Line {
  if (isTransport(event)) {
    return transportLine(event);
  }
  switch (event.type) {
    case 'token-request':
      return ['debug', `token request POST ${event.url}`];
    case 'token-response':
      return event.status === 200
        ? ['info', 'access token obtained', { status: event.status, ms: event.durationMs, expiresIn: event.expiresInSeconds }]
        : ['debug', `token endpoint answered ${event.status}`, { ms: event.durationMs }];
    case 'token-failure':
      return ['info', `token request failed (${event.code})`, { status: event.status, retryable: event.retryable, ms: event.durationMs }];
    case 'token-refresh':
      return ['info', `DPS refused the access token (${event.status}); getting a new one`, { key: event.key, attempt: event.attempt }];
    case 'result':
      return ['debug', `bundle ${event.status}`, { key: event.key, attempts: event.attempts, receipt: event.receipt, code: event.code, possibleDuplicate: event.possibleDuplicate || undefined }];
  }
}

function meshLine(event: MeshEvent): Line {
  if (isTransport(event)) {
    return transportLine(event);
  }
  switch (event.type) {
    case 'inbox':
      return ['info', `inbox: ${event.messages} message(s)${event.more ? ', more pages' : ''}`, { approxInboxCount: event.approxInboxCount }];
    case 'downloaded':
      return ['info', `downloaded message ${event.messageId}`, { messageType: event.messageType, workflowId: event.workflowId, fileName: event.fileName, localId: event.localId, chunks: event.chunks, bytes: event.bytes }];
    case 'acknowledged':
      return ['info', `acknowledged message ${event.messageId}`];
    case 'sent':
      return ['info', `sent message ${event.messageId} to ${event.to}`, { workflowId: event.workflowId, fileName: event.fileName, localId: event.localId, chunks: event.chunks, bytes: event.bytes }];
  }
}

function cqiLine(event: CqiEvent): Line {
  if (isTransport(event)) {
    return transportLine(event);
  }
  switch (event.type) {
    case 'queued':
      return ['debug', `queue: case ${event.caseId} queued`, { queueId: event.queueId, mediaType: event.mediaType, bytes: event.bytes }];
    case 'invalid':
      return ['info', `queue: case ${event.caseId} not queued, invalid`, { problems: event.problems }];
    case 'delivered':
      return ['info', `queue: case ${event.caseId} delivered`, { queueId: event.queueId, status: event.status }];
    case 'rejected':
      return ['info', `queue: case ${event.caseId} rejected`, { queueId: event.queueId, status: event.status, exceptions: event.exceptions }];
    case 'postponed':
      return ['info', `queue: case ${event.caseId} kept, service ${event.reason}; next attempt in ${Math.round(event.waitMs / 1000)} s`, { queueId: event.queueId, status: event.status, attempts: event.attempts, nextAttemptAt: new Date(event.nextAttemptAt).toISOString() }];
  }
}

const listener =
  <E>(log: Logger, component: string, line: (event: E) => Line) =>
  (event: E): void => {
    const [level, message, fields] = line(event);
    if (log.enabled(level)) {
      log.log(level, component, message, fields);
    }
  };

/** `onEvent` for the DPS client. */
export const dpsEventLogger = (log: Logger): ((event: DpsEvent) => void) => listener(log, 'dps', dpsLine);
/** `onEvent` for the MESH client. */
export const meshEventLogger = (log: Logger): ((event: MeshEvent) => void) => listener(log, 'mesh', meshLine);
/** `onEvent` for the CQI client and sender. */
export const cqiEventLogger = (log: Logger): ((event: CqiEvent) => void) => listener(log, 'cqi', cqiLine);
