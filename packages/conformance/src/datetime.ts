/**
 * Comparison of FHIR date, dateTime, instant and time values with FHIRPath's precision rules
 * (https://hl7.org/fhirpath/N1/#datetime-equality): values are compared component by component from the year
 * down; when one value stops before the other and all the components both have are equal, the comparison is
 * indeterminate (`undefined`), never "equal". Values with times and time zones are compared in UTC.
 */

interface Parsed {
  /** Components present: year, month, day, hour, minute, second (seconds with their fraction). */
  readonly parts: readonly number[];
  /** Offset from UTC in minutes when a time zone is given. */
  readonly offset: number | undefined;
}

const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$/;

function parse(value: string): Parsed | undefined {
  const m = DATE_TIME.exec(value);
  if (m) {
    const parts: number[] = [];
    for (const group of [m[1], m[2], m[3], m[4], m[5], m[6]]) {
      if (group === undefined) {break;}
      parts.push(Number(group));
    }
    const zone = m[7];
    const offset = zone === undefined ? undefined : zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    return { parts, offset };
  }
  const t = TIME.exec(value);
  if (t) {
    const parts = [Number(t[1]), Number(t[2])];
    if (t[3] !== undefined) {parts.push(Number(t[3]));}
    return { parts: [0, 1, 1, ...parts], offset: undefined };
  }
  return undefined;
}

/** Shifts a value with a time and a zone to UTC (components year … second). */
function toUtc(p: Parsed): number[] {
  const [y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0] = p.parts;
  if (p.offset === undefined || p.parts.length < 4) {return [...p.parts];}
  const ms = Date.UTC(y, mo - 1, d, h, mi - p.offset, Math.floor(s), Math.round((s % 1) * 1000));
  const date = new Date(ms);
  const utc = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds() + date.getUTCMilliseconds() / 1000];
  return utc.slice(0, p.parts.length);
}

/**
 * -1, 0 or 1 when `a` is before, equal to or after `b`; `undefined` when the comparison is indeterminate
 * (different precision with equal common components) or either value is not a date, dateTime, instant or time.
 */
export function compareDateTimes(a: string, b: string): -1 | 0 | 1 | undefined {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) {return undefined;}
  const bothZoned = pa.offset !== undefined && pb.offset !== undefined;
  const ca = bothZoned ? toUtc(pa) : [...pa.parts];
  const cb = bothZoned ? toUtc(pb) : [...pb.parts];
  const common = Math.min(ca.length, cb.length);
  for (let i = 0; i < common; i++) {
    const x = ca[i] ?? 0;
    const y = cb[i] ?? 0;
    if (x !== y) {return x < y ? -1 : 1;}
  }
  // Seconds and their fractions count as one precision (FHIRPath); minutes without seconds do not.
  return ca.length === cb.length ? 0 : undefined;
}
