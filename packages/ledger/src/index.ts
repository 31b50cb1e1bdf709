/**
 * @cadmap/ledger: the durable submission ledger. Per source record: mapping, source file and key, content hash,
 * bundle id and hash, check result, every submission attempt, MESH errors linked, and the current state, in one
 * SQLite file (WAL) with versioned migrations. Results are data; nothing is printed.
 *
 * ```ts
 * const ledger = openLedger('cadmap-ledger.sqlite');
 * const { record, send } = ledger.observe({ target, mapping, key, contentHash: hashContent(raw), at: Date.now() });
 * if (send) { const id = ledger.beginSubmission(record.id, Date.now()); … ledger.finishSubmission(id, { outcome: 'accepted', at, receipt }); }
 * ```
 */
export { hashContent } from './hash.js';
export { currentVersion, LedgerSchemaError, migrate, migrations } from './migrations.js';
export type { Migration } from './migrations.js';
export { latestSchemaVersion, openLedger } from './sqlite.js';
export type { OpenLedgerOptions } from './sqlite.js';
export { recordStates } from './types.js';
export type {
  AttemptEntry,
  Ledger,
  LedgerIssue,
  LedgerRecord,
  MeshErrorEntry,
  MeshErrorLink,
  Observed,
  RecordFilter,
  RecordHistory,
  RecordIdentity,
  RecordObservation,
  RecordState,
  RunEntry,
  SubmissionEntry,
  SubmissionOutcome,
} from './types.js';
