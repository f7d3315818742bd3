import { describe, expect, it } from 'vitest';
import { addDays, dayBuckets, dayStart, daysFrom, hourBuckets, parseDay } from '../../../src/reports/days.ts';

const iso = (d: Date) => d.toISOString();

describe('calendar days', () => {
  it('reads only real dates', () => {
    expect(parseDay('2026-02-28')).toBe(Date.UTC(2026, 1, 28));
    expect(parseDay('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
    for (const bad of [
      '2026-02-29',
      '2026-02-30',
      '2026-13-01',
      '2026-00-10',
      '2026-6-1',
      '20260601',
      '2026-06-01T00:00',
    ]) {
      expect(parseDay(bad), bad).toBeUndefined();
    }
  });

  it('counts days across month and year ends', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysFrom('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(daysFrom('2026-06-10', '2026-06-10')).toEqual(['2026-06-10']);
  });
});

describe('the instant a local day begins', () => {
  it('is local midnight, with the offset of that day', () => {
    expect(iso(dayStart('2026-01-15', 'America/New_York'))).toBe('2026-01-15T05:00:00.000Z');
    expect(iso(dayStart('2026-07-15', 'America/New_York'))).toBe('2026-07-15T04:00:00.000Z');
    expect(iso(dayStart('2026-06-01', 'Asia/Kolkata'))).toBe('2026-05-31T18:30:00.000Z');
    expect(iso(dayStart('2026-06-01', 'Asia/Kathmandu'))).toBe('2026-05-31T18:15:00.000Z');
    expect(iso(dayStart('2026-06-01', 'UTC'))).toBe('2026-06-01T00:00:00.000Z');
    expect(iso(dayStart('2026-06-01', 'Pacific/Kiritimati'))).toBe('2026-05-31T10:00:00.000Z');
    expect(iso(dayStart('2026-06-01', 'Pacific/Pago_Pago'))).toBe('2026-06-01T11:00:00.000Z');
  });

  it('makes the days around a daylight-saving change 23 and 25 hours long', () => {
    const hours = (day: string, zone: string) =>
      (dayStart(addDays(day, 1), zone).getTime() - dayStart(day, zone).getTime()) / 3_600_000;
    expect(hours('2026-03-08', 'America/New_York')).toBe(23);
    expect(hours('2026-11-01', 'America/New_York')).toBe(25);
    expect(hours('2026-03-29', 'Europe/Berlin')).toBe(23);
    expect(hours('2026-10-25', 'Europe/Berlin')).toBe(25);
    expect(hours('2026-10-04', 'Australia/Lord_Howe')).toBe(23.5);
  });

  it('is the first instant the date shows where the clock skips midnight', () => {
    // Sao Paulo, 2018: 00:00 became 01:00; Beirut and Santiago change at midnight too.
    expect(iso(dayStart('2018-11-04', 'America/Sao_Paulo'))).toBe('2018-11-04T03:00:00.000Z');
    expect(iso(dayStart('2026-03-29', 'Asia/Beirut'))).toBe('2026-03-28T22:00:00.000Z');
    expect(iso(dayStart('2026-09-06', 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z');
    // Santiago's clock goes back from 24:00 to 23:00: Sunday begins once, at 00:00 standard time.
    expect(iso(dayStart('2026-04-05', 'America/Santiago'))).toBe('2026-04-05T04:00:00.000Z');
    // Samoa skipped 30 December 2011 altogether: it lasts no time at all.
    expect(iso(dayStart('2011-12-30', 'Pacific/Apia'))).toBe(iso(dayStart('2011-12-31', 'Pacific/Apia')));
  });
});

describe('buckets', () => {
  it('cuts local days end to end', () => {
    const days = dayBuckets('2026-03-07', '2026-03-09', 'America/New_York');
    expect(days.map((d) => [d.label, iso(d.start), iso(d.end)])).toEqual([
      ['2026-03-07', '2026-03-07T05:00:00.000Z', '2026-03-08T05:00:00.000Z'],
      ['2026-03-08', '2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z'],
      ['2026-03-09', '2026-03-09T04:00:00.000Z', '2026-03-10T04:00:00.000Z'],
    ]);
  });

  it('cuts hours of elapsed time, labelled on the local clock with its offset', () => {
    const fall = hourBuckets('2026-11-01', '2026-11-01', 'America/New_York');
    expect(fall).toHaveLength(25);
    expect(fall.slice(0, 4).map((b) => b.label)).toEqual([
      '2026-11-01T00:00-04:00',
      '2026-11-01T01:00-04:00',
      '2026-11-01T01:00-05:00',
      '2026-11-01T02:00-05:00',
    ]);
    const spring = hourBuckets('2026-03-08', '2026-03-08', 'America/New_York');
    expect(spring).toHaveLength(23);
    expect(spring.slice(1, 3).map((b) => b.label)).toEqual(['2026-03-08T01:00-05:00', '2026-03-08T03:00-04:00']);
    const india = hourBuckets('2026-06-01', '2026-06-02', 'Asia/Kolkata');
    expect(india).toHaveLength(48);
    expect(india[0]?.label).toBe('2026-06-01T00:00+05:30');
    expect(iso(india.at(-1)?.end as Date)).toBe('2026-06-02T18:30:00.000Z');
  });
});
