import type { Diagnostic, Severity } from '@cadmap/core';

/**
 * Every code the DPS adapter reports, with its meaning. Codes are stable; add new ones, never rename.
 * Error classes follow `dps-api.md` §6 and §8.
 */
export const dpsCodes = {
  DPS_AUTH_REJECTED: 'The token endpoint refused the signed client assertion, or DPS refused a fresh access token (401/403).',
  DPS_KEY_INVALID: 'The private key cannot be read or is not an RSA key of at least 2048 bits.',
  DPS_BAD_REQUEST: 'DPS answered 400: the bundle was rejected and must not be re-sent unchanged.',
  DPS_CONFIGURATION: 'DPS answered 404 or 405, or an option is wrong: the base URL, path or method is misconfigured.',
  DPS_RATE_LIMITED: 'DPS kept answering 429 until the retry budget ran out.',
  DPS_UNAVAILABLE: 'DPS answered 5xx or the connection failed until the retry budget ran out.',
  DPS_TIMEOUT: 'DPS did not answer in time until the retry budget ran out.',
  DPS_TLS: "The server's TLS certificate could not be verified.",
  DPS_UNEXPECTED_STATUS: 'DPS answered a status the API does not document (e.g. 413 or 415).',
  DPS_RECEIPT_MISSING: 'DPS accepted the bundle (200) but the body held neither `message` nor `id`.',
  DPS_POSSIBLE_DUPLICATE: 'The bundle was sent again after an attempt whose outcome is unknown; DPS may hold it twice (the latest overwrites).',
  DPS_NOT_SENT: 'The bundle was not sent because an earlier request showed the configuration or credentials are wrong.',
  DPS_CANCELLED: 'The submission was cancelled before DPS accepted the bundle.',
} as const;

/** The closed union of DPS adapter codes. */
export type DpsCode = keyof typeof dpsCodes;

/** One DPS finding: core's {@link Diagnostic} shape with the code drawn from {@link DpsCode}. */
export interface DpsDiagnostic extends Omit<Diagnostic, 'code'> {
  readonly code: DpsCode;
  readonly severity: Severity;
  /** HTTP status of the answer that caused it, when there was one. */
  readonly status?: number;
  /** The `error` field of the answer's JSON body, redacted. */
  readonly serverError?: string;
  /** The `error_description` of a token endpoint answer, redacted. */
  readonly serverDescription?: string;
  /** X-Request-ID of the request concerned. */
  readonly requestId?: string;
}

/** A failure carrying its diagnostic; thrown only inside the adapter and returned to callers as data. */
export class DpsError extends Error {
  constructor(readonly diagnostic: DpsDiagnostic) {
    super(diagnostic.message);
    this.name = 'DpsError';
  }
  get code(): DpsCode {
    return this.diagnostic.code;
  }
}
