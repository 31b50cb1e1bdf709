/** A primitive JSON value as text (for messages); an object, array or nothing as the empty string. */
export function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}
