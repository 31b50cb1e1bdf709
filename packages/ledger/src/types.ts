import type { InputSpan, RuleSpan } from '@cadmap/core';

/**
 * Where a source record stands.
 * - `mapping-failed`: the record could not be mapped; nothing was sent.
 * - `held-back`: the bundle failed the conformance check; nothing was sent.
 * - `skipped`: the mapping deliberately built no bundle.
 * - `pending`: mapped and checked, to be sent (not yet sent, or queued again by `requeue`).
 * - `sending`: the intent to send is recorded but no outcome yet. After a crash this means "unknown": the
 *   target may or may not hold it, so the next run sends it again.
 * - `accepted`: the target acknowledged it (a receipt).
 * - `failed`: the target did not accept it (after retries).
 * - `rejected`: accepted, then reported in error later (a DPS error notification over MESH).
 */
export type RecordState = 'mapping-failed' | 'held-back' | 'skipped' | 'pending' | 'sending' | 'accepted' | 'failed' | 'rejected';

export const recordStates: readonly RecordState[] = ['mapping-failed', 'held-back', 'skipped', 'pending', 'sending', 'accepted', 'failed', 'rejected'];

/** Identifies a record: where it is sent, by which mapping, and its natural key in the source. */
export interface RecordIdentity {
  /** The receiving endpoint (e.g. the DPS base URL): the same export sent to integration and production is two records. */
  readonly target: string;
  /** The mapping id. */
  readonly mapping: string;
  /** The source record key (e.g. the CAD incident id). */
  readonly key: string;
}

/** A compact finding kept with a record (mapping or conformance diagnostics). */
export interface LedgerIssue {
  readonly code: string;
  readonly severity: string;
  readonly message: string;
  readonly rule?: RuleSpan;
  readonly input?: InputSpan;
  readonly expression?: string;
}

/** What a run found out about a record before any sending. */
export interface RecordObservation extends RecordIdentity {
  /** The mapping file as given. */
  readonly mappingFile?: string;
  readonly sourceFile?: string;
  readonly source?: InputSpan;
  /** Hash of the raw source content of the record (its lines or element): equal hashes are the same call data. */
  readonly contentHash: string;
  readonly bundleId?: string;
  /** Hash of the bundle as sent. */
  readonly bundleHash?: string;
  /** Mapping and check verdict: `true` passed, `false` failed, absent when not checked. */
  readonly checkOk?: boolean;
  readonly issues?: readonly LedgerIssue[];
  /** The rule that built each bundle entry, in entry order (to trace MESH errors at `Bundle.entry[i]`). */
  readonly rules?: readonly (RuleSpan | null)[];
  /** Data items the bundle fills (e.g. ADS item ids), for reports. */
  readonly filled?: readonly string[];
  /** The state when the record is not to be sent (`mapping-failed`, `held-back`, `skipped`). */
  readonly state?: 'mapping-failed' | 'held-back' | 'skipped';
  readonly at: number;
}

/** A record as the ledger holds it. */
export interface LedgerRecord extends RecordIdentity {
  readonly id: number;
  readonly mappingFile?: string;
  readonly sourceFile?: string;
  readonly source?: InputSpan;
  readonly contentHash: string;
  readonly bundleId?: string;
  readonly bundleHash?: string;
  readonly checkOk?: boolean;
  readonly issues: readonly LedgerIssue[];
  readonly rules: readonly (RuleSpan | null)[];
  readonly filled: readonly string[];
  readonly state: RecordState;
  /** DPS's receipt of the accepted submission, when accepted. */
  readonly receipt?: string;
  /** Content hash of the last accepted submission. */
  readonly acceptedHash?: string;
  readonly firstSeenAt: number;
  readonly updatedAt: number;
}

/** What `observe` decided. */
export interface Observed {
  readonly record: LedgerRecord;
  /** True when the record must be sent: never acknowledged, outcome unknown, failed, or its content changed. */
  readonly send: boolean;
  /** Why (for reports): `new`, `unacknowledged`, `failed`, `changed`, `retry` or `unchanged`. */
  readonly reason: 'new' | 'unacknowledged' | 'failed' | 'changed' | 'retry' | 'unchanged' | 'not-sendable';
  /** The intent written in the same commit, when `observe` was asked to `begin` and the record is to be sent. */
  readonly submission?: number;
}

/** One HTTP attempt within a submission. Times are epoch milliseconds. */
export interface AttemptEntry {
  readonly startedAt: number;
  readonly durationMs?: number;
  readonly requestId?: string;
  readonly status?: number;
  readonly code?: string;
  readonly receipt?: string;
  readonly outcomeUnknown?: boolean;
  readonly error?: string;
}

/** How a submission ended. `abandoned`: a later run found the intent without an outcome (a crash). */
export type SubmissionOutcome = 'accepted' | 'failed' | 'abandoned';

