import type Database from 'better-sqlite3';

/** One schema step. Steps run in order, each in its own transaction, and are recorded in `ledger_migrations`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Every schema step so far. Append new steps; never edit one that has shipped. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'records and submissions',
    sql: `
      CREATE TABLE records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        mapping_file TEXT,
        source_file TEXT,
        source TEXT,
        content_hash TEXT NOT NULL,
        bundle_id TEXT,
        bundle_hash TEXT,
        check_ok INTEGER,
        issues TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL,
        receipt TEXT,
        accepted_hash TEXT,
        first_seen_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (target, mapping, record_key)
      );
      CREATE INDEX records_state ON records (state);
      CREATE TABLE submissions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id INTEGER NOT NULL REFERENCES records (id),
        content_hash TEXT NOT NULL,
        bundle_hash TEXT,
        intent_at INTEGER NOT NULL,
        outcome TEXT CHECK (outcome IN ('accepted', 'failed', 'abandoned')),
        outcome_at INTEGER,
        receipt TEXT,
        correlation_id TEXT,
        failure_code TEXT,
        failure_message TEXT,
        possible_duplicate INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX submissions_record ON submissions (record_id);
      CREATE INDEX submissions_receipt ON submissions (receipt);
    `,
  },
  {
    version: 2,
    name: 'attempts, MESH errors, runs, entry rules, filled items, outbox payloads',
    sql: `
      ALTER TABLE records ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE records ADD COLUMN filled TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE records ADD COLUMN requeued INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE submissions ADD COLUMN payload TEXT;
      CREATE INDEX submissions_open ON submissions (id) WHERE outcome IS NULL;
      CREATE TABLE attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        submission_id INTEGER NOT NULL REFERENCES submissions (id),
        started_at INTEGER NOT NULL,
        duration_ms INTEGER,
        request_id TEXT,
        status INTEGER,
        code TEXT,
        receipt TEXT,
        outcome_unknown INTEGER NOT NULL DEFAULT 0,
        error TEXT
      );
      CREATE INDEX attempts_submission ON attempts (submission_id);
      CREATE INDEX attempts_request ON attempts (request_id);
      CREATE TABLE mesh_errors (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        notification_id TEXT NOT NULL,
        error_index INTEGER NOT NULL,
        record_id INTEGER REFERENCES records (id),
        matched_by TEXT,
        code TEXT,
        message TEXT NOT NULL,
        location TEXT,
        receipt TEXT,
        bundle_id TEXT,
        call_id TEXT,
        rule TEXT,
        received_at INTEGER NOT NULL,
        UNIQUE (notification_id, error_index)
      );
      CREATE INDEX mesh_errors_record ON mesh_errors (record_id);
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        mapping_file TEXT NOT NULL,
        inputs TEXT NOT NULL,
        started_at INTEGER NOT NULL
      );
    `,
  },
];

export const latestSchemaVersion = migrations[migrations.length - 1]!.version;

/** The schema version of an open database (0 when it has no ledger tables yet). */
export function currentVersion(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS ledger_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  return db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM ledger_migrations').get()?.v ?? 0;
}

/**
 * Brings a database up to `target` (default: the latest). Each step and its record commit together, so a crash
 * mid-upgrade leaves the database at the previous version. A database newer than this code is refused.
 */
export function migrate(db: Database.Database, now: number, target: number = latestSchemaVersion): { from: number; to: number } {
  const from = currentVersion(db);
  if (from > latestSchemaVersion) {
    throw new LedgerSchemaError(`The ledger's schema is version ${from}, newer than this cadmap understands (${latestSchemaVersion}).`);
  }
  for (const step of migrations) {
    if (step.version <= from || step.version > target) {
      continue;
    }
    db.transaction(() => {
      db.exec(step.sql);
      db.prepare('INSERT INTO ledger_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(step.version, step.name, now);
    }).immediate();
  }
  return { from, to: Math.max(from, Math.min(target, latestSchemaVersion)) };
}

/** The ledger file cannot be used (newer schema, not a ledger). */
export class LedgerSchemaError extends Error {}
