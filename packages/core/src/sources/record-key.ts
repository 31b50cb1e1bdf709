/**
 * The record key at a dotted path (`id`, `Header.IncidentNumber`): first value of a collection, as text; '' when absent.
 * For XML, an element with attributes keeps its text under `textName`.
 */
export function keyAt(record: unknown, path: string, textName?: string): string {
  let value: unknown = record;
  for (const segment of path.split('.')) {
    if (Array.isArray(value)) {
      value = value[0];
    }
    if (typeof value !== 'object' || value === null) {
      return '';
    }
    value = (value as Record<string, unknown>)[segment];
  }
  if (Array.isArray(value)) {
    value = value[0];
  }
  if (textName !== undefined && typeof value === 'object' && value !== null) {
    value = (value as Record<string, unknown>)[textName];
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}
