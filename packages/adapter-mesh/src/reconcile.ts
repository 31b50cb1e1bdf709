import { readFile } from 'node:fs/promises';
import type { InputSpan, RuleSpan } from '@cadmap/core';
import type { MeshDiagnostic } from './codes.js';
import type { NotificationError } from './notifications.js';
import type { ReadNotification } from './stored-notifications.js';

/** One line of the receipts NDJSON `cadmap submit` writes (fields cadmap reads; others are kept in `raw`). */
export interface ReceiptRecord {
  /** Natural key of the source record (the CAD call). */
  readonly key: string;
  readonly bundleId?: string;
  readonly status?: string;
  /** DPS's submission id. */
  readonly receipt?: string;
  readonly correlationId?: string;
  /** Where the record came from. */
  readonly source?: InputSpan;
  /** The mapping file. */
  readonly mapping?: string;
  /** The rule that built each bundle entry, in entry order. */
  readonly rules?: readonly (RuleSpan | null)[];
  /** 1-based line in the receipts file. */
  readonly line: number;
}

/** Parses receipts NDJSON; malformed lines are reported, not dropped silently. */
export function parseReceipts(textContent: string, file: string): { receipts: ReceiptRecord[]; diagnostics: MeshDiagnostic[] } {
  const receipts: ReceiptRecord[] = [];
  const diagnostics: MeshDiagnostic[] = [];
  textContent.split('\n').forEach((raw, position) => {
    if (raw.trim() === '') {
      return;
    }
    try {
      const value = JSON.parse(raw) as Partial<ReceiptRecord>;
      if (typeof value !== 'object' || value === null || typeof value.key !== 'string') {
        throw new Error('no key');
      }
      receipts.push({ ...value, key: value.key, line: position + 1 });
    } catch {
      diagnostics.push({ code: 'MESH_RECEIPTS_UNREADABLE', severity: 'warning', message: `${file}:${position + 1}: not a receipt line (JSON object with a key).`, hint: 'Receipts are written by `cadmap submit --receipts`; do not edit them by hand.' });
    }
  });
  return { receipts, diagnostics };
}

export async function readReceipts(path: string): Promise<{ receipts: ReceiptRecord[]; diagnostics: MeshDiagnostic[] }> {
  try {
    return parseReceipts(await readFile(path, 'utf8'), path);
  } catch (error) {
    return { receipts: [], diagnostics: [{ code: 'MESH_RECEIPTS_UNREADABLE', severity: 'error', message: `The receipts file ${path} could not be read: ${error instanceof Error ? error.message : String(error)}`, hint: 'Point --receipts (mesh.receipts) at the file `cadmap submit` wrote (default dps-receipts.ndjson).' }] };
  }
}

/** One notified error and the submission (and source record and rule) it belongs to, when found. */
export interface ReconciledError {
  readonly notificationId: string;
  /** Where the notification is stored. */
  readonly notificationPath: string;
  readonly error: NotificationError;
  readonly status: 'matched' | 'unmatched';
  readonly matchedBy?: 'receipt' | 'bundleId' | 'callId';
  readonly submission?: ReceiptRecord;
  readonly source?: InputSpan;
  readonly mapping?: string;
  /** The rule that built the entry at fault, when the location names `Bundle.entry[i]`. */
  readonly rule?: RuleSpan;
}

export interface Reconciliation {
  readonly matched: readonly ReconciledError[];
  readonly unmatched: readonly ReconciledError[];
  readonly diagnostics: readonly MeshDiagnostic[];
}

/** A stored notification that was read. */

/**
 * Joins each notified error to its submission by receipt id, then bundle id, then call identifier (the record key,
 * or the value part of a `system|value` identifier); the latest receipt wins when a call was sent more than once.
 */
