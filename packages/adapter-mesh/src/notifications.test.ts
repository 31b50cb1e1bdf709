import { describe, expect, it } from 'vitest';
import { defaultOperationOutcomeExtensions, readNotification, type NotificationConfig } from './notifications.js';
import { parseReceipts, reconcile, reconciliationSummary } from './reconcile.js';

const config: NotificationConfig = { workflowIds: ['DPS_ERRORS'] };
const where = { messageId: 'M1', path: '/store/M1.dat' };
const receiptsText = [
  JSON.stringify({ key: 'INC-1', bundleId: 'b-1', status: 'accepted', receipt: 'r-1', source: { file: 'calls.csv', row: 1, line: 2, recordKey: 'INC-1' }, mapping: 'm.yaml', rules: [{ file: 'm.yaml', line: 10, column: 5, ruleId: 'message' }, { file: 'm.yaml', line: 30, column: 5, ruleId: 'patient' }] }),
  'not json',
  JSON.stringify({ key: 'INC-2', bundleId: 'b-2', status: 'accepted', receipt: 'r-2', source: { file: 'calls.csv', row: 2, line: 3, recordKey: 'INC-2' } }),
  '',
].join('\n');

describe('DPS error notifications', () => {
  it('reads JSON, CSV and OperationOutcome payloads with configurable names', () => {
    const json = readNotification(Buffer.from(JSON.stringify({ errors: [{ receiptId: 'r-1', code: 'INVALID', message: 'bad code', location: 'Bundle.entry[1].resource.gender' }] })), config, where);
    expect(json.parsed).toEqual({ format: 'json', errors: [{ index: 1, receipt: 'r-1', code: 'INVALID', message: 'bad code', location: 'Bundle.entry[1].resource.gender' }] });

    const csv = readNotification(Buffer.from('Submission,Text,Code\r\nr-2,"missing, really",REQ\r\n'), { ...config, formats: ['csv'], fields: { receipt: 'Submission', message: 'Text', code: 'Code' } }, where);
    expect(csv.parsed?.errors).toEqual([{ index: 1, receipt: 'r-2', code: 'REQ', message: 'missing, really' }]);

    const outcome = { resourceType: 'OperationOutcome', extension: [{ url: defaultOperationOutcomeExtensions.bundleId, valueString: 'b-2' }], issue: [{ severity: 'error', code: 'invalid', details: { text: 'no time' }, expression: ['Bundle.entry[0].resource.sent'] }] };
    const oo = readNotification(Buffer.from(JSON.stringify(outcome)), config, where);
    expect(oo.parsed).toMatchObject({ format: 'operation-outcome', errors: [{ bundleId: 'b-2', severity: 'error', code: 'invalid', message: 'no time' }] });
  });

  it('reads hostile payloads (null, non-object issues and extensions) without throwing', () => {
    for (const payload of ['null', '5', '"x"', '{"resourceType":"OperationOutcome","issue":[null,5,"x",{"extension":[null,1],"details":null}],"extension":[null]}']) {
      const reading = readNotification(Buffer.from(payload), config, where);
      expect(reading.parsed === undefined ? reading.diagnostics[0]?.code : reading.parsed.format).toMatch(/^(MESH_NOTIFICATION_UNRECOGNISED|operation-outcome)$/);
    }
    const outcome = readNotification(Buffer.from('{"resourceType":"OperationOutcome","issue":[null,{"diagnostics":"kept","extension":[null,{"url":"' + defaultOperationOutcomeExtensions.receipt + '","valueString":"r-9"}]}]}'), config, where);
    expect(outcome.parsed?.errors).toEqual([{ index: 1, message: '' }, { index: 2, message: 'kept', receipt: 'r-9' }]);
  });

  it('reports an unknown payload, never drops it', () => {
    const unknown = readNotification(Buffer.from('%PDF-1.4 something'), config, where);
    expect(unknown.parsed).toBeUndefined();
    expect(unknown.diagnostics[0]).toMatchObject({ code: 'MESH_NOTIFICATION_UNRECOGNISED', messageId: 'M1' });
    expect(unknown.diagnostics[0]?.message).toContain('/store/M1.dat');
    expect(readNotification(Buffer.from('{"errors":"x"}'), { ...config, formats: ['json'] }, where).parsed).toBeUndefined();
  });

  it('reconciles errors to submissions, source rows and the rule of the entry at fault', () => {
    const { receipts, diagnostics } = parseReceipts(receiptsText, 'receipts.ndjson');
    expect(receipts).toHaveLength(2);
    expect(diagnostics.map((d) => d.message)).toEqual(['receipts.ndjson:2: not a receipt line (JSON object with a key).']);
    const result = reconcile(
      [
        { messageId: 'M1', path: 'p1', parsed: { format: 'json', errors: [{ index: 1, receipt: 'r-1', message: 'bad gender', location: 'Bundle.entry[1].resource.gender' }, { index: 2, callId: 'urn:x|INC-2', message: 'late' }, { index: 3, bundleId: 'nope', message: '?' }] } },
      ],
      receipts,
    );
    expect(result.matched.map((m) => [m.matchedBy, m.submission?.key, m.source?.row, m.rule?.ruleId])).toEqual([
      ['receipt', 'INC-1', 1, 'patient'],
      ['callId', 'INC-2', 2, undefined],
    ]);
    expect(result.unmatched).toHaveLength(1);
    expect(result.diagnostics[0]?.code).toBe('MESH_NOTIFICATION_UNMATCHED');
    const summary = reconciliationSummary(result);
    expect(summary).toContain('matched to a submission: 2 · unmatched: 1');
    expect(summary).toContain('record INC-1 · calls.csv row 1 (line 2) record INC-1 · m.yaml:30:5 (rule patient) · receipt r-1 (by receipt)');
  });
});
