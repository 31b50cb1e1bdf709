import type { EvalSink } from '../expressions/types.js';

/** Local date and time fields read from a source value. */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** Present when the pattern has a time part (HH). */
  readonly hour?: number;
  readonly minute?: number;
  readonly second?: number;
  readonly millisecond?: number;
}

/** A compiled date pattern: parses text into local fields, or returns undefined. */
export type DateParser = (text: string) => LocalDateTime | undefined;

type Segment =
  | { readonly kind: 'field'; readonly field: FieldName; readonly width: number }
  | { readonly kind: 'literal'; readonly text: string };

type FieldName = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'millisecond';

const tokens: readonly (readonly [string, FieldName])[] = [
  ['yyyy', 'year'],
  ['SSS', 'millisecond'],
  ['MM', 'month'],
  ['dd', 'day'],
  ['HH', 'hour'],
  ['mm', 'minute'],
  ['ss', 'second'],
];

const parserCache = new Map<string, { parser?: DateParser; error?: string }>();

/**
 * Compiles a date pattern (tokens `yyyy MM dd HH mm ss SSS`, text in single quotes, `''` for a quote,
 * other non-letters literal) into a parser that reads the text once without regular expressions.
 * Returns an error text for unknown letters or a pattern without `yyyy`, `MM` and `dd`.
 */
export function compileDatePattern(pattern: string): { parser?: DateParser; error?: string } {
  const cached = parserCache.get(pattern);
  if (cached) {
    return cached;
  }
  const result = buildParser(pattern);
  parserCache.set(pattern, result);
  return result;
}

function buildParser(pattern: string): { parser?: DateParser; error?: string } {
  const segments: Segment[] = [];
  const seen = new Set<FieldName>();
  let literal = '';
  let i = 0;
  const flushLiteral = (): void => {
    if (literal !== '') {
      segments.push({ kind: 'literal', text: literal });
      literal = '';
    }
  };
  outer: while (i < pattern.length) {
    const ch = pattern[i] ?? '';
    if (ch === "'") {
      if (pattern[i + 1] === "'") {
        literal += "'";
        i += 2;
        continue;
      }
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) {
        return { error: `unterminated quoted text in date pattern "${pattern}"` };
      }
      literal += pattern.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    for (const [token, field] of tokens) {
      if (pattern.startsWith(token, i)) {
        if (seen.has(field)) {
          return { error: `date pattern "${pattern}" has ${token} twice` };
        }
        seen.add(field);
        flushLiteral();
        segments.push({ kind: 'field', field, width: token.length });
        i += token.length;
        continue outer;
      }
    }
    if (/[A-Za-z]/.test(ch)) {
      return {
        error: `date pattern "${pattern}" has an unknown letter '${ch}' at position ${i + 1} (tokens: yyyy MM dd HH mm ss SSS; quote literal text)`,
      };
    }
    literal += ch;
    i += 1;
  }
  flushLiteral();
  if (!seen.has('year') || !seen.has('month') || !seen.has('day')) {
    return { error: `date pattern "${pattern}" needs yyyy, MM and dd` };
  }
  if ((seen.has('minute') || seen.has('second') || seen.has('millisecond')) && !seen.has('hour')) {
    return { error: `date pattern "${pattern}" has minutes or seconds without HH` };
  }
  return { parser: generateParser(segments, seen.has('hour'), seen.has('millisecond')) };
}

/**
 * A pattern compiled to straight-line code: the text's length checked first (every token and literal has a
 * fixed width), then each literal character compared and each digit read by its position. Only numbers
 * (positions, character codes) and the fixed field names reach the code; the pattern's text never does.
 */
function generateParser(segments: readonly Segment[], hasTime: boolean, hasMilliseconds: boolean): DateParser {
  const lines: string[] = [];
  let position = 0;
  for (const segment of segments) {
    if (segment.kind === 'literal') {
      for (let k = 0; k < segment.text.length; k++) {
        lines.push(`if (text.charCodeAt(${position++}) !== ${segment.text.charCodeAt(k)}) return undefined;`);
      }
      continue;
    }
    for (let k = 0; k < segment.width; k++) {
      lines.push(`c = text.charCodeAt(${position++}) - 48;`, 'if (!(c >= 0 && c <= 9)) return undefined;', `${segment.field} = ${segment.field} * 10 + c;`);
    }
  }
  const fields = hasMilliseconds ? 'year, month, day, hour, minute, second, millisecond' : hasTime ? 'year, month, day, hour, minute, second' : 'year, month, day';
  const body = [
    `if (text.length !== ${position}) return undefined;`,
    'let c, year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millisecond = 0;',
    ...lines,
    'if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || year < 1) return undefined;',
    ...(hasTime ? ['if (hour > 23 || minute > 59 || second > 59) return undefined;'] : []),
    `return { ${fields} };`,
  ];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- only numbers and fixed field names are embedded
  const factory = new Function('daysInMonth', `'use strict';\nreturn function parseDate(text) {\n${body.join('\n')}\n};`) as (days: typeof daysInMonth) => DateParser;
  return factory(daysInMonth);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True when `timeZone` is an IANA zone name this runtime knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  let known = knownTimeZones.get(timeZone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
      known = true;
    } catch {
      known = false;
    }
    knownTimeZones.set(timeZone, known);
  }
  return known;
}

