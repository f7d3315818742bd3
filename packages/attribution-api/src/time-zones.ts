// Wall-clock time in an IANA time zone (site time zones: reports, exports, the dashboard), from the platform's time zone database (no I/O).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The date and time a clock in `timeZone` showed at `instant` (whole seconds). */
export function wallTime(instant: Date, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** How far `timeZone` was ahead of UTC at `instant`, in minutes (negative west of Greenwich). */
export function offsetMinutes(instant: Date, timeZone: string): number {
  const whole = Math.floor(instant.getTime() / 1000) * 1000;
  const wall = wallTime(new Date(whole), timeZone);
  const wallAsUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return Math.round((wallAsUtc - whole) / 60_000);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `+hh:mm` or `-hh:mm`; UTC itself is `+00:00`. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `yyyy-mm-dd hh:mm:ss±hh:mm`: the local time in `timeZone` with the offset in force at that instant. */
export function formatZoned(instant: Date, timeZone: string): string {
  const whole = new Date(Math.floor(instant.getTime() / 1000) * 1000);
  const w = wallTime(whole, timeZone);
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
  const time = `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  return `${date} ${time}${formatOffset(offsetMinutes(whole, timeZone))}`;
}

/**
 * The first instant of calendar day `date` (`yyyy-mm-dd`) in `timeZone`: local midnight, or where a
 * daylight-saving jump skips midnight, the first moment that day exists.
 */
export function startOfDay(date: string, timeZone: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) throw new RangeError(`"${date}" is not a yyyy-mm-dd date`);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const midnightUtc = Date.UTC(year, month - 1, day);
  // The offsets in force around that day (at most one transition falls within a few hours of midnight).
  const offsets = new Set(
    [-14, 0, 14].map((hours) => offsetMinutes(new Date(midnightUtc + hours * 3_600_000), timeZone)),
  );
  const sameDay = (t: number) => {
    const w = wallTime(new Date(t), timeZone);
    return w.year === year && w.month === month && w.day === day;
  };
  const candidates = [...offsets].map((offset) => midnightUtc - offset * 60_000).filter(sameDay);
  const exact = candidates.filter((t) => {
    const w = wallTime(new Date(t), timeZone);
    return w.hour === 0 && w.minute === 0 && w.second === 0;
  });
  if (exact.length) return new Date(Math.min(...exact));
  // Midnight was skipped: the day starts at the transition, the earliest instant still on that date.
  let lo = Math.min(...[...offsets].map((offset) => midnightUtc - offset * 60_000));
  let hi = lo + 86_400_000;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (sameDay(mid) || isAfterDay(mid)) hi = mid;
    else lo = mid;
  }
  return new Date(hi);

  function isAfterDay(t: number): boolean {
    const w = wallTime(new Date(t), timeZone);
    return Date.UTC(w.year, w.month - 1, w.day) > midnightUtc;
  }
}
