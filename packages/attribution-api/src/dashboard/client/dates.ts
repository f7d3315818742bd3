import { addDays, dayStart, parseDay } from '../../reports/days.ts';

// Days and times on the site's clock, as the reports count them (the same day arithmetic, shared).

const MAX_DAYS = 366;
const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    });
    formats.set(timeZone, f);
  }
  return f;
}

function parts(at: Date, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of format(timeZone).formatToParts(at)) out[part.type] = part.value;
  return out;
}

/** The date on the site's clock at `now`, YYYY-MM-DD. */
export function todayIn(timeZone: string, now: Date): string {
  const p = parts(now, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The default range: the last 30 days on the site's clock, today included. */
export function defaultRange(timeZone: string, now: Date): { from: string; to: string } {
  const to = todayIn(timeZone, now);
  return { from: addDays(to, -29), to };
}

/** What is wrong with a date range, or null when the reports accept it. */
export function rangeProblem(from: string, to: string): string | null {
  const start = parseDay(from);
  const end = parseDay(to);
  if (start === undefined || end === undefined) return 'Choose both dates.';
  if (end < start) return 'The end date must be on or after the start date.';
  if ((end - start) / 86_400_000 + 1 > MAX_DAYS) return `Choose at most ${MAX_DAYS} days.`;
  return null;
}

/** The instants a day range covers on the site's clock: from its first day's start to the day after its last. */
export function instants(from: string, to: string, timeZone: string): { from: string; to: string } {
  return { from: dayStart(from, timeZone).toISOString(), to: dayStart(addDays(to, 1), timeZone).toISOString() };
}

/** Days in the range, both ends included. */
export function dayCount(from: string, to: string): number {
  return ((parseDay(to) ?? 0) - (parseDay(from) ?? 0)) / 86_400_000 + 1;
}

/** An instant on the site's clock: 2026-03-01 14:05 EST. */
export function formatTime(iso: string, timeZone: string): string {
  const p = parts(new Date(iso), timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

/** A call's length as m:ss (h:mm:ss from an hour on). */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = String(seconds % 60).padStart(2, '0');
  const m = Math.floor(seconds / 60);
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