/** Answers by zone name: building a formatter to find out costs about as much as parsing an expression. */
const knownTimeZones = new Map<string, boolean>();

const hourMs = 3_600_000;
const dayMs = 86_400_000;

/**
 * Offsets (ms east of UTC) of one IANA zone, computed with Intl (slow) and cached per UTC hour and per
 * local hour, so a conversion costs a Map lookup in the common case. Independent of the process TZ.
 */
class ZoneOffsets {
  private readonly format: Intl.DateTimeFormat;
  private readonly byUtcHour = new Map<number, number>();
  private readonly byLocalHour = new Map<number, number>();

  constructor(timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
  }

  /** Offset of the zone at a UTC instant. Cached per UTC hour (zone transitions fall on whole hours of UTC in practice; see offsetAtExact). */
  offsetAt(instant: number): number {
    const key = Math.floor(instant / hourMs);
    let offset = this.byUtcHour.get(key);
    if (offset === undefined) {
      const start = this.offsetAtExact(key * hourMs);
      const end = this.offsetAtExact(key * hourMs + hourMs - 1);
      if (start !== end) {
        return this.offsetAtExact(instant);
      }
      offset = start;
      if (this.byUtcHour.size > 200_000) {
        this.byUtcHour.clear();
      }
      this.byUtcHour.set(key, offset);
    }
    return offset;
  }

  private offsetAtExact(instant: number): number {
    const values = new Map<string, string>();
    for (const part of this.format.formatToParts(new Date(instant))) {
      values.set(part.type, part.value);
    }
    const field = (name: string): number => Number(values.get(name) ?? 0);
    const year = field('year');
    const era = values.get('era');
    const bc = era === 'BC' || era === 'B';
    const [month, day, hour, minute, second] = [field('month'), field('day'), field('hour'), field('minute'), field('second')];
    const wall = utcWall(bc ? 1 - year : year, month, day, hour, minute, second, 0);
    const flooredInstant = instant - (((instant % 1000) + 1000) % 1000);
    return wall - flooredInstant;
  }

  /**
   * Resolves a local wall time (expressed as ms since epoch as if it were UTC) to its possible offsets:
   * one (normal), two (autumn overlap, larger offset first) or none (spring gap; then `before`/`after`).
   */
  resolve(wall: number): Resolution {
    const key = Math.floor(wall / hourMs);
    const cached = this.byLocalHour.get(key);
    if (cached !== undefined) {
      return { kind: 'single', offset: cached };
    }
    const startHour = this.resolveExact(key * hourMs);
    const endHour = this.resolveExact(key * hourMs + hourMs - 1);
    if (startHour.kind === 'single' && endHour.kind === 'single' && startHour.offset === endHour.offset) {
      if (this.byLocalHour.size > 200_000) {
        this.byLocalHour.clear();
      }
      this.byLocalHour.set(key, startHour.offset);
      return startHour;
    }
    return this.resolveExact(wall);
  }

  private resolveExact(wall: number): Resolution {
    const before = this.offsetAt(wall - dayMs);
    const after = this.offsetAt(wall + dayMs);
    const candidates: number[] = [];
    for (const offset of before === after ? [before] : [before, after]) {
      if (this.offsetAt(wall - offset) === offset) {
        candidates.push(offset);
      }
    }
    if (candidates.length === 0 && before === after) {
      // A transition neither a day before nor after: fall back to the offset at the naive instant.
      const offset = this.offsetAt(wall - before);
      return { kind: 'single', offset };
    }
    if (candidates.length === 1) {
      return { kind: 'single', offset: candidates[0] ?? 0 };
    }
    if (candidates.length === 2) {
      const [a = 0, b = 0] = candidates;
      return { kind: 'overlap', earlier: Math.max(a, b), later: Math.min(a, b) };
    }
    return { kind: 'gap', before, after };
  }
}

