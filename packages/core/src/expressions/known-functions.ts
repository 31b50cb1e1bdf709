/**
 * FHIRPath functions fhirpath.js 5 implements, with the numbers of arguments each accepts
 * (from its invocation table), plus the cadmap functions. Used for compile-time checks only.
 */
const fhirpathArities: Readonly<Record<string, readonly number[]>> = {
  resolve: [0], memberOf: [1], empty: [0], not: [0], exists: [0, 1], all: [1], allTrue: [0], anyTrue: [0],
  allFalse: [0], anyFalse: [0], subsetOf: [1], supersetOf: [1], isDistinct: [0], distinct: [0], count: [0],
  where: [1], extension: [1], select: [1], coalesce: [1, 2, 3, 4, 5, 6, 7, 8], sort: [0, 1, 2, 3, 4],
  aggregate: [1, 2], sum: [0], min: [0], max: [0], avg: [0], weight: [0], ordinal: [0], single: [0],
  first: [0], last: [0], type: [0], ofType: [1], is: [1], as: [1], tail: [0], take: [1], skip: [1],
  combine: [1], union: [1], intersect: [1], exclude: [1], iif: [2, 3], trace: [1, 2], defineVariable: [1, 2],
  toInteger: [0], toLong: [0], toDecimal: [0], toString: [0], toDate: [0], toDateTime: [0], toTime: [0],
  toBoolean: [0], toQuantity: [0, 1], hasValue: [0], getValue: [0], htmlChecks: [0], pathname: [0, 1],
  convertsToBoolean: [0], convertsToInteger: [0], convertsToLong: [0], convertsToDecimal: [0],
  convertsToString: [0], convertsToDate: [0], convertsToDateTime: [0], convertsToTime: [0],
  convertsToQuantity: [0], indexOf: [1], lastIndexOf: [1], substring: [1, 2], startsWith: [1], endsWith: [1],
  contains: [1], upper: [0], lower: [0], replace: [2], matches: [1, 2], matchesFull: [1, 2],
  replaceMatches: [2], length: [0], toChars: [0], join: [0, 1], split: [1], trim: [0], encode: [1],
  decode: [1], escape: [1], unescape: [1], abs: [0], ceiling: [0], exp: [0], floor: [0], ln: [0], log: [1],
  power: [1], round: [0, 1], sqrt: [0], truncate: [0], lowBoundary: [0, 1], highBoundary: [0, 1], now: [0],
  today: [0], timeOfDay: [0], yearOf: [0], monthOf: [0], dayOf: [0], hourOf: [0], minuteOf: [0],
  secondOf: [0], millisecondOf: [0], timezoneOffsetOf: [0], dateOf: [0], timeOf: [0], repeat: [1],
  children: [0], descendants: [0],
};

/** Largest number of key parts `ref()` accepts after the rule id. */
export const maxRefKeys = 8;

/** cadmap functions and the numbers of arguments each accepts. */
export const cadmapArities: Readonly<Record<string, readonly number[]>> = {
  dateTime: [0, 1],
  date: [0, 1],
  translate: [1],
  coding: [1],
  nhsNumber: [0],
  isNhsNumber: [0],
  postcode: [0],
  odsCode: [0],
  uuid5: [0],
  ref: Array.from({ length: maxRefKeys }, (_, i) => i + 2),
};

/** Allowed argument counts of a function, or undefined when there is no such function. */
export function functionArities(name: string): readonly number[] | undefined {
  return Object.hasOwn(cadmapArities, name)
    ? cadmapArities[name]
    : Object.hasOwn(fhirpathArities, name)
      ? fhirpathArities[name]
      : undefined;
}

const allNames = [...Object.keys(fhirpathArities), ...Object.keys(cadmapArities)];

/** The known function name closest to `name` (Levenshtein distance, case-insensitive). */
export function closestFunction(name: string): string {
  let best = allNames[0] ?? '';
  let bestDistance = Number.POSITIVE_INFINITY;
  const lower = name.toLowerCase();
  for (const candidate of allNames) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