/** One send of a record: the intent, its attempts and its outcome. */
export interface SubmissionEntry {
  readonly id: number;
  readonly recordId: number;
  readonly contentHash: string;
  readonly bundleHash?: string;
  readonly intentAt: number;
  readonly outcome?: SubmissionOutcome;
  readonly outcomeAt?: number;
  readonly receipt?: string;
  readonly correlationId?: string;
  readonly failureCode?: string;
  readonly failureMessage?: string;
  readonly possibleDuplicate: boolean;
  /** A body kept until delivered (outbox use, e.g. a CQI retry queue); absent for DPS submissions. */
  readonly payload?: string;
  readonly attempts: readonly AttemptEntry[];
}

/** A DPS error (from a MESH notification) to link to the record it concerns. */
export interface MeshErrorLink {
  readonly notificationId: string;
  /** Position of the error within its notification (as the notification parser numbers them). */
  readonly index: number;
  readonly code?: string;
  readonly message: string;
  readonly location?: string;
  /** Identifiers the error carries, tried in this order to find the record. */
  readonly receipt?: string;
  readonly bundleId?: string;
  readonly callId?: string;
  readonly receivedAt: number;
}

export interface MeshErrorEntry extends Omit<MeshErrorLink, 'receivedAt'> {
  readonly id: number;
  readonly recordId?: number;
  readonly matchedBy?: 'receipt' | 'bundleId' | 'callId';
  /** The rule that built the entry at fault, when the location names `Bundle.entry[i]`. */
  readonly rule?: RuleSpan;
  readonly receivedAt: number;
}

/** A record with everything that happened to it. */
export interface RecordHistory {
  readonly record: LedgerRecord;
  readonly submissions: readonly SubmissionEntry[];
  readonly meshErrors: readonly MeshErrorEntry[];
}

/** One run of a submitting command: what it read, so a later `resubmit` can read it again. */
export interface RunEntry {
  readonly id: number;
  readonly target: string;
  readonly mapping: string;
  readonly mappingFile: string;
  readonly inputs: readonly string[];
  readonly startedAt: number;
}

export interface RecordFilter {
  readonly target?: string;
  readonly mapping?: string;
  readonly state?: RecordState;
  readonly key?: string;
}

/**
 * The submission ledger: per source record, what was mapped, checked and sent, every attempt and every error
 * reported back, and the state it is in. Every method commits before it returns, so a crash (kill -9) never
 * loses what was recorded; the write-ahead rule is: `beginSubmission` before sending, `finishSubmission` after.
 * Small on purpose, so a queue (the CQI outbox) can run on it: `beginSubmission` with a payload queues,
 * `openSubmissions` lists what is due, `recordAttempt` counts a try, `finishSubmission` settles.
 */
export interface Ledger {
  readonly path: string;
  /**
   * Records (or updates) what a run found about a record and decides whether it must be sent. With `begin`, a
   * record to be sent also gets its intent (as {@link Ledger.beginSubmission}) in the same commit.
   */
  observe(observation: RecordObservation, options?: { readonly begin?: boolean }): Observed;
  /** Writes the intent to send (before sending). A previous intent left open by a crash is closed as `abandoned`. */
  beginSubmission(recordId: number, at: number, options?: { readonly payload?: string; readonly bundleHash?: string }): number;
  /** Adds an attempt to an open submission without settling it (a retry). */
  recordAttempt(submissionId: number, attempt: AttemptEntry): void;
  /** Writes the outcome and the attempts (after sending), and moves the record's state. */
  finishSubmission(
    submissionId: number,
    outcome: {
      readonly outcome: 'accepted' | 'failed';
      readonly at: number;
      readonly receipt?: string;
      readonly correlationId?: string;
      readonly failureCode?: string;
      readonly failureMessage?: string;
      readonly possibleDuplicate?: boolean;
      readonly attempts?: readonly AttemptEntry[];
    },
  ): void;
  /** Submissions with an intent and no outcome, oldest first (after a crash, or an outbox's pending items). */
  openSubmissions(filter?: { readonly target?: string; readonly limit?: number }): SubmissionEntry[];
  /** Marks records to be sent again by the next run (e.g. `failed` ones). Returns how many. */
  requeue(filter: RecordFilter): number;
  /** Links a DPS error to its record (by receipt, bundle id, then call id) and marks the record `rejected`. Idempotent. */
  linkMeshError(error: MeshErrorLink): MeshErrorEntry;
  counts(filter?: Omit<RecordFilter, 'state'>): Record<RecordState, number>;
  /** Counts by state for each (target, mapping) in the ledger. */
  groups(): { readonly target: string; readonly mapping: string; readonly counts: Record<RecordState, number> }[];
  records(filter?: RecordFilter): LedgerRecord[];
  history(filter: RecordFilter): RecordHistory[];
  meshErrors(filter?: { readonly target?: string }): MeshErrorEntry[];
  /** Records the inputs of a run, so `resubmit` can map them again. */
  recordRun(run: Omit<RunEntry, 'id'>): number;
  /** The latest run of each (target, mapping), newest first. */
  latestRuns(): RunEntry[];
  /** Distinct targets in the ledger. */
  targets(): string[];
  schemaVersion(): number;
  close(): void;
}
