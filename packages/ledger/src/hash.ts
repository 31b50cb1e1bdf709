import { createHash } from 'node:crypto';

/**
 * SHA-256 (hex) of a text, or of a value's JSON (object keys in the order given: readers and the mapping engine
 * produce them in a fixed order, so equal content gives equal hashes).
 */
export function hashContent(value: unknown): string {
  return createHash('sha256')
    .update(typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined'), 'utf8')
    .digest('hex');
}
