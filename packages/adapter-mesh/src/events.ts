import { eventEmitter, type TransportEvent } from '@cadmap/transport';

/**
 * What a MESH client is doing, for logs: each request and its answer, retries, messages listed, downloaded,
 * acknowledged and sent. Events never carry secrets (no Authorization token, password, shared key or TLS key)
 * nor message content: only methods, paths (no host), message ids, file names, sizes, statuses and timings.
 */
export type MeshEvent =
  /** The transport's events for each request (`request`, `response`, `network-failure`, `retry`), with `service: 'mesh'`. */
  | (TransportEvent & { readonly service: 'mesh' })
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

/** Calls the listener, if any, shielding the client from its exceptions. */
export const emitter = (listener: MeshEventListener | undefined): ((event: MeshEvent) => void) => eventEmitter(listener);
