import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashContent, LedgerSchemaError, latestSchemaVersion, migrate, openLedger, type Ledger, type RecordObservation } from './index.js';

let dir: string;
let ledger: Ledger;
const target = 'https://127.0.0.1:1/ambulance-data-submission';
const rule = { file: 'm.yaml', line: 3, column: 5, ruleId: 'patient' };
const seen = (key: string, content: string, extra: Partial<RecordObservation> = {}): RecordObservation => ({
  target,
  mapping: 'northwind-csv',
  key,
  mappingFile: 'mappings/northwind-csv/mapping.yaml',
  source: { file: 'calls.csv', row: Number(key), line: Number(key) + 1 },
  contentHash: hashContent(content),
  bundleId: `b-${key}`,
  bundleHash: hashContent(`bundle ${content}`),
  checkOk: true,
  rules: [null, rule],
  filled: ['ADS3', 'ADS10'],
  at: 1_000,
  ...extra,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cadmap-ledger-'));
  ledger = openLedger(join(dir, 'ledger.sqlite'));
});
afterEach(() => {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the ledger', () => {
  it('sends new records, skips acknowledged unchanged ones and resends changed ones', () => {
    const first = ledger.observe(seen('1', 'row one'));
    expect(first).toMatchObject({ send: true, reason: 'new', record: { state: 'pending', key: '1', filled: ['ADS3', 'ADS10'], source: { file: 'calls.csv', row: 1 } } });
    const submission = ledger.beginSubmission(first.record.id, 2_000);
    expect(ledger.records({ key: '1' })[0]?.state).toBe('sending');
    ledger.finishSubmission(submission, { outcome: 'accepted', at: 2_100, receipt: 'r-1', attempts: [{ startedAt: 2_000, requestId: 'q-1', status: 200, receipt: 'r-1' }] });
    expect(ledger.records({ key: '1' })[0]).toMatchObject({ state: 'accepted', receipt: 'r-1' });

    expect(ledger.observe(seen('1', 'row one', { at: 3_000 }))).toMatchObject({ send: false, reason: 'unchanged', record: { state: 'accepted' } });
    expect(ledger.observe(seen('1', 'row one, corrected', { at: 4_000 }))).toMatchObject({ send: true, reason: 'changed', record: { state: 'pending' } });

    const [history] = ledger.history({ key: '1' });
    expect(history?.submissions).toHaveLength(1);
    expect(history?.submissions[0]).toMatchObject({ outcome: 'accepted', receipt: 'r-1', attempts: [{ requestId: 'q-1', status: 200 }] });
  });

  it('survives a crash between intent and outcome: the record is sent again and the old intent is closed as abandoned', () => {
    const { record } = ledger.observe(seen('7', 'call seven'));
    ledger.beginSubmission(record.id, 2_000);
    ledger.close();
    ledger = openLedger(join(dir, 'ledger.sqlite'));
    expect(ledger.openSubmissions()).toHaveLength(1);
    expect(ledger.counts().sending).toBe(1);
    const again = ledger.observe(seen('7', 'call seven', { at: 3_000 }));
    expect(again).toMatchObject({ send: true, reason: 'unacknowledged' });
    const second = ledger.beginSubmission(again.record.id, 3_100);
    expect(ledger.openSubmissions().map((s) => s.id)).toEqual([second]);
    ledger.finishSubmission(second, { outcome: 'failed', at: 3_200, failureCode: 'DPS_UNAVAILABLE', failureMessage: 'down', attempts: [{ startedAt: 3_100, status: 500, code: 'DPS_UNAVAILABLE' }] });
    const [history] = ledger.history({ key: '7' });
    expect(history?.submissions.map((s) => s.outcome)).toEqual(['abandoned', 'failed']);
    expect(ledger.observe(seen('7', 'call seven', { at: 4_000 }))).toMatchObject({ send: true, reason: 'failed' });
  });

  it('writes the intent in the same commit as the observation when asked to begin, only for records to send', () => {
    const first = ledger.observe(seen('8', 'eight'), { begin: true });
    expect(first.submission).toEqual(expect.any(Number));
    expect(ledger.openSubmissions().map((s) => s.id)).toEqual([first.submission]);
    expect(ledger.records({ key: '8' })[0]?.state).toBe('sending');
    ledger.finishSubmission(first.submission!, { outcome: 'accepted', at: 2, receipt: 'r-8' });
    const again = ledger.observe(seen('8', 'eight'), { begin: true });
    expect(again).toMatchObject({ send: false, reason: 'unchanged' });
    expect(again.submission).toBeUndefined();
    expect(ledger.openSubmissions()).toEqual([]);
  });

  it('keeps records that are not to be sent with their state and findings, and requeues on request', () => {
    ledger.observe(seen('2', 'bad', { state: 'mapping-failed', checkOk: false, issues: [{ code: 'MAP_DATE_UNPARSEABLE', severity: 'error', message: 'bad date', rule, input: { file: 'calls.csv', row: 2, field: 'CallTime' } }] }));
    ledger.observe(seen('3', 'invalid', { state: 'held-back', checkOk: false }));
    const counts = ledger.counts();
    expect(counts).toMatchObject({ 'mapping-failed': 1, 'held-back': 1, accepted: 0 });
    expect(ledger.records({ state: 'mapping-failed' })[0]?.issues[0]).toMatchObject({ code: 'MAP_DATE_UNPARSEABLE', input: { field: 'CallTime' } });

    const { record } = ledger.observe(seen('4', 'four'));
    const id = ledger.beginSubmission(record.id, 1);
    ledger.finishSubmission(id, { outcome: 'accepted', at: 2, receipt: 'r-4' });
    expect(ledger.observe(seen('4', 'four')).send).toBe(false);
    expect(ledger.requeue({ state: 'accepted' })).toBe(1);
    expect(ledger.observe(seen('4', 'four'))).toMatchObject({ send: true, reason: 'retry' });
    ledger.finishSubmission(ledger.beginSubmission(record.id, 3), { outcome: 'accepted', at: 4, receipt: 'r-4b' });
    expect(ledger.observe(seen('4', 'four')).send).toBe(false);
  });

  it('links MESH errors by receipt, bundle id or call id, to the rule of the entry at fault; idempotently', () => {
    const { record } = ledger.observe(seen('5', 'five'));
    ledger.finishSubmission(ledger.beginSubmission(record.id, 1), { outcome: 'accepted', at: 2, receipt: 'r-5', attempts: [{ startedAt: 1, status: 200, receipt: 'r-5', requestId: 'q' }] });
    const linked = ledger.linkMeshError({ notificationId: 'n1', index: 1, code: 'BUSINESS_RULE', message: 'Patient failed', location: 'Bundle.entry[1].resource', receipt: 'r-5', receivedAt: 10 });
    expect(linked).toMatchObject({ recordId: record.id, matchedBy: 'receipt', rule });
    expect(ledger.linkMeshError({ notificationId: 'n1', index: 1, message: 'again', receivedAt: 11 }).id).toBe(linked.id);
    expect(ledger.records({ key: '5' })[0]?.state).toBe('rejected');
    expect(ledger.linkMeshError({ notificationId: 'n2', index: 1, message: 'by call', callId: 'https://x|5', receivedAt: 12 })).toMatchObject({ matchedBy: 'callId', recordId: record.id });
    expect(ledger.linkMeshError({ notificationId: 'n3', index: 1, message: 'nobody', receipt: 'unknown', receivedAt: 13 }).recordId).toBeUndefined();
    expect(ledger.history({ key: '5' })[0]?.meshErrors).toHaveLength(2);
    expect(ledger.meshErrors()).toHaveLength(3);
    expect(ledger.observe(seen('5', 'five')).send).toBe(false);
  });

  it('serves as an outbox: payloads wait until settled, retries are counted', () => {
    const { record } = ledger.observe(seen('case-1', '{"case":1}'));
    const id = ledger.beginSubmission(record.id, 1, { payload: '{"case":1}' });
    ledger.recordAttempt(id, { startedAt: 1, status: 503, code: 'CQI_UNAVAILABLE' });
    const [open] = ledger.openSubmissions({ target });
    expect(open).toMatchObject({ id, payload: '{"case":1}', attempts: [{ status: 503 }] });
    ledger.finishSubmission(id, { outcome: 'accepted', at: 5 });
    expect(ledger.openSubmissions()).toEqual([]);
    expect(ledger.history({ key: 'case-1' })[0]?.submissions[0]?.payload).toBeUndefined();
  });

  it('records runs so they can be read again', () => {
    ledger.recordRun({ target, mapping: 'a', mappingFile: 'a.yaml', inputs: ['x.csv'], startedAt: 1 });
    ledger.recordRun({ target, mapping: 'a', mappingFile: 'a.yaml', inputs: ['y.csv'], startedAt: 2 });
    expect(ledger.latestRuns()).toEqual([expect.objectContaining({ mapping: 'a', inputs: ['y.csv'] })]);
  });
});

