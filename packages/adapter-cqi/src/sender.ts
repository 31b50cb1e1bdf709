import type { Diagnostic } from '@cadmap/core';
import { emitter, type CqiEvent, type CqiEventListener } from './events.js';
import type { CqiQueue, QueuedCase } from './queue/queue.js';
import type { CqiClient, CqiException } from './transport/client.js';
import type { CqiEncoder } from './wire/encoders.js';

/** What happened to one case. */
export interface CqiCaseOutcome {
  readonly caseId: string;
  /** invalid: not queued (fix it); queued: waiting for the service; delivered; rejected: refused for good. */
  readonly status: 'invalid' | 'queued' | 'delivered' | 'rejected';
  readonly exceptions?: readonly CqiException[];
  readonly diagnostics: readonly Diagnostic[];
}

/** The result of a delivery round. */
export interface FlushReport {
  readonly outcomes: readonly CqiCaseOutcome[];
  /** Cases still pending after the round. */
  readonly pending: number;
  /** Why the round stopped early (service closed, TLS or credentials refused). */
  readonly stoppedBy?: readonly Diagnostic[];
}

export interface CqiSenderOptions {
  readonly client: CqiClient;
  readonly queue: CqiQueue;
  readonly encoder: CqiEncoder;
  /** Epoch milliseconds (default Date.now). */
  readonly now?: () => number;
  /** Delay before the next attempt after `attempts` failures (default: 30 s doubling to 30 min). */
  readonly backoffMs?: (attempts: number) => number;
  /** Told what happens to each case in the queue (never its content), e.g. to log it. */
  readonly onEvent?: CqiEventListener;
}

const defaultBackoff = (attempts: number): number => Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 30 * 60_000);

/**
 * Real-time sending with a durable outbox: each case is validated, encoded and committed to the queue before it is
 * sent, so a crash, restart or closed service never loses it. Cases go out oldest first; a closed or unreachable
 * service stops the round and the cases wait for the next one (`flush`).
 */
export class CqiSender {
  private readonly now: () => number;
  private readonly backoff: (attempts: number) => number;
  private readonly emit: (event: CqiEvent) => void;

  constructor(private readonly options: CqiSenderOptions) {
    this.now = options.now ?? Date.now;
    this.backoff = options.backoffMs ?? defaultBackoff;
    this.emit = emitter(options.onEvent);
  }

  /** Validates, encodes and queues a case, then delivers what is due. An invalid case is reported, not queued. */
  async submit(value: unknown): Promise<{ outcome: CqiCaseOutcome; report: FlushReport }> {
    const queued = this.enqueue(value);
    if (queued.status === 'invalid') {
      return { outcome: queued, report: { outcomes: [], pending: this.options.queue.count() } };
    }
    const report = await this.flush();
    const outcome = report.outcomes.find((o) => o.caseId === queued.caseId) ?? queued;
    return { outcome: { ...outcome, diagnostics: [...queued.diagnostics, ...outcome.diagnostics.filter((d) => !queued.diagnostics.includes(d))] }, report };
  }

  /** Validates, encodes and queues a case without sending it. */
  enqueue(value: unknown): CqiCaseOutcome {
    const encoded = this.options.encoder.encode(value);
    const caseId = (value as { case?: { caseId?: unknown } } | null)?.case?.caseId;
    const id = typeof caseId === 'string' ? caseId : '(no caseId)';
    if (encoded.body === undefined) {
      this.emit({ type: 'invalid', caseId: id, problems: encoded.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal').length });
      return { caseId: id, status: 'invalid', diagnostics: encoded.diagnostics };
    }
    const queued = this.options.queue.enqueue({ caseId: id, mediaType: this.options.encoder.mediaType, body: encoded.body }, this.now());
    this.emit({ type: 'queued', caseId: id, queueId: queued.id, mediaType: queued.mediaType, bytes: Buffer.byteLength(encoded.body) });
    return { caseId: id, status: 'queued', diagnostics: encoded.diagnostics };
  }

  /** Delivers the pending cases that are due, oldest first, until the queue is empty or the service stops answering. */
  async flush(options: { limit?: number; ignoreBackoff?: boolean } = {}): Promise<FlushReport> {
    const { queue, client } = this.options;
    const outcomes: CqiCaseOutcome[] = [];
    let stoppedBy: readonly Diagnostic[] | undefined;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let sent = 0;
    const seen = new Set<number>();
    while (stoppedBy === undefined && sent < limit) {
      const batch = queue.due(options.ignoreBackoff === true ? Number.MAX_SAFE_INTEGER : this.now(), 50).filter((item) => !seen.has(item.id));
      if (batch.length === 0) {
        break;
      }
      for (const item of batch) {
        if (sent >= limit) {
          break;
        }
        seen.add(item.id);
        sent++;
        const result = await client.postCase(item.body, item.mediaType);
        switch (result.kind) {
          case 'accepted':
            queue.markDelivered(item.id, this.now());
            this.emit({ type: 'delivered', caseId: item.caseId, queueId: item.id, status: result.status });
            outcomes.push({ caseId: item.caseId, status: 'delivered', diagnostics: [] });
            break;
          case 'rejected':
            queue.markRejected(item.id, this.now(), result.diagnostics.map((d) => d.message).join(' '));
            this.emit({ type: 'rejected', caseId: item.caseId, queueId: item.id, status: result.status, exceptions: result.exceptions.map((e) => e.code) });
            outcomes.push({ caseId: item.caseId, status: 'rejected', exceptions: result.exceptions, diagnostics: result.diagnostics.map((d) => withCase(d, item)) });
            break;
          case 'refused':
          case 'unknown':
          case 'unavailable': {
            const wait = result.kind === 'unavailable' ? (result.retryAfterMs ?? this.backoff(item.attempts + 1)) : this.backoff(item.attempts + 1);
            queue.markRetry(item.id, this.now() + wait, result.diagnostics.map((d) => d.message).join(' '));
            queue.postpone(this.now() + wait);
            this.emit({ type: 'postponed', caseId: item.caseId, queueId: item.id, reason: result.kind === 'refused' ? 'refused' : 'unavailable', ...('status' in result && result.status !== undefined ? { status: result.status } : {}), attempts: item.attempts + 1, waitMs: wait, nextAttemptAt: this.now() + wait });
            outcomes.push({ caseId: item.caseId, status: 'queued', diagnostics: result.diagnostics.map((d) => withCase(d, item)) });
            stoppedBy = result.diagnostics;
            break;
          }
        }
        if (stoppedBy !== undefined) {
          break;
        }
      }
    }
    return { outcomes, pending: queue.count(), ...(stoppedBy !== undefined ? { stoppedBy } : {}) };
  }
}

function withCase(diagnostic: Diagnostic, item: QueuedCase): Diagnostic {
  return { ...diagnostic, message: `Case ${item.caseId}: ${diagnostic.message}` };
}