type Resolution =
  | { readonly kind: 'single'; readonly offset: number }
  | { readonly kind: 'overlap'; readonly earlier: number; readonly later: number }
  | { readonly kind: 'gap'; readonly before: number; readonly after: number };

const zones = new Map<string, ZoneOffsets>();

function zoneOffsets(timeZone: string): ZoneOffsets {
  let zone = zones.get(timeZone);
  if (!zone) {
    zone = new ZoneOffsets(timeZone);
    zones.set(timeZone, zone);
  }
  return zone;
}

/** Milliseconds since the epoch of a wall time read as UTC (proleptic Gregorian; integer arithmetic, no Date). */
function utcWall(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millisecond: number,
): number {
  // Days from civil (H. Hinnant): March-based years make leap days fall at the end.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  const days = era * 146_097 + dayOfEra - 719_468;
  return days * dayMs + hour * hourMs + minute * 60_000 + second * 1000 + millisecond;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));
const pad4 = (n: number): string => (n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : String(n));

/** The six character codes of `formatOffset(offsetMs)`, by offset. */
const offsetCodes = new Map<number, readonly number[]>();
function offsetCodesOf(offsetMs: number): readonly number[] {
  let codes = offsetCodes.get(offsetMs);
  if (codes === undefined) {
    const text = formatOffset(offsetMs);
    codes = Array.from(text, (character) => character.charCodeAt(0));
    offsetCodes.set(offsetMs, codes);
  }
  return codes;
}

/** Character code of the decimal digit of `n` at `unit` (1000, 100, 10 or 1). */
const digit = (n: number, unit: number): number => 48 + (Math.floor(n / unit) % 10);

/**
 * `yyyy-MM-dd` for a date the parser read (year 1–9999), built as one flat string: a template literal leaves a
 * chain of partial strings per value, which was most of what converting dates allocated.
 */
function formatDate(year: number, month: number, day: number): string {
  return String.fromCharCode(digit(year, 1000), digit(year, 100), digit(year, 10), digit(year, 1), 45, digit(month, 10), digit(month, 1), 45, digit(day, 10), digit(day, 1));
}

/** `yyyy-MM-ddTHH:mm:ss[.SSS]±hh:mm` for fields the parser read, as one flat string (see {@link formatDate}). */
function formatDateTime(parsed: LocalDateTime, offsetMs: number): string {
  const { year, month, day, hour = 0, minute = 0, second = 0, millisecond } = parsed;
  const o = offsetCodesOf(offsetMs);
  if (o.length !== 6) {
    return `${formatDate(year, month, day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}${millisecond === undefined ? '' : `.${pad3(millisecond)}`}${formatOffset(offsetMs)}`;
  }
  return millisecond === undefined
    ? String.fromCharCode(
        digit(year, 1000), digit(year, 100), digit(year, 10), digit(year, 1), 45, digit(month, 10), digit(month, 1), 45, digit(day, 10), digit(day, 1),
        84, digit(hour, 10), digit(hour, 1), 58, digit(minute, 10), digit(minute, 1), 58, digit(second, 10), digit(second, 1),
        o[0]!, o[1]!, o[2]!, o[3]!, o[4]!, o[5]!,
      )
    : String.fromCharCode(
        digit(year, 1000), digit(year, 100), digit(year, 10), digit(year, 1), 45, digit(month, 10), digit(month, 1), 45, digit(day, 10), digit(day, 1),
        84, digit(hour, 10), digit(hour, 1), 58, digit(minute, 10), digit(minute, 1), 58, digit(second, 10), digit(second, 1),
        46, digit(millisecond, 100), digit(millisecond, 10), digit(millisecond, 1),
        o[0]!, o[1]!, o[2]!, o[3]!, o[4]!, o[5]!,
      );
}

