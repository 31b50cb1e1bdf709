import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** Where a queued case stands. `pending` cases are delivered in the order they were queued. */
export type QueuedState = 'pending' | 'delivered' | 'rejected';

/** One encoded case waiting for (or past) delivery. Times are epoch milliseconds from the injected clock. */
export interface QueuedCase {
  readonly id: number;
  readonly caseId: string;
  readonly mediaType: string;
  readonly body: string;
  readonly state: QueuedState;
  readonly enqueuedAt: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError?: string;
  readonly settledAt?: number;
}

/**
 * The durable outbox of the CQI sender. Small on purpose so another store (e.g. the submission ledger) can replace
 * the SQLite one. Every method commits before it returns: a case enqueued is never lost by a crash or restart.
 */
export interface CqiQueue {
  /** Queues a case; a case already pending under the same caseId is replaced by the newer body (one delivery). */
  enqueue(item: { caseId: string; mediaType: string; body: string }, now: number): QueuedCase;
  /** Pending cases whose next attempt is due, oldest first. */
  due(now: number, limit?: number): QueuedCase[];
  markDelivered(id: number, now: number): void;
  /** Keeps the case pending and counts the attempt. */
  markRetry(id: number, nextAttemptAt: number, error: string): void;
  /** No pending case is tried before `until` (the service is closed: keeps the queue in order while it waits). */
  postpone(until: number): void;
  /** The service refused the case for good; kept for inspection, never retried. */
  markRejected(id: number, now: number, reason: string): void;
  /** Cases in one state (default pending), oldest first. */
  list(state?: QueuedState): QueuedCase[];
  count(state?: QueuedState): number;
  close(): void;
}

interface Row {
  id: number;
  case_id: string;
  media_type: string;
  body: string;
  state: QueuedState;
  enqueued_at: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  settled_at: number | null;
}

const toCase = (row: Row): QueuedCase => ({
  id: row.id,
  caseId: row.case_id,
  mediaType: row.media_type,
  body: row.body,
  state: row.state,
  enqueuedAt: row.enqueued_at,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  ...(row.last_error !== null ? { lastError: row.last_error } : {}),
  ...(row.settled_at !== null ? { settledAt: row.settled_at } : {}),
});

/**
 * The CQI queue in one SQLite file (better-sqlite3, WAL journal, synchronous=FULL so each commit is on disk).
 * Several instances may open the same file, one after another or side by side (SQLite locks).
 */
export class SqliteCqiQueue implements CqiQueue {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') {
      // private from creation: SQLite gives its -wal and -shm files the database file's mode
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600));
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS cqi_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id TEXT NOT NULL,
        media_type TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'rejected')),
        enqueued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        settled_at INTEGER
      );
      CREATE UNIQUE INDEX IF NOT EXISTS cqi_queue_pending_case ON cqi_queue (case_id) WHERE state = 'pending';
      CREATE INDEX IF NOT EXISTS cqi_queue_due ON cqi_queue (state, next_attempt_at, id);
    `);
  }

  enqueue(item: { caseId: string; mediaType: string; body: string }, now: number): QueuedCase {
    const row = this.db
      .prepare<[string, string, string, number, number], Row>(
        `INSERT INTO cqi_queue (case_id, media_type, body, enqueued_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (case_id) WHERE state = 'pending' DO UPDATE SET media_type = excluded.media_type, body = excluded.body, next_attempt_at = excluded.next_attempt_at
         RETURNING *`,
      )
      .get(item.caseId, item.mediaType, item.body, now, now);
    return toCase(row!);
  }

  due(now: number, limit = 100): QueuedCase[] {
    return this.db
      .prepare<[number, number], Row>(`SELECT * FROM cqi_queue WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?`)
      .all(now, limit)
      .map(toCase);
  }

  markDelivered(id: number, now: number): void {
    this.db.prepare(`UPDATE cqi_queue SET state = 'delivered', attempts = attempts + 1, settled_at = ?, last_error = NULL WHERE id = ?`).run(now, id);
  }

  markRetry(id: number, nextAttemptAt: number, error: string): void {
    this.db.prepare(`UPDATE cqi_queue SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`).run(nextAttemptAt, error, id);
  }

  postpone(until: number): void {
    this.db.prepare(`UPDATE cqi_queue SET next_attempt_at = max(next_attempt_at, ?) WHERE state = 'pending'`).run(until);
  }

  markRejected(id: number, now: number, reason: string): void {
    this.db.prepare(`UPDATE cqi_queue SET state = 'rejected', attempts = attempts + 1, settled_at = ?, last_error = ? WHERE id = ?`).run(now, reason, id);
  }

  list(state: QueuedState = 'pending'): QueuedCase[] {
    return this.db.prepare<[QueuedState], Row>(`SELECT * FROM cqi_queue WHERE state = ? ORDER BY id`).all(state).map(toCase);
  }

  count(state: QueuedState = 'pending'): number {
    return this.db.prepare<[QueuedState], { n: number }>(`SELECT count(*) AS n FROM cqi_queue WHERE state = ?`).get(state)!.n;
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}
