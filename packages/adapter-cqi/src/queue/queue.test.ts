import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCqiQueue } from './queue.js';

const dirs: string[] = [];
const tempFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'cqi-queue-'));
  dirs.push(dir);
  return join(dir, 'nested', 'queue.sqlite');
};
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('SqliteCqiQueue', () => {
  it('keeps pending cases across a close and reopen of the same file, in order', () => {
    const file = tempFile();
    const first = new SqliteCqiQueue(file);
    first.enqueue({ caseId: 'a', mediaType: 'application/json', body: '{"a":1}' }, 1000);
    first.enqueue({ caseId: 'b', mediaType: 'application/json', body: '{"b":1}' }, 1001);
    first.close();
    const second = new SqliteCqiQueue(file);
    expect(second.due(2000).map((c) => [c.caseId, c.body, c.attempts])).toEqual([['a', '{"a":1}', 0], ['b', '{"b":1}', 0]]);
    second.close();
  });

  it('uses the WAL journal', () => {
    const queue = new SqliteCqiQueue(tempFile());
    expect((queue as unknown as { db: { pragma(p: string, o: object): unknown } }).db.pragma('journal_mode', { simple: true })).toBe('wal');
    queue.close();
  });

  it('replaces a pending case with the same id, but queues it anew once delivered', () => {
    const queue = new SqliteCqiQueue(tempFile());
    const first = queue.enqueue({ caseId: 'a', mediaType: 'application/json', body: 'v1' }, 1);
    const again = queue.enqueue({ caseId: 'a', mediaType: 'application/xml', body: 'v2' }, 2);
    expect(again.id).toBe(first.id);
    expect(queue.list().map((c) => [c.body, c.mediaType])).toEqual([['v2', 'application/xml']]);
    queue.markDelivered(first.id, 3);
    queue.enqueue({ caseId: 'a', mediaType: 'application/json', body: 'v3' }, 4);
    expect(queue.count('pending')).toBe(1);
    expect(queue.count('delivered')).toBe(1);
    queue.close();
  });

  it('holds retried cases until due and keeps rejected ones apart with the reason', () => {
    const queue = new SqliteCqiQueue(tempFile());
    const a = queue.enqueue({ caseId: 'a', mediaType: 'application/json', body: 'a' }, 0);
    const b = queue.enqueue({ caseId: 'b', mediaType: 'application/json', body: 'b' }, 0);
    queue.markRetry(a.id, 500, 'HTTP 503');
    queue.markRejected(b.id, 10, 'CQI011 triage end before start');
    expect(queue.due(499)).toEqual([]);
    expect(queue.due(500)).toMatchObject([{ caseId: 'a', attempts: 1, lastError: 'HTTP 503' }]);
    queue.postpone(800);
    expect(queue.due(799)).toEqual([]);
    expect(queue.due(800).map((c) => c.caseId)).toEqual(['a']);
    expect(queue.list('rejected')).toMatchObject([{ caseId: 'b', lastError: 'CQI011 triage end before start', settledAt: 10 }]);
    queue.close();
  });
});
