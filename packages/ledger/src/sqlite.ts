import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { InputSpan, RuleSpan } from '@cadmap/core';
import { latestSchemaVersion, migrate } from './migrations.js';
import {
  recordStates,
  type AttemptEntry,
  type Ledger,
  type LedgerIssue,
  type LedgerRecord,
  type MeshErrorEntry,
  type MeshErrorLink,
  type Observed,
  type RecordFilter,
  type RecordHistory,
  type RecordObservation,
  type RecordState,
  type RunEntry,
  type SubmissionEntry,
  type SubmissionOutcome,
} from './types.js';

/** Options of {@link openLedger}. */
export interface OpenLedgerOptions {
  /**
   * `full` (default): every commit is on disk before the method returns (survives power loss).
   * `normal`: commits survive a process crash (kill -9) but the last ones may be lost on power loss; faster.
   */
  readonly durability?: 'full' | 'normal';
  /** Epoch milliseconds, for migration records. */
  readonly now?: () => number;
}

interface RecordRow {
  id: number;
  target: string;
  mapping: string;
  record_key: string;
  mapping_file: string | null;
  source_file: string | null;
  source: string | null;
  content_hash: string;
  bundle_id: string | null;
  bundle_hash: string | null;
  check_ok: number | null;
  issues: string;
  rules: string;
  filled: string;
  state: RecordState;
  receipt: string | null;
  accepted_hash: string | null;
  requeued: number;
  first_seen_at: number;
  updated_at: number;
}

interface SubmissionRow {
  id: number;
  record_id: number;
  content_hash: string;
  bundle_hash: string | null;
  intent_at: number;
  outcome: SubmissionOutcome | null;
  outcome_at: number | null;
  receipt: string | null;
  correlation_id: string | null;
  failure_code: string | null;
  failure_message: string | null;
  possible_duplicate: number;
  payload: string | null;
}

interface AttemptRow {
  submission_id: number;
  started_at: number;
  duration_ms: number | null;
  request_id: string | null;
  status: number | null;
  code: string | null;
  receipt: string | null;
  outcome_unknown: number;
  error: string | null;
}

interface MeshErrorRow {
  id: number;
  notification_id: string;
  error_index: number;
  record_id: number | null;
  matched_by: MeshErrorEntry['matchedBy'] | null;
  code: string | null;
  message: string;
  location: string | null;
  receipt: string | null;
  bundle_id: string | null;
  call_id: string | null;
  rule: string | null;
  received_at: number;
}