export function reconcile(notifications: readonly ReadNotification[], receipts: readonly ReceiptRecord[]): Reconciliation {
  const byReceipt = new Map<string, ReceiptRecord>();
  const byBundle = new Map<string, ReceiptRecord>();
  const byCall = new Map<string, ReceiptRecord>();
  for (const receipt of receipts) {
    if (receipt.receipt !== undefined) {
      byReceipt.set(receipt.receipt, receipt);
    }
    if (receipt.bundleId !== undefined && receipt.status !== 'failed') {
      byBundle.set(receipt.bundleId, receipt);
    }
    if (receipt.status !== 'failed') {
      byCall.set(receipt.key, receipt);
    }
  }
  const matched: ReconciledError[] = [];
  const unmatched: ReconciledError[] = [];
  const diagnostics: MeshDiagnostic[] = [];
  for (const notification of notifications) {
    for (const error of notification.parsed.errors) {
      const callValue = error.callId?.includes('|') === true ? error.callId.slice(error.callId.lastIndexOf('|') + 1) : error.callId;
      const candidates: [ReconciledError['matchedBy'], ReceiptRecord | undefined][] = [
        ['receipt', error.receipt === undefined ? undefined : byReceipt.get(error.receipt)],
        ['bundleId', error.bundleId === undefined ? undefined : byBundle.get(error.bundleId)],
        ['callId', error.callId === undefined ? undefined : (byCall.get(error.callId) ?? (callValue === undefined ? undefined : byCall.get(callValue)))],
      ];
      const hit = candidates.find(([, receipt]) => receipt !== undefined);
      const base = { notificationId: notification.messageId, notificationPath: notification.path, error };
      if (!hit?.[1] || hit[0] === undefined) {
        unmatched.push({ ...base, status: 'unmatched' });
        diagnostics.push({
          code: 'MESH_NOTIFICATION_UNMATCHED',
          severity: 'warning',
          messageId: notification.messageId,
          message: `Error ${error.index} of notification ${notification.messageId} (${[error.receipt && `receipt ${error.receipt}`, error.bundleId && `bundle ${error.bundleId}`, error.callId && `call ${error.callId}`].filter(Boolean).join(', ') || 'no identifiers'}) matches no submission in the receipts.`,
          hint: 'Check the receipts file covers that submission run, and that mesh.notifications.fields names the identifier columns.',
        });
        continue;
      }
      const submission = hit[1];
      const entry = /^Bundle\.entry\[(\d+)\]/.exec(error.location ?? '');
      const rule = entry ? (submission.rules?.[Number(entry[1])] ?? undefined) : undefined;
      matched.push({
        ...base,
        status: 'matched',
        matchedBy: hit[0],
        submission,
        ...(submission.source !== undefined ? { source: submission.source } : {}),
        ...(submission.mapping !== undefined ? { mapping: submission.mapping } : {}),
        ...(rule !== undefined ? { rule } : {}),
      });
    }
  }
  return { matched, unmatched, diagnostics };
}

const where = (span: InputSpan | undefined): string => (span === undefined ? 'source unknown' : `${span.file}${span.row !== undefined ? ` row ${span.row}` : ''}${span.line !== undefined ? ` (line ${span.line})` : ''}${span.recordKey !== undefined ? ` record ${span.recordKey}` : ''}`);

/** A human summary: each error next to its source row and mapping rule. */
export function reconciliationSummary(result: Reconciliation): string {
  const lines = [`DPS errors: ${result.matched.length + result.unmatched.length} · matched to a submission: ${result.matched.length} · unmatched: ${result.unmatched.length}`];
  for (const item of result.matched) {
    const rule = item.rule ? `${item.rule.file}:${item.rule.line}:${item.rule.column}${item.rule.ruleId !== undefined ? ` (rule ${item.rule.ruleId})` : ''}` : (item.mapping ?? 'mapping unknown');
    lines.push(`  ${item.error.code ?? 'error'}: ${item.error.message}${item.error.location !== undefined ? ` at ${item.error.location}` : ''}`);
    lines.push(`    record ${item.submission?.key ?? '?'} · ${where(item.source)} · ${rule} · receipt ${item.submission?.receipt ?? '?'} (by ${item.matchedBy ?? '?'})`);
  }
  for (const item of result.unmatched) {
    lines.push(`  unmatched: ${item.error.code ?? 'error'}: ${item.error.message} (notification ${item.notificationId}, error ${item.error.index})`);
  }
  return lines.join('\n');
}
