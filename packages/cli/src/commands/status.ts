import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openLedger, recordStates, type Ledger, type RecordHistory, type RecordState } from '@cadmap/ledger';
import { exitCodes, UsageError, type CliIo } from '../io.js';

export const statusHelp = `cadmap status [--ledger <file>] [--record <key>] [--target <url>] [--mapping <id>] [--json]

What the submission ledger holds: records by state for each target (DPS endpoint) and mapping, or with
--record the whole history of one record: its source row, content and bundle hashes, check result, every
submission (intent, attempts with request ids and statuses, receipt) and the DPS errors linked from MESH.

States: pending (to send), sending (sent, no answer recorded: resent by the next run), accepted, failed,
rejected (DPS reported errors over MESH), held-back (failed the check), mapping-failed, skipped.
Options:
      --ledger <file>   the ledger (default ./cadmap-ledger.sqlite)
      --json            print JSON
Exit codes: 0 every record accepted, 1 some records are not (yet) accepted, 2 usage (no ledger).`;

/** Opens an existing ledger (never creates one for a read-only command). */
export function openExistingLedger(io: CliIo, file: string | undefined): Ledger {
  const path = resolve(io.cwd, file ?? 'cadmap-ledger.sqlite');
  if (!existsSync(path)) {
    throw new UsageError(`No ledger at ${path}: 'cadmap submit' writes one (--ledger <file> to name it).`);
  }
  return openLedgerOrExplain(path);
}

/** Opens a ledger; a file that is not one (or is from a newer cadmap) is a usage error saying so. */
export function openLedgerOrExplain(path: string): Ledger {
  try {
    return openLedger(path);
  } catch (error) {
    throw new UsageError(`Cannot use ${path} as the submission ledger: ${error instanceof Error ? error.message : String(error)}. Name another file with --ledger.`);
  }
}

const time = (epochMs: number | undefined): string => (epochMs === undefined ? '—' : new Date(epochMs).toISOString());

function describeHistory(history: RecordHistory): string {
  const { record } = history;
  const source = record.source;
  const lines = [
    `record ${record.key} · ${record.state}`,
    `  target ${record.target} · mapping ${record.mapping}${record.mappingFile !== undefined ? ` (${record.mappingFile})` : ''}`,
    `  source ${source?.file ?? record.sourceFile ?? '?'}${source?.row !== undefined ? ` row ${source.row}` : ''}${source?.line !== undefined ? ` (line ${source.line})` : ''}`,
    `  content ${record.contentHash.slice(0, 16)}… · bundle ${record.bundleId ?? '—'} (${record.bundleHash?.slice(0, 16) ?? '—'}…) · check ${record.checkOk === undefined ? 'not run' : record.checkOk ? 'passed' : 'failed'}`,
  ];
  for (const issue of record.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').slice(0, 5)) {
    lines.push(`  ${issue.code}: ${issue.message}${issue.input?.field !== undefined ? ` [${issue.input.field}]` : ''}`);
  }
  for (const submission of history.submissions) {
    lines.push(`  submission ${submission.id}: intent ${time(submission.intentAt)} → ${submission.outcome ?? 'no outcome recorded (sent, answer unknown)'}${submission.outcomeAt !== undefined ? ` at ${time(submission.outcomeAt)}` : ''}${submission.receipt !== undefined ? ` · receipt ${submission.receipt}` : ''}${submission.failureCode !== undefined ? ` · ${submission.failureCode}: ${submission.failureMessage ?? ''}` : ''}${submission.possibleDuplicate ? ' · possible duplicate' : ''}`);
    for (const attempt of submission.attempts) {
      lines.push(`    attempt ${time(attempt.startedAt)} request ${attempt.requestId ?? '—'} → ${attempt.status ?? attempt.code ?? '?'}${attempt.receipt !== undefined ? ` receipt ${attempt.receipt}` : ''}${attempt.outcomeUnknown === true ? ' (connection broke: outcome unknown)' : ''}`);
    }
  }
  for (const error of history.meshErrors) {
    lines.push(`  DPS error (MESH ${error.notificationId} #${error.index}): ${error.code ?? 'error'}: ${error.message}${error.location !== undefined ? ` at ${error.location}` : ''}${error.rule ? ` · rule ${error.rule.ruleId ?? ''} ${error.rule.file}:${error.rule.line}:${error.rule.column}` : ''}`);
  }
  return lines.join('\n');
}

/** `cadmap status`: counts by state, or one record's history. */
export function statusCommand(io: CliIo, argv: readonly string[]): Promise<number> {
  return new Promise((done) => done(status(io, argv)));
}

function status(io: CliIo, argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: { ledger: { type: 'string' }, record: { type: 'string' }, target: { type: 'string' }, mapping: { type: 'string' }, json: { type: 'boolean' } },
  });
  const ledger = openExistingLedger(io, values.ledger);
  try {
    const scope = { ...(values.target !== undefined ? { target: values.target } : {}), ...(values.mapping !== undefined ? { mapping: values.mapping } : {}) };
    if (values.record !== undefined) {
      const histories = ledger.history({ ...scope, key: values.record });
      if (values.json === true) {
        io.stdout.write(`${JSON.stringify(histories, null, 2)}\n`);
      } else if (histories.length === 0) {
        io.stderr.write(`No record '${values.record}' in ${ledger.path}.\n`);
      } else {
        io.stdout.write(`${histories.map(describeHistory).join('\n\n')}\n`);
      }
      return histories.length === 0 ? exitCodes.dataErrors : histories.every((h) => h.record.state === 'accepted') ? exitCodes.ok : exitCodes.dataErrors;
    }
    const groups = ledger.groups().filter((group) => (scope.target === undefined || group.target === scope.target) && (scope.mapping === undefined || group.mapping === scope.mapping));
    const total = Object.fromEntries(recordStates.map((state) => [state, 0])) as Record<RecordState, number>;
    groups.forEach((group) => recordStates.forEach((state) => (total[state] += group.counts[state])));
    const records = recordStates.reduce((sum, state) => sum + total[state], 0);
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ ledger: ledger.path, schemaVersion: ledger.schemaVersion(), records, counts: total, groups, meshErrors: ledger.meshErrors(scope.target !== undefined ? { target: scope.target } : {}).length }, null, 2)}\n`);
    } else {
      const lines = [`ledger ${ledger.path}: ${records} records`];
      for (const group of groups) {
        lines.push(`  ${group.mapping} → ${group.target}`);
        lines.push(`    ${recordStates.filter((state) => group.counts[state] > 0).map((state) => `${state}: ${group.counts[state]}`).join(' · ') || 'no records'}`);
      }
      if (total.sending > 0 || total.pending > 0) {
        lines.push(`${total.sending + total.pending} record(s) not acknowledged: rerun the same 'cadmap submit' to send them (nothing acknowledged is sent twice).`);
      }
      if (total.failed > 0) {
        lines.push(`${total.failed} failed: 'cadmap resubmit --failed' sends them again.`);
      }
      io.stdout.write(`${lines.join('\n')}\n`);
    }
    return records > 0 && total.accepted === records ? exitCodes.ok : exitCodes.dataErrors;
  } finally {
    ledger.close();
  }
}
