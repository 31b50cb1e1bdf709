import type { DpsEvent } from '@cadmap/adapter-dps';
import type { CqiEvent } from '@cadmap/adapter-cqi';
import type { MeshEvent } from '@cadmap/adapter-mesh';
import type { LogFields, Logger, LogLevel } from './log.js';

/** The adapters' events as log lines: requests and answers at debug, retries, tokens and message/case fates at info. */

type Line = readonly [LogLevel, string, LogFields?];

function dpsLine(event: DpsEvent): Line {
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
    case 'throttled':
      return ['debug', `rate limit: waited ${event.waitMs} ms`, { key: event.key, attempt: event.attempt }];
    case 'request':
      return ['debug', `${event.method} ${event.url}`, { key: event.key, bundleId: event.bundleId, attempt: event.attempt, requestId: event.requestId, correlationId: event.correlationId, bytes: event.bytes }];
    case 'response':
      return ['debug', `answered ${event.status}`, { key: event.key, attempt: event.attempt, requestId: event.requestId, ms: event.durationMs, receipt: event.receipt, code: event.code }];
    case 'network-failure':
      return ['info', `no answer: ${event.code} (${event.cause})`, { key: event.key, attempt: event.attempt, requestId: event.requestId, ms: event.durationMs, outcomeUnknown: event.outcomeUnknown }];
    case 'retry':
      return ['info', `retrying in ${event.waitMs} ms (${event.reason === 'retry-after' ? 'Retry-After' : 'backoff'})`, { key: event.key, attempt: event.attempt, code: event.code }];
    case 'result':
      return ['debug', `bundle ${event.status}`, { key: event.key, attempts: event.attempts, receipt: event.receipt, code: event.code, possibleDuplicate: event.possibleDuplicate || undefined }];
  }
}

function meshLine(event: MeshEvent): Line {
  switch (event.type) {
    case 'request':
      return ['debug', `${event.method} ${event.path}`, { attempt: event.attempt, messageId: event.messageId, bytes: event.bytes }];
    case 'response':
      return ['debug', `${event.method} ${event.path} answered ${event.status}`, { attempt: event.attempt, ms: event.durationMs, messageId: event.messageId }];
    case 'network-failure':
      return ['info', `${event.method} ${event.path}: no answer, ${event.code} (${event.cause})`, { attempt: event.attempt, ms: event.durationMs }];
    case 'retry':
      return ['info', `${event.method} ${event.path}: retrying in ${event.waitMs} ms`, { attempt: event.attempt, reason: event.reason, status: event.status }];
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
  switch (event.type) {
    case 'request':
      return ['debug', `${event.method} ${event.path}`, { bytes: event.bytes, mediaType: event.mediaType }];
    case 'response':
      return ['debug', `${event.method} ${event.path} answered ${event.status}`, { ms: event.durationMs }];
    case 'network-failure':
      return ['info', `${event.method} ${event.path}: no answer (${event.codes.join(', ') || 'no code'})`, { ms: event.durationMs }];
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
