import type { Diagnostic, Severity } from '@cadmap/core';

/** Every code the MESH adapter reports, with its meaning. Codes are stable; add new ones, never rename. */
export const meshCodes = {
  MESH_CONFIGURATION: 'An option is missing or wrong (base URL, mailbox, password, shared key, certificates, chunk size).',
  MESH_TLS: 'The TLS connection failed: the server certificate, the CA bundle, the host name or the client certificate.',
  MESH_AUTH_REJECTED: 'MESH answered 403: a bad or reused token, clock skew over 2 hours, or a mailbox not matching the path.',
  MESH_BAD_REQUEST: 'MESH answered 400: a header or query parameter failed validation.',
  MESH_NOT_FOUND: 'MESH answered 404: no such message (or chunk) in this mailbox.',
  MESH_GONE: 'MESH answered 410: the message expired or was already acknowledged.',
  MESH_SEND_REJECTED: 'MESH answered 417: a business error on send (unknown recipient, workflow not permitted, …).',
  MESH_CHUNK_COMPLETE: 'MESH answered 423: a chunk was posted after the message was complete.',
  MESH_TOO_LARGE: 'MESH answered 413: one request exceeded the size limit.',
  MESH_MESSAGE_TOO_LARGE: 'A message being downloaded grew past maxMessageBytes (after gunzip) or claimed more chunks than MESH allows; it was not stored or acknowledged.',
  MESH_RATE_LIMITED: 'MESH kept answering 425/429 until the retry budget ran out.',
  MESH_UNAVAILABLE: 'MESH answered 5xx, or the connection failed, until the retry budget ran out.',
  MESH_UNEXPECTED_STATUS: 'MESH answered a status or body the API does not document.',
  MESH_TIMEOUT: 'MESH gave no complete answer within the request deadline (or the poll ran past its deadline).',
  MESH_CANCELLED: 'The request was cancelled (the run was stopped).',
  MESH_INVALID_MESSAGE_ID: 'A message id from MESH would change the request path (".", "..", empty) or holds control characters; it was not used.',
  MESH_INVALID_HEADER: 'A header value (subject, local id, file name) cannot be sent over HTTP; refused on this machine, nothing was sent.',
  MESH_EMPTY_MESSAGE: 'The message to send is empty; refused before sending.',
  MESH_RECOVERED: 'An answer was lost, and MESH tracking showed the message was received: it is recorded as sent.',
  MESH_NOTIFICATION_TOO_LARGE: 'A stored DPS notification is larger than cadmap reads for reconciliation; it stays stored and is reported.',
  MESH_NOT_RETRIED: 'The first POST of a send failed without a clear answer; it is never retried automatically because that can duplicate the message.',
  MESH_CHUNK_MISMATCH: 'A downloaded chunk did not carry the expected Mex-Chunk-Range.',
  MESH_STORAGE: 'A downloaded message could not be stored durably, so it was not acknowledged.',
  MESH_REPORT: 'A REPORT message (non-delivery report) arrived about a message this mailbox sent.',
  MESH_NOTIFICATION_UNRECOGNISED: 'A message on a DPS notification workflow matched no configured payload format; it was stored raw.',
  MESH_NOTIFICATION_UNMATCHED: 'A DPS error notification refers to no submission in the receipts.',
  MESH_RECEIPTS_UNREADABLE: 'The submission receipts file could not be read or has malformed lines.',
} as const;

/** The closed union of MESH adapter codes. */
export type MeshCode = keyof typeof meshCodes;

/** One MESH finding: core's {@link Diagnostic} shape with the code drawn from {@link MeshCode}. */
export interface MeshDiagnostic extends Diagnostic<MeshCode> {
  readonly severity: Severity;
  /** HTTP status of the answer that caused it, when there was one. */
  readonly status?: number;
  /** MESH error code from a 417 body (`12`, `17`, …) or a REPORT (`14`). */
  readonly meshErrorCode?: string;
  /** The message concerned. */
  readonly messageId?: string;
}

/** A failure carrying its diagnostic; thrown by client methods so callers can branch on `code`. */
export class MeshError extends Error {
  constructor(readonly diagnostic: MeshDiagnostic) {
    super(diagnostic.message);
    this.name = 'MeshError';
  }
  get code(): MeshCode {
    return this.diagnostic.code;
  }
}
