import { createHmac, randomUUID } from 'node:crypto';

/** What an `NHSMESH` Authorization header is computed from. */
export interface MeshAuthInput {
  readonly mailboxId: string;
  readonly password: string;
  /** The environment's shared secret (the same for every environment). */
  readonly sharedKey: string;
  /** Epoch milliseconds; formatted as UTC `yyyyMMddHHmm`. */
  readonly now: number;
  /** A UUID; default a fresh one. */
  readonly nonce?: string;
  /** How many times `nonce` was used before (default 0). */
  readonly nonceCount?: number;
}

/** UTC `yyyyMMddHHmm` of an epoch-milliseconds time. */
export function meshTimestamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 12);
}

/**
 * Builds `NHSMESH <MAILBOX>:<nonce>:<count>:<yyyyMMddHHmm>:<hmac>` (mesh.md §5): HMAC-SHA256 keyed by the shared
 * secret over `MAILBOX:nonce:count:password:timestamp`. The password is never part of the header. A token is valid
 * for one request: call this for every request.
 */
export function meshAuthorization(input: MeshAuthInput): string {
  const mailbox = input.mailboxId.toUpperCase();
  const nonce = input.nonce ?? randomUUID();
  const count = input.nonceCount ?? 0;
  const timestamp = meshTimestamp(input.now);
  const hash = createHmac('sha256', Buffer.from(input.sharedKey, 'utf8')).update(Buffer.from(`${mailbox}:${nonce}:${count}:${input.password}:${timestamp}`, 'utf8')).digest('hex');
  return `NHSMESH ${mailbox}:${nonce}:${count}:${timestamp}:${hash}`;
}
