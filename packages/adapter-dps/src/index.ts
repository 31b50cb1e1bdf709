/**
 * @cadmap/adapter-dps: submits ADS FHIR bundles to the Ambulance Data Submission API (DPS) with signed-JWT
 * OAuth, retries, a client-side rate limit and per-call ordering. Results are data; nothing is printed.
 *
 * ```ts
 * const { client, diagnostics } = createDpsClient({ environment: 'integration', credentials: { apiKey, kid, privateKey } });
 * for await (const result of client!.submitAll(bundles, { concurrency: 4 })) { record(result); }
 * await client!.close();
 * ```
 */
export { createDpsClient } from './client.js';
export type { CreateDpsClientResult, DpsClient, DpsClientOptions, DpsClientStats, SubmissionAttempt, SubmissionItem, SubmissionResult, SubmitAllOptions } from './client.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { dpsCodes } from './codes.js';
export type { DpsCode, DpsDiagnostic } from './codes.js';
export type { DpsEvent, DpsEventListener } from './events.js';
export { dpsEnvironments, isDpsEnvironmentName, processMessageUrl, resolveEndpoint } from './environments.js';
export type { DpsEndpoint, DpsEnvironment, DpsEnvironmentName } from './environments.js';
export { retryAfterMs } from './http.js';
export { defaultRateLimit, RateLimiter, rateWindows } from './limiter.js';
export type { Grant, RateLimit, RateWindow } from './limiter.js';
export { isNhsNumber, redact } from './redact.js';
export { SubmissionSummary } from './summary.js';
export type { SubmissionTotals } from './summary.js';
export { loadPrivateKey, TokenClient } from './token.js';
export type { DpsCredentials, TokenClientOptions } from './token.js';
