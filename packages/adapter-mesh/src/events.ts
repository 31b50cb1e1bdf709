import type { MeshCode } from './codes.js';
import { eventEmitter } from '@cadmap/core/net';

/**
 * What a MESH client is doing, for logs: each request and its answer, retries, messages listed, downloaded,
 * acknowledged and sent. Events never carry secrets (no Authorization token, password, shared key or TLS key)
 * nor message content: only methods, paths (no host), message ids, file names, sizes, statuses and timings.
 */
export type MeshEvent =
  /** A request goes out; `attempt` counts from 1 for each logical call. `bytes`: the body as sent. */
  | { readonly type: 'request'; readonly method: string; readonly path: string; readonly attempt: number; readonly messageId?: string; readonly bytes?: number }
  /** MESH answered. */
  | { readonly type: 'response'; readonly method: string; readonly path: string; readonly attempt: number; readonly status: number; readonly durationMs: number; readonly messageId?: string }
  /** The request got no answer (`cause`: the error code, e.g. ECONNRESET). */
  | { readonly type: 'network-failure'; readonly method: string; readonly path: string; readonly attempt: number; readonly code: MeshCode; readonly cause: string; readonly durationMs: number }
  /** The client waits and tries again: after a retryable status, a network failure, or a download that broke off. */
  | { readonly type: 'retry'; readonly method: string; readonly path: string; readonly attempt: number; readonly waitMs: number; readonly reason: 'status' | 'network' | 'download-broken'; readonly status?: number }
  /** One page of the inbox was listed. */
  | { readonly type: 'inbox'; readonly messages: number; readonly approxInboxCount?: number; readonly more: boolean }
  /** A message was downloaded in full (not yet acknowledged). */
  | {
      readonly type: 'downloaded';
      readonly messageId: string;
      readonly messageType: string;
      readonly workflowId?: string;
      readonly fileName?: string;
      readonly localId?: string;
      readonly chunks: number;
      readonly bytes: number;
    }
  | { readonly type: 'acknowledged'; readonly messageId: string }
  /** A message was sent (every chunk accepted). */
  | { readonly type: 'sent'; readonly messageId: string; readonly to: string; readonly workflowId: string; readonly fileName?: string; readonly localId?: string; readonly chunks: number; readonly bytes: number };

/** Receives {@link MeshEvent}s. Exceptions it throws are ignored: logging never changes what the client does. */
export type MeshEventListener = (event: MeshEvent) => void;

/** A request path fit for logs: absolute URLs lose their origin (and any user info). */
export function loggablePath(path: string): string {
  return path.replace(/^https?:\/\/[^/]*/, '');
}

/** The first error code in an error's cause chain (e.g. ECONNRESET), or its name. */
export function errorCause(error: unknown): string {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      return code;
    }
  }
  return error instanceof Error ? error.name : 'unknown';
}

/** Calls the listener, if any, shielding the client from its exceptions. */
export const emitter = (listener: MeshEventListener | undefined): ((event: MeshEvent) => void) => eventEmitter(listener);
