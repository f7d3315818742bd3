import { describe, expect, it } from 'vitest';
import {
  dayCount,
  defaultRange,
  formatDuration,
  formatTime,
  instants,
  rangeProblem,
  todayIn,
} from '../../../src/dashboard/client/dates.ts';

describe('the dashboard’s days, on the site’s clock', () => {
  // 03:30 UTC on 1 March: still 28 February in New York, already 1 March in Tokyo.
  const now = new Date('2026-03-01T03:30:00Z');

  it('takes today from the site’s time zone, not the browser’s', () => {
    expect(todayIn('America/New_York', now)).toBe('2026-02-28');
    expect(todayIn('Asia/Tokyo', now)).toBe('2026-03-01');
  });

  it('defaults to the last 30 days, today included', () => {
    expect(defaultRange('America/New_York', now)).toEqual({ from: '2026-01-30', to: '2026-02-28' });
    expect(dayCount('2026-01-30', '2026-02-28')).toBe(30);
  });

  it('asks for calls from the first day’s local midnight to the midnight after the last day', () => {
    expect(instants('2026-03-01', '2026-03-31', 'America/New_York')).toEqual({
      from: '2026-03-01T05:00:00.000Z',
      // Daylight saving time began on 8 March: the end is at UTC-4.
      to: '2026-04-01T04:00:00.000Z',
    });
    expect(instants('2026-06-10', '2026-06-10', 'UTC')).toEqual({
      from: '2026-06-10T00:00:00.000Z',
      to: '2026-06-11T00:00:00.000Z',
    });
  });

  it('refuses a range the reports would refuse, in words', () => {
    expect(rangeProblem('2026-03-01', '2026-03-31')).toBeNull();
    expect(rangeProblem('2026-03-10', '2026-03-01')).toBe('The end date must be on or after the start date.');
    expect(rangeProblem('', '2026-03-01')).toBe('Choose both dates.');
    expect(rangeProblem('2026-02-30', '2026-03-01')).toBe('Choose both dates.');
    expect(rangeProblem('2025-01-01', '2026-01-01')).toBeNull();
    expect(rangeProblem('2025-01-01', '2026-01-02')).toBe('Choose at most 366 days.');
  });

  it('shows a call’s time on the site’s clock with its zone', () => {
    expect(formatTime('2026-07-04T16:05:09Z', 'America/New_York')).toBe('2026-07-04 12:05 EDT');
    expect(formatTime('2026-01-04T00:30:00Z', 'America/Los_Angeles')).toBe('2026-01-03 16:30 PST');
  });

  it('writes durations as m:ss, and h:mm:ss from an hour', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3600 + 62)).toBe('1:01:02');
  });
});
