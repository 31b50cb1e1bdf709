/**
 * Wall-clock local times as CAD systems record them: no zone, no offset. Arithmetic is done on the wall clock
 * (seconds since 1970-01-01T00:00:00 read as if it were UTC), which is what a CAD clock shows and what lets the
 * samples hold local times that fall into the spring-forward gap or the repeated autumn hour.
 */
export type LocalTime = number;

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** Parses `yyyy-MM-ddTHH:mm:ss` as a wall-clock time. */
export function localTime(text: string): LocalTime {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (match === null) {
    throw new Error(`not a local time: ${text}`);
  }
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

export const addSeconds = (time: LocalTime, seconds: number): LocalTime => time + Math.round(seconds);
export const addMinutes = (time: LocalTime, minutes: number): LocalTime => time + Math.round(minutes * 60);

interface Parts {
  readonly yyyy: string;
  readonly MM: string;
  readonly dd: string;
  readonly HH: string;
  readonly mm: string;
  readonly ss: string;
}

function parts(time: LocalTime): Parts {
  const date = new Date(time * 1000);
  return {
    yyyy: pad(date.getUTCFullYear(), 4),
    MM: pad(date.getUTCMonth() + 1),
    dd: pad(date.getUTCDate()),
    HH: pad(date.getUTCHours()),
    mm: pad(date.getUTCMinutes()),
    ss: pad(date.getUTCSeconds()),
  };
}

/** `2024-03-31T01:30:00` */
export function isoLocal(time: LocalTime): string {
  const p = parts(time);
  return `${p.yyyy}-${p.MM}-${p.dd}T${p.HH}:${p.mm}:${p.ss}`;
}

/** `31/03/2024 01:30:00` */
export function ukLocal(time: LocalTime): string {
  const p = parts(time);
  return `${p.dd}/${p.MM}/${p.yyyy} ${p.HH}:${p.mm}:${p.ss}`;
}

/** `2024-03-31` */
export function isoDate(time: LocalTime): string {
  const p = parts(time);
  return `${p.yyyy}-${p.MM}-${p.dd}`;
}

/** `31/03/2024` */
export function ukDate(time: LocalTime): string {
  const p = parts(time);
  return `${p.dd}/${p.MM}/${p.yyyy}`;
}
