import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EvalReport } from '../expressions/types.js';
import { compileDatePattern, createDateTimeConverter, formatOffset, isKnownTimeZone } from './datetime.js';

const collect = (): { reports: EvalReport[]; sink: { report(r: EvalReport): void } } => {
  const reports: EvalReport[] = [];
  return { reports, sink: { report: (r) => reports.push(r) } };
};

const formats = ["yyyy-MM-dd'T'HH:mm:ss", 'yyyy-MM-dd HH:mm:ss', 'dd/MM/yyyy HH:mm', 'yyyy-MM-dd HH:mm:ss.SSS', 'yyyy-MM-dd'];
const london = (ambiguousTime: 'earlier' | 'later' = 'earlier') =>
  createDateTimeConverter({ timeZone: 'Europe/London', dateFormats: formats, ambiguousTime });
const fhirDateTime = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2})?$/;

describe('compileDatePattern', () => {
  it('parses every token and quoted literals', () => {
    const { parser } = compileDatePattern("dd.MM.yyyy 'at' HH:mm:ss.SSS");
    expect(parser?.('31.12.2024 at 23:59:58.007')).toEqual({ year: 2024, month: 12, day: 31, hour: 23, minute: 59, second: 58, millisecond: 7 });
    expect(parser?.('31.12.2024 on 23:59:58.007')).toBeUndefined();
  });
  it('rejects impossible calendar dates and times', () => {
    const { parser } = compileDatePattern('dd/MM/yyyy HH:mm');
    expect(parser?.('31/02/2024 10:00')).toBeUndefined();
    expect(parser?.('29/02/2023 10:00')).toBeUndefined();
    expect(parser?.('29/02/2024 10:00')).toBeDefined();
    expect(parser?.('01/13/2024 10:00')).toBeUndefined();
    expect(parser?.('01/01/2024 24:00')).toBeUndefined();
    expect(parser?.('01/01/2024 10:00 ')).toBeUndefined();
    expect(parser?.('1/01/2024 10:00')).toBeUndefined();
  });
  it('agrees with a regular-expression reading of any pattern, on formatted and altered texts', () => {
    type Piece = { token: string; field: string; width: number } | { literal: string };
    const tokenPieces: Piece[] = [
      { token: 'yyyy', field: 'year', width: 4 },
      { token: 'MM', field: 'month', width: 2 },
      { token: 'dd', field: 'day', width: 2 },
      { token: 'HH', field: 'hour', width: 2 },
      { token: 'mm', field: 'minute', width: 2 },
      { token: 'ss', field: 'second', width: 2 },
      { token: 'SSS', field: 'millisecond', width: 3 },
    ];
    const literal = fc.string({ unit: fc.constantFrom('-', '/', ' ', ':', '.', 'T', 'é', '0'), minLength: 1, maxLength: 3 }).map((text): Piece => ({ literal: text }));
    const pattern = fc
      .tuple(fc.shuffledSubarray(tokenPieces.slice(3), { minLength: 0 }), fc.shuffledSubarray(tokenPieces.slice(0, 3), { minLength: 3 }), fc.array(literal, { maxLength: 4 }))
      .map(([time, date, literals]) => {
        const pieces: Piece[] = [...date, ...(time.some((p) => 'field' in p && p.field !== 'hour') ? [tokenPieces[3]!, ...time.filter((p) => 'field' in p && p.field !== 'hour')] : time)];
        literals.forEach((piece, k) => pieces.splice((k * 2) % (pieces.length + 1), 0, piece));
        return pieces;
      });
    const textOf = (pieces: readonly Piece[], digits: readonly number[]): string =>
      pieces.map((piece, k) => ('literal' in piece ? piece.literal : String(digits[k]! % 10 ** piece.width).padStart(piece.width, '0'))).join('');
    const oracle = (pieces: readonly Piece[], text: string): Record<string, number> | undefined => {
      const source = pieces.map((piece) => ('literal' in piece ? piece.literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&') : `(\\d{${piece.width}})`)).join('');
      const match = new RegExp(`^${source}$`).exec(text);
      if (!match) {
        return undefined;
      }
      const fields: Record<string, number> = {};
      let group = 1;
      for (const piece of pieces) {
        if ('field' in piece) {
          fields[piece.field] = Number(match[group++]);
        }
      }
      const { year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0 } = fields;
      const days = month === 2 ? ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
      const valid = !(month < 1 || month > 12 || day < 1 || day > days || year < 1 || hour > 23 || minute > 59 || second > 59);
      // with a time part, minutes and seconds the pattern lacks read as 0
      return valid ? ('hour' in fields ? { minute: 0, second: 0, ...fields } : fields) : undefined;
    };
    const quote = (pieces: readonly Piece[]): string => pieces.map((piece) => ('literal' in piece ? `'${piece.literal}'` : piece.token)).join('');
    fc.assert(
      fc.property(pattern, fc.array(fc.nat({ max: 9999 }), { minLength: 12, maxLength: 12 }), fc.nat(), fc.constantFrom('keep', 'replace', 'drop', 'add'), (pieces, digits, at, change) => {
        const formatted = textOf(pieces, digits);
        const k = formatted.length === 0 ? 0 : at % formatted.length;
        const text =
          change === 'keep' ? formatted : change === 'replace' ? `${formatted.slice(0, k)}x${formatted.slice(k + 1)}` : change === 'drop' ? formatted.slice(0, k) + formatted.slice(k + 1) : `${formatted.slice(0, k)}7${formatted.slice(k)}`;
        const { parser, error } = compileDatePattern(quote(pieces));
        expect(error).toBeUndefined();
        expect(parser?.(text)).toEqual(oracle(pieces, text));
      }),
      { numRuns: 1000 },
    );
  });
  it('reports bad patterns', () => {
    expect(compileDatePattern('yyyy-MM-dd Q').error).toMatch(/unknown letter 'Q'/);
    expect(compileDatePattern('HH:mm').error).toMatch(/needs yyyy, MM and dd/);
    expect(compileDatePattern("yyyy-MM-dd 'x").error).toMatch(/unterminated/);
  });
});

describe('dateTime() in Europe/London', () => {
  it('gives +00:00 in winter and +01:00 in summer, never Z', () => {
    const { sink, reports } = collect();
    expect(london().dateTime('2024-01-15 08:05:09', sink)).toBe('2024-01-15T08:05:09+00:00');
    expect(london().dateTime('2024-07-01T23:59:59', sink)).toBe('2024-07-01T23:59:59+01:00');
    expect(london().dateTime('15/01/2024 08:05', sink)).toBe('2024-01-15T08:05:00+00:00');
    expect(london().dateTime('2024-01-15 08:05:09.120', sink)).toBe('2024-01-15T08:05:09.120+00:00');
    expect(reports).toEqual([]);
  });

  it('moves a time in the spring-forward gap (2024-03-31 01:00–02:00) forward and warns', () => {
    const { sink, reports } = collect();
    expect(london().dateTime('2024-03-31 01:30:00', sink)).toBe('2024-03-31T02:30:00+01:00');
    expect(london().dateTime('2024-03-31 01:00:00', sink)).toBe('2024-03-31T02:00:00+01:00');
    expect(reports.map((r) => [r.code, r.severity])).toEqual([
      ['MAP_DATE_GAP', 'warning'],
      ['MAP_DATE_GAP', 'warning'],
    ]);
    const quiet = collect();
    expect(london().dateTime('2024-03-31 00:59:59', quiet.sink)).toBe('2024-03-31T00:59:59+00:00');
    expect(london().dateTime('2024-03-31 02:00:00', quiet.sink)).toBe('2024-03-31T02:00:00+01:00');
    expect(quiet.reports).toEqual([]);
  });

  it('resolves the autumn overlap (2024-10-27 01:00–02:00) per ambiguousTime and warns', () => {
    const earlier = collect();
    expect(london('earlier').dateTime('2024-10-27 01:30:00', earlier.sink)).toBe('2024-10-27T01:30:00+01:00');
    expect(earlier.reports.map((r) => r.code)).toEqual(['MAP_DATE_OVERLAP']);
    const later = collect();
    expect(london('later').dateTime('2024-10-27 01:30:00', later.sink)).toBe('2024-10-27T01:30:00+00:00');
    expect(later.reports.map((r) => r.code)).toEqual(['MAP_DATE_OVERLAP']);
    const quiet = collect();
    expect(london().dateTime('2024-10-27 00:59:59', quiet.sink)).toBe('2024-10-27T00:59:59+01:00');
    expect(london().dateTime('2024-10-27 02:00:00', quiet.sink)).toBe('2024-10-27T02:00:00+00:00');
    expect(quiet.reports).toEqual([]);
  });

  it('handles midnight and year crossings', () => {
    const { sink } = collect();
    expect(london().dateTime('2024-12-31 23:59:59', sink)).toBe('2024-12-31T23:59:59+00:00');
    expect(london().dateTime('2025-01-01 00:00:00', sink)).toBe('2025-01-01T00:00:00+00:00');
    expect(london().dateTime('2024-06-30 23:59:59', sink)).toBe('2024-06-30T23:59:59+01:00');
    expect(london().dateTime('2024-07-01 00:00:00', sink)).toBe('2024-07-01T00:00:00+01:00');
  });

  it('reports unparseable values quoting the value and the formats tried', () => {
    const { sink, reports } = collect();
    expect(london().dateTime('31/02/2024 10:00', sink)).toBeUndefined();
    expect(london().dateTime('yesterday', sink, 'dd/MM/yyyy')).toBeUndefined();
    expect(reports[0]?.code).toBe('MAP_DATE_UNPARSEABLE');
    expect(reports[0]?.severity).toBe('error');
    expect(reports[0]?.message).toContain('"31/02/2024 10:00"');
    expect(reports[0]?.message).toContain('"dd/MM/yyyy HH:mm"');
    expect(reports[1]?.message).toContain('"yesterday"');
    expect(reports[1]?.message).toContain('"dd/MM/yyyy"');
  });

  it('gives a date for date-only patterns and date() drops the time', () => {
    const { sink } = collect();
    expect(london().dateTime('2024-03-31', sink)).toBe('2024-03-31');
    expect(london().date('2024-03-31 01:30:00', sink)).toBe('2024-03-31');
    expect(london().date('07/02/2024 10:00', sink)).toBe('2024-02-07');
  });
});

describe('other zones', () => {
  it('America/New_York: offsets, spring gap (2024-03-10 02:00) and autumn overlap (2024-11-03 01:00)', () => {
    const ny = createDateTimeConverter({ timeZone: 'America/New_York', dateFormats: formats, ambiguousTime: 'later' });
    const { sink, reports } = collect();
    expect(ny.dateTime('2024-01-15 08:00:00', sink)).toBe('2024-01-15T08:00:00-05:00');
    expect(ny.dateTime('2024-07-15 08:00:00', sink)).toBe('2024-07-15T08:00:00-04:00');
    expect(ny.dateTime('2024-03-10 02:30:00', sink)).toBe('2024-03-10T03:30:00-04:00');
    expect(ny.dateTime('2024-11-03 01:30:00', sink)).toBe('2024-11-03T01:30:00-05:00');
    expect(reports.map((r) => r.code)).toEqual(['MAP_DATE_GAP', 'MAP_DATE_OVERLAP']);
  });
  it('Asia/Kolkata (+05:30) and UTC', () => {
    const { sink } = collect();
    const kolkata = createDateTimeConverter({ timeZone: 'Asia/Kolkata', dateFormats: formats, ambiguousTime: 'earlier' });
    expect(kolkata.dateTime('2024-03-31 01:30:00', sink)).toBe('2024-03-31T01:30:00+05:30');
    const utc = createDateTimeConverter({ timeZone: 'UTC', dateFormats: formats, ambiguousTime: 'earlier' });
    expect(utc.dateTime('2024-03-31 01:30:00', sink)).toBe('2024-03-31T01:30:00+00:00');
  });
  it('knows IANA zones and formats offsets', () => {
    expect(isKnownTimeZone('Europe/London')).toBe(true);
    expect(isKnownTimeZone('Europe/Londn')).toBe(false);
    expect(formatOffset(0)).toBe('+00:00');
    expect(formatOffset(-19_800_000)).toBe('-05:30');
  });
});

describe('properties', () => {
  /** Local date and time fields (days up to 28, valid in every month) for years `minYear`–`maxYear`. */
  const localFields = (minYear: number, maxYear: number) =>
    fc.record({
      year: fc.integer({ min: minYear, max: maxYear }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
    });
  const local = localFields(1990, 2060).map(({ year, month, day, hour, minute, second }) => {
    const p = (n: number) => String(n).padStart(2, '0');
    return `${year}-${p(month)}-${p(day)} ${p(hour)}:${p(minute)}:${p(second)}`;
  });
  const zones = fc.constantFrom('Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC', 'Pacific/Chatham');

  it('writes every field, milliseconds and the offset exactly, for any year from 0001 to 9999', () => {
    const p = (n: number, width: number): string => String(n).padStart(width, '0');
    const fields = fc
      .tuple(localFields(1, 9999), fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }))
      .map(([local, millisecond]) => ({ ...local, millisecond }));
    const fixedZones = fc.constantFrom(['UTC', '+00:00'], ['Etc/GMT+3', '-03:00'], ['Etc/GMT-14', '+14:00']);
    fc.assert(
      fc.property(fields, fixedZones, ({ year, month, day, hour, minute, second, millisecond }, [timeZone, offset]) => {
        const { sink, reports } = collect();
        const date = `${p(year, 4)}-${p(month, 2)}-${p(day, 2)}`;
        const time = `${p(hour, 2)}:${p(minute, 2)}:${p(second, 2)}${millisecond === undefined ? '' : `.${p(millisecond, 3)}`}`;
        const converter = createDateTimeConverter({ timeZone, dateFormats: formats, ambiguousTime: 'earlier' });
        expect(converter.dateTime(`${date} ${time}`, sink)).toBe(`${date}T${time}${offset}`);
        expect(converter.date(`${date} ${time}`, sink)).toBe(date);
        expect(converter.dateTime(date, sink)).toBe(date);
        expect(reports).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('every dateTime() result is a FHIR dateTime with an offset that denotes the same wall time (or one shifted past a gap)', () => {
    fc.assert(
      fc.property(local, zones, fc.constantFrom('earlier' as const, 'later' as const), (text, timeZone, ambiguousTime) => {
        const { sink, reports } = collect();
        const result = createDateTimeConverter({ timeZone, dateFormats: formats, ambiguousTime }).dateTime(text, sink);
        expect(result).toMatch(fhirDateTime);
        expect(result).not.toContain('Z');
        const wall = result?.slice(0, 19).replace('T', ' ');
        if (reports.length === 0 || reports[0]?.code === 'MAP_DATE_OVERLAP') {
          expect(wall).toBe(text);
        }
        // The offset is the zone's real offset at that instant.
        const instant = new Date(result ?? '');
        const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(instant);
        const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
        expect(`${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`).toBe(wall);
      }),
      { numRuns: 400 },
    );
  });
});