/** Spreads `{ [name]: value }` only when value is not null, for exactOptionalPropertyTypes. */
function opt<K extends string, V>(name: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

const parseJson = <T>(text: string | null, fallback: T): T => {
  if (text === null) {
    return fallback;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

const toRecord = (row: RecordRow): LedgerRecord => ({
  id: row.id,
  target: row.target,
  mapping: row.mapping,
  key: row.record_key,
  ...opt('mappingFile', row.mapping_file),
  ...opt('sourceFile', row.source_file),
  ...opt('source', parseJson<InputSpan | null>(row.source, null)),
  contentHash: row.content_hash,
  ...opt('bundleId', row.bundle_id),
  ...opt('bundleHash', row.bundle_hash),
  ...opt('checkOk', row.check_ok === null ? null : row.check_ok === 1),
  issues: parseJson<LedgerIssue[]>(row.issues, []),
  rules: parseJson<(RuleSpan | null)[]>(row.rules, []),
  filled: parseJson<string[]>(row.filled, []),
  state: row.state,
  ...opt('receipt', row.receipt),
  ...opt('acceptedHash', row.accepted_hash),
  firstSeenAt: row.first_seen_at,
  updatedAt: row.updated_at,
});

const toAttempt = (row: AttemptRow): AttemptEntry => ({
  startedAt: row.started_at,
  ...opt('durationMs', row.duration_ms),
  ...opt('requestId', row.request_id),
  ...opt('status', row.status),
  ...opt('code', row.code),
  ...opt('receipt', row.receipt),
  ...(row.outcome_unknown === 1 ? { outcomeUnknown: true } : {}),
  ...opt('error', row.error),
});

const toMeshError = (row: MeshErrorRow): MeshErrorEntry => ({
  id: row.id,
  notificationId: row.notification_id,
  index: row.error_index,
  ...opt('recordId', row.record_id),
  ...opt('matchedBy', row.matched_by),
  ...opt('code', row.code),
  message: row.message,
  ...opt('location', row.location),
  ...opt('receipt', row.receipt),
  ...opt('bundleId', row.bundle_id),
  ...opt('callId', row.call_id),
  ...opt('rule', parseJson<RuleSpan | null>(row.rule, null)),
  receivedAt: row.received_at,
});

function where(filter: RecordFilter): { sql: string; params: string[] } {
  const clauses: string[] = [];
  const params: string[] = [];
  for (const [column, value] of [
    ['target', filter.target],
    ['mapping', filter.mapping],
    ['state', filter.state],
    ['record_key', filter.key],
  ] as const) {
    if (value !== undefined) {
      clauses.push(`${column} = ?`);
      params.push(value);
    }
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** The ledger in one SQLite file (better-sqlite3, WAL). Several processes may open it one after another or side by side. */
class SqliteLedger implements Ledger {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(
    readonly path: string,
    options: OpenLedgerOptions,
  ) {
    if (path !== ':memory:') {
      // private from creation: SQLite gives its -wal and -shm files the database file's mode
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600));
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db, (options.now ?? Date.now)());
    const db = this.db;
    this.statements = {
      find: db.prepare<[string, string, string], RecordRow>('SELECT * FROM records WHERE target = ? AND mapping = ? AND record_key = ?'),
      byId: db.prepare<[number], RecordRow>('SELECT * FROM records WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO records (target, mapping, record_key, mapping_file, source_file, source, content_hash, bundle_id, bundle_hash, check_ok, issues, rules, filled, state, first_seen_at, updated_at)
         VALUES (@target, @mapping, @key, @mappingFile, @sourceFile, @source, @contentHash, @bundleId, @bundleHash, @checkOk, @issues, @rules, @filled, @state, @at, @at)`,
      ),
      update: db.prepare(
        `UPDATE records SET mapping_file = @mappingFile, source_file = @sourceFile, source = @source, content_hash = @contentHash, bundle_id = @bundleId, bundle_hash = @bundleHash,
         check_ok = @checkOk, issues = @issues, rules = @rules, filled = @filled, state = @state, updated_at = @at WHERE id = @id`,
      ),
      abandon: db.prepare(`UPDATE submissions SET outcome = 'abandoned', outcome_at = ? WHERE record_id = ? AND outcome IS NULL`),
      intent: db.prepare('INSERT INTO submissions (record_id, content_hash, bundle_hash, intent_at, payload) VALUES (?, ?, ?, ?, ?)'),
      setState: db.prepare('UPDATE records SET state = ?, updated_at = ?, requeued = 0 WHERE id = ?'),
      submission: db.prepare<[number], SubmissionRow>('SELECT * FROM submissions WHERE id = ?'),
      attempt: db.prepare(
        'INSERT INTO attempts (submission_id, started_at, duration_ms, request_id, status, code, receipt, outcome_unknown, error) VALUES (@submissionId, @startedAt, @durationMs, @requestId, @status, @code, @receipt, @outcomeUnknown, @error)',
      ),
      settle: db.prepare(
        'UPDATE submissions SET outcome = @outcome, outcome_at = @at, receipt = @receipt, correlation_id = @correlationId, failure_code = @failureCode, failure_message = @failureMessage, possible_duplicate = @possibleDuplicate, payload = NULL WHERE id = @id',
      ),
      accepted: db.prepare(`UPDATE records SET state = 'accepted', receipt = ?, accepted_hash = ?, updated_at = ? WHERE id = ?`),
      failed: db.prepare(`UPDATE records SET state = 'failed', updated_at = ? WHERE id = ?`),
    };
  }

  observe(observation: RecordObservation, options: { readonly begin?: boolean } = {}): Observed {
    return this.db
      .transaction((): Observed => {
        const existing = this.statements.find.get(observation.target, observation.mapping, observation.key);
        const values = {
          target: observation.target,
          mapping: observation.mapping,
          key: observation.key,
          mappingFile: observation.mappingFile ?? null,
          sourceFile: observation.sourceFile ?? observation.source?.file ?? null,
          source: observation.source === undefined ? null : JSON.stringify(observation.source),
          contentHash: observation.contentHash,
          bundleId: observation.bundleId ?? null,
          bundleHash: observation.bundleHash ?? null,
          checkOk: observation.checkOk === undefined ? null : observation.checkOk ? 1 : 0,
          issues: JSON.stringify(observation.issues ?? []),
          rules: JSON.stringify(observation.rules ?? []),
          filled: JSON.stringify(observation.filled ?? []),
          at: observation.at,
        };
        let decision: Pick<Observed, 'send' | 'reason'>;
        let state: RecordState;
        if (observation.state !== undefined) {
          decision = { send: false, reason: 'not-sendable' };
          state = observation.state;
        } else if (!existing) {
          decision = { send: true, reason: 'new' };
          state = 'pending';
        } else {
          decision = decide(existing, observation.contentHash);
          state = decision.send ? 'pending' : existing.state === 'rejected' ? 'rejected' : 'accepted';
        }
        let id: number;
        if (existing) {
          id = existing.id;
          this.statements.update.run({ ...values, state, id });
        } else {
          id = Number(this.statements.insert.run({ ...values, state }).lastInsertRowid);
        }
        const submission = decision.send && options.begin === true ? this.intend(id, observation.at, {}) : undefined;
        return { record: toRecord(this.statements.byId.get(id)!), ...decision, ...(submission !== undefined ? { submission } : {}) };
      })
      .immediate();
  }

  private intend(recordId: number, at: number, options: { readonly payload?: string; readonly bundleHash?: string }): number {
    const record = this.statements.byId.get(recordId);
    if (!record) {
      throw new RangeError(`No ledger record ${recordId}.`);
    }
    this.statements.abandon.run(at, recordId);
    const id = Number(this.statements.intent.run(recordId, record.content_hash, options.bundleHash ?? record.bundle_hash, at, options.payload ?? null).lastInsertRowid);
    this.statements.setState.run('sending', at, recordId);
    return id;
  }

  beginSubmission(recordId: number, at: number, options: { readonly payload?: string; readonly bundleHash?: string } = {}): number {
    return this.db.transaction((): number => this.intend(recordId, at, options)).immediate();
  }

  recordAttempt(submissionId: number, attempt: AttemptEntry): void {
    this.insertAttempt(submissionId, attempt);
  }

  private insertAttempt(submissionId: number, attempt: AttemptEntry): void {
    this.statements.attempt.run({
      submissionId,
      startedAt: attempt.startedAt,
      durationMs: attempt.durationMs ?? null,
      requestId: attempt.requestId ?? null,
      status: attempt.status ?? null,
      code: attempt.code ?? null,
      receipt: attempt.receipt ?? null,
      outcomeUnknown: attempt.outcomeUnknown === true ? 1 : 0,
      error: attempt.error ?? null,
    });
  }

  finishSubmission(submissionId: number, outcome: Parameters<Ledger['finishSubmission']>[1]): void {
    this.db
      .transaction(() => {
        const submission = this.statements.submission.get(submissionId);
        if (!submission) {
          throw new RangeError(`No ledger submission ${submissionId}.`);
        }
        for (const attempt of outcome.attempts ?? []) {
          this.insertAttempt(submissionId, attempt);
        }
        this.statements.settle.run({
          id: submissionId,
          outcome: outcome.outcome,
          at: outcome.at,
          receipt: outcome.receipt ?? null,
          correlationId: outcome.correlationId ?? null,
          failureCode: outcome.failureCode ?? null,
          failureMessage: outcome.failureMessage ?? null,
          possibleDuplicate: outcome.possibleDuplicate === true ? 1 : 0,
        });
        if (outcome.outcome === 'accepted') {
          this.statements.accepted.run(outcome.receipt ?? null, submission.content_hash, outcome.at, submission.record_id);
        } else {
          this.statements.failed.run(outcome.at, submission.record_id);
        }
      })
      .immediate();
  }

  openSubmissions(filter: { readonly target?: string; readonly limit?: number } = {}): SubmissionEntry[] {
    const rows = this.db
      .prepare<[string | null, string | null, number], SubmissionRow>(
        `SELECT s.* FROM submissions s JOIN records r ON r.id = s.record_id WHERE s.outcome IS NULL AND (? IS NULL OR r.target = ?) ORDER BY s.id LIMIT ?`,
      )
      .all(filter.target ?? null, filter.target ?? null, filter.limit ?? -1);
    return rows.map((row) => this.toSubmission(row));
  }

  requeue(filter: RecordFilter): number {
    const { sql, params } = where(filter);
    return this.db.prepare(`UPDATE records SET requeued = 1 ${sql}`).run(...params).changes;
  }

  linkMeshError(error: MeshErrorLink): MeshErrorEntry {
    return this.db
      .transaction((): MeshErrorEntry => {
        const existing = this.db.prepare<[string, number], MeshErrorRow>('SELECT * FROM mesh_errors WHERE notification_id = ? AND error_index = ?').get(error.notificationId, error.index);
        if (existing) {
          return toMeshError(existing);
        }
        const match = this.matchRecord(error);
        const entry = /^Bundle\.entry\[(\d+)\]/.exec(error.location ?? '');
        const rule = match && entry ? (parseJson<(RuleSpan | null)[]>(match.record.rules, [])[Number(entry[1])] ?? null) : null;
        const id = Number(
          this.db
            .prepare(
              `INSERT INTO mesh_errors (notification_id, error_index, record_id, matched_by, code, message, location, receipt, bundle_id, call_id, rule, received_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(error.notificationId, error.index, match?.record.id ?? null, match?.by ?? null, error.code ?? null, error.message, error.location ?? null, error.receipt ?? null, error.bundleId ?? null, error.callId ?? null, rule === null ? null : JSON.stringify(rule), error.receivedAt).lastInsertRowid,
        );
        const current = match && (match.by !== 'receipt' || match.record.receipt === error.receipt);
        if (match && current && (match.record.state === 'accepted' || match.record.state === 'rejected')) {
          this.db.prepare(`UPDATE records SET state = 'rejected', updated_at = ? WHERE id = ?`).run(error.receivedAt, match.record.id);
        }
        return toMeshError(this.db.prepare<[number], MeshErrorRow>('SELECT * FROM mesh_errors WHERE id = ?').get(id)!);
      })
      .immediate();
  }

  private matchRecord(error: MeshErrorLink): { record: RecordRow; by: NonNullable<MeshErrorEntry['matchedBy']> } | undefined {
    if (error.receipt !== undefined) {
      const row = this.db
        .prepare<[string, string], RecordRow>(
          `SELECT r.* FROM records r WHERE r.id IN (SELECT record_id FROM submissions WHERE receipt = ? UNION SELECT s.record_id FROM attempts a JOIN submissions s ON s.id = a.submission_id WHERE a.receipt = ?) ORDER BY r.updated_at DESC LIMIT 1`,
        )
        .get(error.receipt, error.receipt);
      if (row) {
        return { record: row, by: 'receipt' };
      }
    }
    if (error.bundleId !== undefined && error.bundleId !== '') {
      const row = this.db.prepare<[string], RecordRow>(`SELECT * FROM records WHERE bundle_id = ? AND state IN ('accepted', 'rejected') ORDER BY updated_at DESC LIMIT 1`).get(error.bundleId);
      if (row) {
        return { record: row, by: 'bundleId' };
      }
    }
    if (error.callId !== undefined) {
      const value = error.callId.includes('|') ? error.callId.slice(error.callId.lastIndexOf('|') + 1) : error.callId;
      const row = this.db.prepare<[string, string], RecordRow>(`SELECT * FROM records WHERE record_key IN (?, ?) AND state IN ('accepted', 'rejected') ORDER BY updated_at DESC LIMIT 1`).get(error.callId, value);
      if (row) {
        return { record: row, by: 'callId' };
      }
    }
    return undefined;
  }

  counts(filter: Omit<RecordFilter, 'state'> = {}): Record<RecordState, number> {
    const { sql, params } = where(filter);
    const counts = Object.fromEntries(recordStates.map((state) => [state, 0])) as Record<RecordState, number>;
    for (const row of this.db.prepare<string[], { state: RecordState; n: number }>(`SELECT state, count(*) AS n FROM records ${sql} GROUP BY state`).all(...params)) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  groups(): { target: string; mapping: string; counts: Record<RecordState, number> }[] {
    const groups = new Map<string, { target: string; mapping: string; counts: Record<RecordState, number> }>();
    for (const row of this.db.prepare<[], { target: string; mapping: string; state: RecordState; n: number }>('SELECT target, mapping, state, count(*) AS n FROM records GROUP BY target, mapping, state ORDER BY target, mapping').all()) {
      const id = `${row.target}\u0000${row.mapping}`;
      let group = groups.get(id);
      if (!group) {
        group = { target: row.target, mapping: row.mapping, counts: Object.fromEntries(recordStates.map((state) => [state, 0])) as Record<RecordState, number> };
        groups.set(id, group);
      }
      group.counts[row.state] = row.n;
    }
    return [...groups.values()];
  }

  records(filter: RecordFilter = {}): LedgerRecord[] {
    const { sql, params } = where(filter);
    return this.db.prepare<string[], RecordRow>(`SELECT * FROM records ${sql} ORDER BY id`).all(...params).map(toRecord);
  }

  history(filter: RecordFilter): RecordHistory[] {
    return this.records(filter).map((record) => ({
      record,
      submissions: this.db.prepare<[number], SubmissionRow>('SELECT * FROM submissions WHERE record_id = ? ORDER BY id').all(record.id).map((row) => this.toSubmission(row)),
      meshErrors: this.db.prepare<[number], MeshErrorRow>('SELECT * FROM mesh_errors WHERE record_id = ? ORDER BY id').all(record.id).map(toMeshError),
    }));
  }

  meshErrors(filter: { readonly target?: string } = {}): MeshErrorEntry[] {
    return this.db
      .prepare<[string | null, string | null], MeshErrorRow>('SELECT m.* FROM mesh_errors m LEFT JOIN records r ON r.id = m.record_id WHERE ? IS NULL OR r.target = ? ORDER BY m.id')
      .all(filter.target ?? null, filter.target ?? null)
      .map(toMeshError);
  }

  recordRun(run: Omit<RunEntry, 'id'>): number {
    return Number(this.db.prepare('INSERT INTO runs (target, mapping, mapping_file, inputs, started_at) VALUES (?, ?, ?, ?, ?)').run(run.target, run.mapping, run.mappingFile, JSON.stringify(run.inputs), run.startedAt).lastInsertRowid);
  }

  latestRuns(): RunEntry[] {
    return this.db
      .prepare<[], { id: number; target: string; mapping: string; mapping_file: string; inputs: string; started_at: number }>('SELECT * FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY target, mapping) ORDER BY id DESC')
      .all()
      .map((row) => ({ id: row.id, target: row.target, mapping: row.mapping, mappingFile: row.mapping_file, inputs: parseJson<string[]>(row.inputs, []), startedAt: row.started_at }));
  }

  targets(): string[] {
    return this.db.prepare<[], { target: string }>('SELECT DISTINCT target FROM records ORDER BY target').all().map((row) => row.target);
  }

  schemaVersion(): number {
    return this.db.prepare<[], { v: number }>('SELECT max(version) AS v FROM ledger_migrations').get()?.v ?? 0;
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }

  private toSubmission(row: SubmissionRow): SubmissionEntry {
    return {
      id: row.id,
      recordId: row.record_id,
      contentHash: row.content_hash,
      ...opt('bundleHash', row.bundle_hash),
      intentAt: row.intent_at,
      ...opt('outcome', row.outcome),
      ...opt('outcomeAt', row.outcome_at),
      ...opt('receipt', row.receipt),
      ...opt('correlationId', row.correlation_id),
      ...opt('failureCode', row.failure_code),
      ...opt('failureMessage', row.failure_message),
      possibleDuplicate: row.possible_duplicate === 1,
      ...opt('payload', row.payload),
      attempts: this.db.prepare<[number], AttemptRow>('SELECT * FROM attempts WHERE submission_id = ? ORDER BY id').all(row.id).map(toAttempt),
    };
  }
}

/** Whether a record seen before must be sent again, given its content hash now. */
function decide(existing: RecordRow, contentHash: string): Pick<Observed, 'send' | 'reason'> {
  if (existing.requeued === 1) {
    return { send: true, reason: 'retry' };
  }
  switch (existing.state) {
    case 'accepted':
    case 'rejected':
      return existing.accepted_hash === contentHash ? { send: false, reason: 'unchanged' } : { send: true, reason: 'changed' };
    case 'sending':
      return { send: true, reason: 'unacknowledged' };
    case 'failed':
      return { send: true, reason: 'failed' };
    case 'pending':
    case 'held-back':
    case 'mapping-failed':
    case 'skipped':
      if (existing.accepted_hash === contentHash) {
        return { send: false, reason: 'unchanged' };
      }
      return { send: true, reason: existing.accepted_hash === null ? 'new' : 'changed' };
  }
}

/**
 * Opens (creating and migrating as needed) the ledger at `path`. Throws {@link LedgerSchemaError} for a ledger
 * written by a newer cadmap, and SQLite's error for a file that is not a database.
 */
export function openLedger(path: string, options: OpenLedgerOptions = {}): Ledger {
  return new SqliteLedger(path, options);
}

export { latestSchemaVersion };
