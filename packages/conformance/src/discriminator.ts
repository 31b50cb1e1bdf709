/**
 * Slice discriminator paths (https://hl7.org/fhir/R4/profiling.html#discriminator): a restricted FHIRPath of
 * element names with `resolve()`, `extension('url')` and `ofType(Type)`, optionally starting with `$this`.
 */

export type PathStep =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'resolve' }
  | { readonly kind: 'extension'; readonly url: string }
  | { readonly kind: 'ofType'; readonly type: string };

const parsed = new Map<string, readonly PathStep[] | null>();

/** The steps of a discriminator path, or undefined when it uses something outside the restricted syntax. */
export function discriminatorSteps(path: string): readonly PathStep[] | undefined {
  let steps = parsed.get(path);
  if (steps === undefined) {
    steps = parse(path);
    parsed.set(path, steps);
  }
  return steps ?? undefined;
}

function parse(path: string): PathStep[] | null {
  const steps: PathStep[] = [];
  let i = 0;
  const text = path.trim();
  while (i < text.length) {
    if (text[i] === '.') {
      i++;
      continue;
    }
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\$this/.exec(rest))) {
      i += m[0].length;
    } else if ((m = /^resolve\(\s*\)/.exec(rest))) {
      steps.push({ kind: 'resolve' });
      i += m[0].length;
    } else if ((m = /^extension\(\s*'([^']*)'\s*\)/.exec(rest)) && m[1] !== undefined) {
      steps.push({ kind: 'extension', url: m[1] });
      i += m[0].length;
    } else if ((m = /^ofType\(\s*([A-Za-z][\w.]*)\s*\)/.exec(rest)) && m[1] !== undefined) {
      steps.push({ kind: 'ofType', type: m[1].replace(/^FHIR\./, '') });
      i += m[0].length;
    } else if ((m = /^[A-Za-z_][\w]*(\[x\])?/.exec(rest))) {
      steps.push({ kind: 'name', name: m[0].replace('[x]', '') });
      i += m[0].length;
    } else {
      return null;
    }
  }
  return steps;
}

/** A value found at a discriminator path, with its type where the JSON tells it (resources, choice elements). */
export interface TypedValue {
  readonly value: unknown;
  readonly type: string | undefined;
}

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The values at the steps below `start` (a JSON element). `resolve` follows a Reference to its target resource;
 * a name that is a choice element matches `name` + a type (`content` ⟶ `contentString`).
 */
export function valuesAtSteps(start: TypedValue, steps: readonly PathStep[], resolve: (reference: Json) => Json | undefined): TypedValue[] {
  let current: TypedValue[] = [start];
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s] as PathStep;
    const next: TypedValue[] = [];
    for (const { value, type } of current) {
      if (step.kind === 'ofType') {
        if (type === undefined || type === step.type) {next.push({ value, type: step.type });}
        continue;
      }
      if (!isRecord(value)) {continue;}
      if (step.kind === 'resolve') {
        const target = resolve(value);
        if (target) {next.push({ value: target, type: typeof target['resourceType'] === 'string' ? target['resourceType'] : undefined });}
        continue;
      }
      if (step.kind === 'extension') {
        for (const e of toList(value['extension'])) {if (isRecord(e) && e['url'] === step.url) {next.push({ value: e, type: 'Extension' });}}
        continue;
      }
      const ofType = steps[s + 1]?.kind === 'ofType' ? (steps[s + 1] as { type: string }).type : undefined;
      const direct = value[step.name];
      if (direct !== undefined) {
        for (const v of toList(direct)) {next.push({ value: v, type: isRecord(v) && typeof v['resourceType'] === 'string' ? v['resourceType'] : undefined });}
        continue;
      }
      for (const [key, v] of Object.entries(value)) {
        if (key.length <= step.name.length || !key.startsWith(step.name) || !/[A-Z]/.test(key.charAt(step.name.length))) {continue;}
        const suffix = key.slice(step.name.length);
        const choiceType = primitiveNames.has(suffix) ? suffix.charAt(0).toLowerCase() + suffix.slice(1) : suffix;
        if (ofType !== undefined && ofType !== choiceType) {continue;}
        for (const item of toList(v)) {next.push({ value: item, type: choiceType });}
      }
    }
    current = next;
  }
  return current;
}

const primitiveNames = new Set(['Base64Binary', 'Boolean', 'Canonical', 'Code', 'Date', 'DateTime', 'Decimal', 'Id', 'Instant', 'Integer', 'Markdown', 'Oid', 'PositiveInt', 'String', 'Time', 'UnsignedInt', 'Uri', 'Url', 'Uuid']);

function toList(value: unknown): unknown[] {
  if (value === undefined || value === null) {return [];}
  return Array.isArray(value) ? value : [value];
}
