import { fullUrlsOf, joinKey, uuidV5 } from '../bundle/ids.js';
import type { EvalSink } from '../expressions/types.js';

/** `uuid5()`: the UUIDv5 of the value's text in the mapping namespace. */
export const uuid5 = (value: string, namespace: string): string => uuidV5(value, namespace);

/** The text of one key part: strings as they are, numbers and booleans printed, anything else undefined. */
export function keyPartText(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return undefined;
}

/**
 * `ref('rule', key…)`: the `urn:uuid:` fullUrl the rule's entry for that natural key gets. Each key part is
 * one value; an empty or missing part gives undefined (no reference), without a diagnostic.
 */
export function ref(
  namespace: string,
  ruleId: string,
  resourceType: string,
  keyParts: readonly (readonly unknown[])[],
  sink: EvalSink,
): string | undefined {
  const texts: string[] = [];
  for (const [index, part] of keyParts.entries()) {
    if (part.length > 1) {
      sink.report({
        code: 'MAP_MULTIPLE_VALUES',
        severity: 'error',
        message: `ref('${ruleId}', …): key part ${index + 1} has ${part.length} values; each key part must be one value.`,
        hint: 'Pick one value, e.g. with .first().',
      });
      return undefined;
    }
    const text = keyPartText(part[0]);
    if (text === undefined || text === '') {
      // An empty key means "no such entry" (a patient not conveyed has no destination): the reference is left
      // out. A required reference left out is caught by the checker; a target rule with an empty key reports it.
      return undefined;
    }
    texts.push(text);
  }
  return fullUrlsOf(namespace, resourceType).of(joinKey(texts));
}

