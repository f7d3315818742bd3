// Calendar days and hours in a site's time zone, as instants: reports cut time where the site's
// clock does, including on the days daylight saving time makes 23 or 25 hours long.

import { formatOffset, offsetMinutes, startOfDay } from '../time-zones.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date written YYYY-MM-DD, as a UTC midnight in ms; undefined when no such day exists. */
export function parseDay(value: string): number | undefined {
  const match = DAY.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March; a real date comes back unchanged.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return ms;
}

function formatDay(utcMidnight: number): string {
  return new Date(utcMidnight).toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  const ms = parseDay(day);
  if (ms === undefined) throw new RangeError(`not a date: ${day}`);
  return formatDay(ms + days * DAY_MS);
}

/** Every date from `from` to `to`, both included. */
export function daysFrom(from: string, to: string): string[] {
  const start = parseDay(from);
  const end = parseDay(to);
  if (start === undefined || end === undefined) throw new RangeError(`not a date range: ${from}..${to}`);
  const days: string[] = [];
  for (let ms = start; ms <= end; ms += DAY_MS) days.push(formatDay(ms));
  return days;
}

/**
 * The instant a calendar day begins in a time zone: its local midnight, or, where daylight saving
 * time skips midnight, the first instant the clock shows that date.
 */
export function dayStart(day: string, timeZone: string): Date {
  if (parseDay(day) === undefined) throw new RangeError(`not a date: ${day}`);
  return startOfDay(day, timeZone);
}

export interface Bucket {
  start: Date;
  end: Date;
  /** The bucket's start on the site's clock: YYYY-MM-DD for a day, YYYY-MM-DDTHH:mm±hh:mm for an hour. */
  label: string;
}

/** One bucket per local day from `from` to `to`, both included. */
export function dayBuckets(from: string, to: string, timeZone: string): Bucket[] {
  const days = daysFrom(from, to);
  const starts = [...days, addDays(to, 1)].map((day) => dayStart(day, timeZone));
  return days.map((label, i) => ({ start: starts[i] as Date, end: starts[i + 1] as Date, label }));
}

/**
 * One bucket per hour of elapsed time from the start of `from` to the end of `to` (local days):
 * a day that gains an hour has 25 buckets, one that loses an hour 23.
 */
export function hourBuckets(from: string, to: string, timeZone: string): Bucket[] {
  const start = dayStart(from, timeZone).getTime();
  const end = dayStart(addDays(to, 1), timeZone).getTime();
  const buckets: Bucket[] = [];
  for (let t = start; t < end; t += HOUR_MS) {
    const offset = offsetMinutes(new Date(t), timeZone);
    const local = new Date(t + offset * 60_000).toISOString().slice(0, 16);
    buckets.push({
      start: new Date(t),
      end: new Date(Math.min(t + HOUR_MS, end)),
      label: `${local}${formatOffset(offset)}`,
    });
  }
  return buckets;
}