/** `+hh:mm` / `-hh:mm` for an offset in ms; UTC is `+00:00`, never `Z`. */
export function formatOffset(offsetMs: number): string {
  const totalMinutes = Math.round(offsetMs / 60_000);
  const sign = totalMinutes < 0 ? '-' : '+';
  const abs = Math.abs(totalMinutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** Options of a date/time converter (from `source.timeZone`, `dateFormats`, `ambiguousTime`). */
export interface DateTimeOptions {
  readonly timeZone: string;
  readonly dateFormats: readonly string[];
  readonly ambiguousTime: 'earlier' | 'later';
  /** Severity of MAP_DATE_UNPARSEABLE (default error: the record fails). */
  readonly unparseable?: 'error' | 'warning';
}

/** Converts local date/time text into FHIR `dateTime` / `date` strings, reporting problems to a sink. */
export interface DateTimeConverter {
  /** FHIR dateTime with offset (`2024-03-31T02:30:00+01:00`), a date for date-only patterns, or undefined. */
  dateTime(value: unknown, sink: EvalSink, format?: string): string | undefined;
  /** FHIR date (`yyyy-MM-dd`) or undefined. */
  date(value: unknown, sink: EvalSink, format?: string): string | undefined;
}

/**
 * Creates a converter for one zone and list of patterns. The zone must be known (see isKnownTimeZone) and
 * the patterns valid (see compileDatePattern); invalid patterns are skipped.
 */
export function createDateTimeConverter(options: DateTimeOptions): DateTimeConverter {
  const zone = zoneOffsets(options.timeZone);
  const defaultParsers = parsersFor(options.dateFormats);
  const parse = (value: unknown, sink: EvalSink, format: string | undefined): LocalDateTime | undefined => {
    const parsers = format === undefined ? defaultParsers : parsersFor([format]);
    const text = typeof value === 'string' ? value.trim() : undefined;
    if (text !== undefined) {
      for (const parser of parsers) {
        const parsed = parser(text);
        if (parsed) {
          return parsed;
        }
      }
    }
    const tried = format === undefined ? options.dateFormats : [format];
    sink.report({
      code: 'MAP_DATE_UNPARSEABLE',
      severity: options.unparseable ?? 'error',
      value,
      message: `${JSON.stringify(value)} matches none of the date formats tried: ${tried.map((f) => JSON.stringify(f)).join(', ')}.`,
      hint: 'Add the pattern this export uses to source.dateFormats, or pass it to dateTime(\'…\') / date(\'…\').',
    });
    return undefined;
  };

  return {
    date(value, sink, format) {
      const parsed = parse(value, sink, format);
      return parsed ? formatDate(parsed.year, parsed.month, parsed.day) : undefined;
    },
    dateTime(value, sink, format) {
      const parsed = parse(value, sink, format);
      if (!parsed) {
        return undefined;
      }
      if (parsed.hour === undefined) {
        return formatDate(parsed.year, parsed.month, parsed.day);
      }
      const wall = utcWall(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute ?? 0,
        parsed.second ?? 0,
        parsed.millisecond ?? 0,
      );
      const resolution = zone.resolve(wall);
      let offset: number;
      let shiftedWall = wall;
      if (resolution.kind === 'single') {
        return formatDateTime(parsed, resolution.offset);
      } else if (resolution.kind === 'overlap') {
        offset = options.ambiguousTime === 'earlier' ? resolution.earlier : resolution.later;
        sink.report({
          code: 'MAP_DATE_OVERLAP',
          severity: 'warning',
          value,
          message: `${JSON.stringify(value)} happens twice in ${options.timeZone} (clocks go back); read as the ${options.ambiguousTime} one (${formatOffset(offset)}).`,
          hint: 'Set source.ambiguousTime to earlier or later to choose; the export itself cannot tell them apart.',
        });
      } else {
        const gap = resolution.after - resolution.before;
        shiftedWall = wall + gap;
        offset = resolution.after;
        sink.report({
          code: 'MAP_DATE_GAP',
          severity: 'warning',
          value,
          message: `${JSON.stringify(value)} does not exist in ${options.timeZone} (clocks go forward); moved forward by ${Math.round(gap / 60_000)} minutes.`,
          hint: 'Check the CAD clock settings for this time; the value was kept, shifted past the gap.',
        });
      }
      return formatWall(shiftedWall, parsed.millisecond !== undefined) + formatOffset(offset);
    },
  };
}

function formatWall(wall: number, withMilliseconds: boolean): string {
  const date = new Date(wall);
  const base = `${pad4(date.getUTCFullYear())}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}T${pad2(
    date.getUTCHours(),
  )}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())}`;
  return withMilliseconds ? `${base}.${pad3(date.getUTCMilliseconds())}` : base;
}

function parsersFor(formats: readonly string[]): DateParser[] {
  const parsers: DateParser[] = [];
  for (const format of formats) {
    const { parser } = compileDatePattern(format);
    if (parser) {
      parsers.push(parser);
    }
  }
  return parsers;
}