describe('schema migrations', () => {
  it('upgrades a version-1 ledger in place, keeping its records and submissions', () => {
    const file = join(dir, 'old.sqlite');
    const old = new Database(file);
    migrate(old, 1, 1);
    old.prepare(`INSERT INTO records (target, mapping, record_key, content_hash, state, receipt, accepted_hash, first_seen_at, updated_at) VALUES (?, 'm', 'k1', 'h1', 'accepted', 'r1', 'h1', 1, 1)`).run(target);
    old.prepare(`INSERT INTO submissions (record_id, content_hash, intent_at, outcome, outcome_at, receipt) VALUES (1, 'h1', 1, 'accepted', 2, 'r1')`).run();
    old.close();

    const upgraded = openLedger(file);
    try {
      expect(upgraded.schemaVersion()).toBe(latestSchemaVersion);
      expect(latestSchemaVersion).toBeGreaterThan(1);
      expect(upgraded.records()[0]).toMatchObject({ key: 'k1', state: 'accepted', receipt: 'r1', filled: [], rules: [] });
      expect(upgraded.history({ key: 'k1' })[0]?.submissions[0]).toMatchObject({ outcome: 'accepted', attempts: [] });
      expect(upgraded.observe({ target, mapping: 'm', key: 'k1', contentHash: 'h1', at: 3 }).send).toBe(false);
      expect(upgraded.linkMeshError({ notificationId: 'n', index: 1, message: 'm', receipt: 'r1', receivedAt: 4 }).matchedBy).toBe('receipt');
    } finally {
      upgraded.close();
    }
    const rows = new Database(file, { readonly: true });
    expect(rows.prepare('SELECT version FROM ledger_migrations ORDER BY version').all()).toEqual([{ version: 1 }, { version: 2 }]);
    rows.close();
  });

  it('refuses a ledger from a newer cadmap', () => {
    const file = join(dir, 'new.sqlite');
    const db = new Database(file);
    migrate(db, 1);
    db.prepare(`INSERT INTO ledger_migrations (version, name, applied_at) VALUES (99, 'future', 1)`).run();
    db.close();
    expect(() => openLedger(file)).toThrow(LedgerSchemaError);
  });
});
