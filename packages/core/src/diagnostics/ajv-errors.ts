import type { ErrorObject } from 'ajv';

/**
 * ajv's errors reduced to one of each kind per place: at an instance path where a specific error stands, the
 * noise ones (`isNoise`, e.g. the `oneOf`/`anyOf` summaries) are dropped; repeats of the same keyword and
 * parameters are kept once.
 */
export function distinctSchemaErrors(errors: readonly ErrorObject[], isNoise: (error: ErrorObject) => boolean): ErrorObject[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const error of errors) {
    const list = byPath.get(error.instancePath) ?? [];
    list.push(error);
    byPath.set(error.instancePath, list);
  }
  const kept: ErrorObject[] = [];
  for (const list of byPath.values()) {
    const specific = list.filter((error) => !isNoise(error));
    const chosen = specific.length > 0 ? specific : list;
    const seen = new Set<string>();
    for (const error of chosen) {
      const signature = `${error.keyword}:${JSON.stringify(error.params)}`;
      if (!seen.has(signature)) {
        seen.add(signature);
        kept.push(error);
      }
    }
  }
  return kept;
}
