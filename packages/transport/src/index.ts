/**
 * @cadmap/transport: the one HTTP transport of the DPS, MESH and CQI adapters. An undici agent factory (TLS ≥ 1.2,
 * CA, client certificate, or an injected dispatcher), one network-error classifier, one retry policy (Retry-After
 * as seconds or a date, jitter, a cap, a total budget, no blind resend of a non-idempotent request), one abortable
 * clock, one event shape, requests with an overall deadline, and the `Target` contract the pipeline submits
 * through.
 */
export { createAgent, dispatcherFor } from './agent.js';
export type { AgentOptions, OwnedDispatcher, TlsOptions } from './agent.js';
export { classifyNetworkError, errorCodes } from './classify.js';
export type { FailureKind, NetworkFailure } from './classify.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { eventEmitter, loggableUrl } from './events.js';
export type { EventListener, Service, TransportEvent } from './events.js';
export { exchange, header, isAnswer, open, refusedUnread, transientStatus } from './http.js';
export type { HttpAnswer, HttpRequest, OpenAnswer } from './http.js';
export { RetryPolicy, retryAfterMs } from './retry.js';
export type { AttemptEnd, Resend, RetryDecision, RetryPolicyOptions } from './retry.js';
export type { Target, TargetAttempt, TargetItem, TargetOutcome, TargetStatus } from './target.js';
